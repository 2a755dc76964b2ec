"""Everything one run of the target shares between its sinks: CRM, ledger, rejects, counts."""

from __future__ import annotations

import atexit
import logging
import sys
import typing as t
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from target_plg_crm.crm.errors import CRMError
from target_plg_crm.crm.factory import open_crm
from target_plg_crm.crm.interface import CRMClient
from target_plg_crm.ledger import Ledger
from target_plg_crm.plan import Plan
from target_plg_crm.playbooks.runner import PlaybookRunner
from target_plg_crm.progress import CountedCRM, SyncProgress
from target_plg_crm.rejects import RejectsFile
from target_plg_crm.run_history import append_line, history_line
from target_plg_crm.settings import TargetSettings
from target_plg_crm.summary import RunSummary


@dataclass
class ContactRef:
    """A contact seen in this run: its CRM id (None if rejected) and primary account."""

    crm_id: str | None
    primary_account_id: str | None


@dataclass
class RunDirectory:
    """CRM ids of the contacts and companies this run wrote or found unchanged.

    Associations look here first, then in the ledger, then ask the CRM.
    """

    contacts_by_user: dict[str, ContactRef] = field(default_factory=dict)
    contacts_by_email: dict[str, ContactRef] = field(default_factory=dict)
    companies: dict[str, str] = field(default_factory=dict)
    # The CRM holds one contact per e-mail: the first user id to claim an e-mail in a run
    # owns it; later user ids with that e-mail are rejected (and so are their associations).
    email_owners: dict[str, str] = field(default_factory=dict)
    duplicate_users: dict[str, str] = field(default_factory=dict)
    # Contacts and companies this run does not write (`filtered` by sync_filter, `skipped`
    # by update_only): their associations are counted the same way, not rejected.
    left_out_users: dict[str, str] = field(default_factory=dict)
    left_out_emails: dict[str, str] = field(default_factory=dict)
    left_out_accounts: dict[str, str] = field(default_factory=dict)
    # CRM companies adopted by domain in this run -> the account that adopted each.
    adopted_companies: dict[str, str] = field(default_factory=dict)

    def add_contact(self, email: str | None, user_id: str | None, ref: ContactRef) -> None:
        """Remember a contact under its e-mail and user id."""
        if email:
            self.contacts_by_email[email] = ref
        if user_id:
            self.contacts_by_user[user_id] = ref


def plan_settings(settings: TargetSettings) -> dict[str, object]:
    """The settings that decide what a run writes, shown in the plan."""
    return {
        "sync_mode": settings.sync_mode,
        "company_match": list(settings.company_match),
        "sync_filter": dict(settings.sync_filter),
        "native_fields": {
            k: [{"field": f.field, "property": f.property, "mode": f.mode} for f in v]
            for k, v in settings.native_fields.items()
        },
        "association_label_fields": list(settings.association_label_fields)
        if settings.association_labels
        else [],
    }


@dataclass
class SyncRun:
    """The CRM client, ledger, rejects file, directory and summary of one run.

    `write_objects_first` writes the pending contacts and companies: associations call
    it before each batch, since they need those objects' CRM ids.
    """

    settings: TargetSettings
    crm: CRMClient
    ledger: Ledger
    rejects: RejectsFile
    summary: RunSummary
    logger: logging.Logger
    write_objects_first: Callable[[], None]
    progress: SyncProgress
    directory: RunDirectory = field(default_factory=RunDirectory)
    warned_streams: set[str] = field(default_factory=set)
    #: (user id or e-mail, account id) of every membership the associations stream carried.
    memberships_seen: set[tuple[str, str]] = field(default_factory=set)
    #: The associations sink that ends the memberships missing from this run (the last one).
    memberships_sink: object | None = None
    #: Keys of the contacts and companies each stream carried (leavers.py).
    seen_keys: dict[str, set[str]] = field(default_factory=dict)
    #: The sink of each object type that marks its leavers at the end (the last one).
    leaver_sinks: dict[str, object] = field(default_factory=dict)
    #: True when a STATE came after the last record: the input is complete (leavers.py).
    closed_by_state: bool = False
    plan: Plan | None = None
    playbooks: PlaybookRunner | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    recorded: bool = False

    @classmethod
    def start(
        cls,
        settings: TargetSettings,
        logger: logging.Logger,
        write_objects_first: Callable[[], None],
    ) -> SyncRun:
        """Check the CRM's credentials, then open the ledger; nothing is read from stdin yet.

        Raises CRMAccessError (a setting to fix) when the CRM refuses the credentials.
        A ledger of a CRM that starts empty is forgotten. A dry run collects its plan.
        """
        plan = None
        if settings.dry_run:
            plan = Plan(crm="", settings=plan_settings(settings))
        crm = open_crm(settings, logger, plan)
        try:
            crm.verify_access()
        except CRMError:
            crm.close()
            raise
        if plan is not None:
            plan.crm = crm.identity
        if settings.dry_run and crm.starts_empty:
            ledger = Ledger(None, crm.identity)  # nothing was written to this CRM yet
        else:
            ledger = Ledger(
                settings.ledger_path,
                crm.identity,
                read_only=settings.dry_run,
                lock_wait_seconds=settings.local_lock_wait_seconds,
            )
        playbooks = start_playbooks(settings, crm, logger)
        if crm.starts_empty:
            playbooks.forget_all()
            forgotten = ledger.forget_all()
            if forgotten:
                logger.warning(
                    "The CRM %s is new: forgot %d ledger entries, every record is written",
                    crm.identity,
                    forgotten,
                )
        if settings.dry_run:
            logger.info(
                "dry run: nothing is written to the CRM, the ledger or the rejects file; "
                "the plan goes to %s",
                settings.plan_path,
            )
        summary = RunSummary(dry_run=settings.dry_run)
        progress = SyncProgress(logger, settings.progress_interval_seconds, summary)
        run = cls(
            settings=settings,
            crm=t.cast("CRMClient", CountedCRM(crm, progress)),  # counts calls for progress
            ledger=ledger,
            rejects=RejectsFile(settings.rejects_path, enabled=not settings.dry_run),
            summary=summary,
            logger=logger,
            write_objects_first=write_objects_first,
            plan=plan,
            progress=progress,
            playbooks=playbooks,
        )
        # A run that dies on an error still leaves its line in the run history.
        atexit.register(run.record_failure_at_exit)
        return run

    def act_on_playbooks(self) -> None:
        """At the end of the input: the playbooks' tasks and notifications (see playbooks)."""
        if self.playbooks is not None:
            self.playbooks.act(self.summary, self.rejects, self.plan)

    def finish(self) -> None:
        """Log the summary line, write it (not in a dry run), the plan (in one), replace the
        rejects file, record the run in the history."""
        self.progress.finish()
        if self.plan is not None:
            counts = {k: dict(v) for k, v in self.summary.counts.items()}
            self.plan.write(self.settings.plan_path, counts)
            self.plan.log(self.logger, self.settings.plan_path)
        if self.settings.summary_path and not self.settings.dry_run:
            self.summary.write(self.settings.summary_path)
        self.rejects.commit()
        self.record()

    def record(self, error: str | None = None) -> None:
        """Append this run's line to the run history (once)."""
        if self.recorded:
            return
        self.recorded = True
        path = self.settings.run_history_path
        if path is None:
            return
        line = history_line(
            started_at=self.started_at,
            finished_at=datetime.now(UTC),
            crm=self.settings.crm,
            dry_run=self.settings.dry_run,
            counts=self.summary.counts,
            rejects=self.rejects.count,
            usage=self.crm.usage(),
            error=error,
        )
        try:
            append_line(path, line)
        except OSError as problem:
            self.logger.warning("The run history %s was not written: %s", path, problem)

    def record_failure_at_exit(self) -> None:
        """At exit after an unhandled error: record the run as failed (keep old rejects)."""
        if self.recorded:
            return
        error = getattr(sys, "last_value", None)
        if error is None:
            return  # ended without an error and without finishing: an in-process test
        self.rejects.discard()
        self.record(f"{type(error).__name__}: {error}".splitlines()[0][:500])

    def close(self) -> None:
        """Close the CRM client and the ledger; an unfinished run keeps the old rejects."""
        if not self.recorded:
            self.rejects.discard()
        self.crm.close()
        self.ledger.close()
        if self.playbooks is not None:
            self.playbooks.close()


def start_playbooks(
    settings: TargetSettings, crm: CRMClient, logger: logging.Logger
) -> PlaybookRunner:
    """The run's playbooks; owners chosen by e-mail are looked up now (CRMAccessError)."""
    ledger_path = None if settings.dry_run and crm.starts_empty else settings.ledger_path
    runner = PlaybookRunner(settings.playbooks, crm, ledger_path, logger, dry_run=settings.dry_run)
    try:
        runner.check_owners()
    except CRMError:
        runner.close()
        crm.close()
        raise
    return runner
