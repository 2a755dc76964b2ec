"""Everything one run of the target shares between its sinks: CRM, ledger, rejects, counts."""

from __future__ import annotations

import logging
import typing as t
from collections.abc import Callable
from dataclasses import dataclass, field

from target_plg_crm.crm.factory import open_crm
from target_plg_crm.crm.interface import CRMClient
from target_plg_crm.ledger import Ledger
from target_plg_crm.progress import CountedCRM, SyncProgress
from target_plg_crm.rejects import RejectsFile
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

    def add_contact(self, email: str | None, user_id: str | None, ref: ContactRef) -> None:
        """Remember a contact under its e-mail and user id."""
        if email:
            self.contacts_by_email[email] = ref
        if user_id:
            self.contacts_by_user[user_id] = ref


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

    @classmethod
    def start(
        cls,
        settings: TargetSettings,
        logger: logging.Logger,
        write_objects_first: Callable[[], None],
    ) -> SyncRun:
        """Open the CRM and the ledger; forget the ledger of a CRM that starts empty."""
        crm = open_crm(settings, logger)
        if settings.dry_run and crm.starts_empty:
            ledger = Ledger(None, crm.identity)  # nothing was written to this CRM yet
        else:
            ledger = Ledger(settings.ledger_path, crm.identity, read_only=settings.dry_run)
        if crm.starts_empty:
            forgotten = ledger.forget_all()
            if forgotten:
                logger.warning(
                    "The CRM %s is new: forgot %d ledger entries, every record is written",
                    crm.identity,
                    forgotten,
                )
        if settings.dry_run:
            logger.info("dry run: nothing is written to the CRM, the ledger or the rejects file")
        summary = RunSummary(dry_run=settings.dry_run)
        progress = SyncProgress(logger, settings.progress_interval_seconds, summary)
        return cls(
            settings=settings,
            crm=t.cast("CRMClient", CountedCRM(crm, progress)),  # counts calls for progress
            ledger=ledger,
            rejects=RejectsFile(settings.rejects_path, enabled=not settings.dry_run),
            summary=summary,
            logger=logger,
            write_objects_first=write_objects_first,
            progress=progress,
        )

    def finish(self) -> None:
        """Log the summary line and write it to `summary_path` (not in a dry run)."""
        self.progress.finish()
        if self.settings.summary_path and not self.settings.dry_run:
            self.summary.write(self.settings.summary_path)

    def close(self) -> None:
        """Close the CRM client and the ledger."""
        self.crm.close()
        self.ledger.close()
