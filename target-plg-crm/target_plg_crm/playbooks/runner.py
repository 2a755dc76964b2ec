"""The playbooks of one run: records noted as the CRM accepts them, judged at the end.

The sinks note each company, contact and membership the CRM accepted (or holds
unchanged). At the end of the input, `act` judges the noted records, turns each
crossing into tasks (one per chosen member) and notifications, writes them with the
new state in one transaction, then makes them (`actions`). A dry run does all of it on
an in-memory copy of the state and lists the tasks and notifications in the plan.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from target_plg_crm.crm.errors import CRMAccessError, CRMError
from target_plg_crm.crm.interface import CRMClient
from target_plg_crm.crm.object_types import COMPANIES, CONTACTS
from target_plg_crm.plan import Plan
from target_plg_crm.playbooks.actions import ActionMaker, ActionOutcomes
from target_plg_crm.playbooks.config import COMPANY, CONTACT, Playbook
from target_plg_crm.playbooks.judge import Crossing, judge
from target_plg_crm.playbooks.schema_check import playbook_problem, schema_fields
from target_plg_crm.playbooks.sql import PlaybookSQLError, chosen, holding
from target_plg_crm.playbooks.state import Action, PlaybookState, RecordState, Snapshot
from target_plg_crm.playbooks.templates import TemplateRenderError, render
from target_plg_crm.rejects import RejectsFile
from target_plg_crm.summary import RunSummary

MEMBERSHIP = "membership"
#: Counted in the run summary and history like object types.
TASKS = "tasks"
NOTIFICATIONS = "notifications"


@dataclass
class _Judgement:
    """What one run decided: new states, playbooks started, actions, records judged."""

    states: dict[tuple[str, str], RecordState] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    evaluated: dict[str, set[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class PlaybookRunner:
    """Notes accepted records and acts on the crossings at the end of the run."""

    def __init__(
        self,
        playbooks: Sequence[Playbook],
        crm: CRMClient,
        ledger_path: Path | None,
        logger: logging.Logger,
        *,
        dry_run: bool,
    ) -> None:
        """Open the state (an in-memory copy in a dry run); nothing when no playbook."""
        self.playbooks = tuple(playbooks)
        self.crm = crm
        self.logger = logger
        self.dry_run = dry_run
        self.owner_ids: dict[str, str] = {}  # owner e-mail -> id
        self.stream_fields: dict[str, set[str]] = {}  # stream -> its SCHEMA's fields
        self._owner_cache: dict[tuple[str, str], str | None] = {}
        self.state: PlaybookState | None = None
        if self.playbooks:
            self.state = PlaybookState(ledger_path, crm.identity, in_memory_copy=dry_run)

    @property
    def enabled(self) -> bool:
        """Whether any playbook is configured."""
        return self.state is not None

    def forget_all(self) -> None:
        """The CRM is new: everything remembered about it is stale."""
        if self.state is not None:
            self.state.forget_all()

    def check_owners(self) -> None:
        """At start-up: owners chosen by e-mail exist (CRMAccessError names the setting)."""
        emails = {
            (p.setting, p.task.owner_email)
            for p in self.playbooks
            if p.task is not None and p.task.owner == "email"
        }
        tasked = [p for p in self.playbooks if p.task is not None]
        if tasked and not self.crm.supports_tasks:
            raise CRMAccessError(
                f"{tasked[0].setting}.task",
                "this CRM does not take tasks from playbooks yet (use a webhook)",
            )
        try:
            owners = {o.email: o.id for o in self.crm.list_owners()} if emails else {}
        except CRMError as error:
            setting = min(s for s, _ in emails)
            raise CRMAccessError(
                f"{setting}.task.owner_email", f"the CRM's owners could not be read: {error}"
            ) from None
        for setting, email in sorted(emails, key=lambda e: e[0]):
            if email not in owners:
                raise CRMAccessError(
                    f"{setting}.task.owner_email",
                    f"the CRM has no owner with the e-mail {email}",
                )
            self.owner_ids[email] = owners[email]

    # Hooks of the sinks

    def schema_problem(self, stream: str, schema: Mapping[str, Any]) -> str | None:
        """A SCHEMA arrived: the first field a playbook reads that the streams lack."""
        self.stream_fields[stream] = schema_fields(schema)
        for playbook in self.playbooks:
            problem = playbook_problem(playbook, self.stream_fields)
            if problem:
                return problem
        return None

    def note_company(self, record: Mapping[str, Any], account_id: str, crm_id: str) -> None:
        """A company the CRM accepted or holds unchanged."""
        if self.state is not None:
            self.state.note(COMPANY, account_id, crm_id, record, account_id=account_id)

    def note_contact(self, record: Mapping[str, Any], crm_id: str) -> None:
        """A contact the CRM accepted or holds unchanged."""
        if self.state is not None:
            self.state.note(CONTACT, crm_id, crm_id, record, contact_id=crm_id)

    def note_membership(
        self, record: Mapping[str, Any], account_id: str, contact_id: str, company_id: str
    ) -> None:
        """A membership (association) the CRM accepted or holds unchanged."""
        if self.state is not None:
            self.state.note(
                MEMBERSHIP,
                f"{contact_id}-{company_id}",
                company_id,
                record,
                account_id=account_id,
                contact_id=contact_id,
            )

    def forget_membership(self, key: str) -> None:
        """A membership that ended (`<contact id>-<company id>`): no longer a member to choose."""
        if self.state is not None:
            self.state.forget(MEMBERSHIP, key)

    # The end of the run

    def act(
        self,
        summary: RunSummary,
        rejects: RejectsFile,
        plan: Plan | None,
        webhook_post: Any = None,
    ) -> None:
        """Judge the noted records, decide the actions, then make them (or plan them)."""
        if self.state is None:
            return
        judgement = self._judge_all()
        summary.notes.extend(judgement.notes)
        self.state.commit_judgement(
            judgement.states, judgement.started, judgement.actions, judgement.evaluated
        )
        if plan is not None:
            for action in self.state.pending_actions():
                plan.add_playbook_action(action.kind, action.playbook, action.key, action.payload)
                summary.add(TASKS if action.kind == "task" else NOTIFICATIONS, "created")
            return
        maker = ActionMaker(self.state, self.crm, self.logger)
        if webhook_post is not None:
            maker.post = webhook_post
        urls = {p.name: p.webhook.url for p in self.playbooks if p.webhook is not None}
        self._count(maker.make_all(urls), summary, rejects)

    def _count(self, outcomes: ActionOutcomes, summary: RunSummary, rejects: RejectsFile) -> None:
        if outcomes.tasks_created + outcomes.tasks_found:
            summary.add(TASKS, "created", outcomes.tasks_created + outcomes.tasks_found)
        if outcomes.notifications_sent:
            summary.add(NOTIFICATIONS, "created", outcomes.notifications_sent)
        for action, code, reason in outcomes.refused or []:
            kind = TASKS if action.kind == "task" else NOTIFICATIONS
            summary.add(kind, "rejected")
            rejects.add(f"playbook:{action.playbook}", action.key, code, reason, action.payload)
            self.logger.warning(
                "Playbook %s: %s for %s refused: %s %s",
                action.playbook,
                action.kind,
                action.key,
                code,
                reason,
            )
        if outcomes.tasks_found:
            self.logger.info(
                "Playbooks: %d task(s) of earlier calls found in the CRM, not created again",
                outcomes.tasks_found,
            )

    def _judge_all(self) -> _Judgement:
        assert self.state is not None
        judgement = _Judgement()
        for object_name in (COMPANY, CONTACT):
            records = self.state.unevaluated(object_name)
            playbooks = [p for p in self.playbooks if p.object == object_name]
            for playbook in playbooks:
                self._judge_one(playbook, records, judgement)
            judgement.evaluated[object_name] = {r.key for r in records}
        return judgement

    def _judge_one(
        self, playbook: Playbook, records: Sequence[Snapshot], judgement: _Judgement
    ) -> None:
        assert self.state is not None
        try:
            holds = holding(playbook.when, playbook.object, [r.fields for r in records])
        except PlaybookSQLError as error:
            self.logger.warning("%s.when could not be evaluated: %s", playbook.setting, error)
            return
        started = self.state.started(playbook.name)
        states = self.state.states(playbook.name, [r.key for r in records])
        new_states, crossings = judge(playbook, records, holds, states, started=started)
        for key, record_state in new_states.items():
            judgement.states[(playbook.name, key)] = record_state
        if not started:
            judgement.started.append(playbook.name)
            # Said in the run summary line, so a quiet run stays one line.
            judgement.notes.append(
                f"playbook {playbook.name}: first run on this CRM, {len(new_states)} record(s)"
                " recorded"
                + ("" if playbook.fire_on_first_run else " without acting (fire_on_first_run)")
            )
        self.prefetch_owners(playbook, crossings)
        for crossing in crossings:
            judgement.actions.extend(self._actions(playbook, crossing))

    def _members(
        self, playbook: Playbook, company: Snapshot
    ) -> list[tuple[Snapshot | None, Snapshot | None]]:
        """(membership, contact) pairs to act on; (None, None): the company alone."""
        assert self.state is not None
        if playbook.choose is None:
            return [(None, None)]
        pairs = []
        for membership in self.state.members(company.key):
            contact = self.state.get(CONTACT, membership.contact_id or "")
            if contact is not None:
                pairs.append((membership, contact))
        choose = playbook.choose
        try:
            picked = chosen(
                choose.where,
                choose.order_by,
                choose.limit,
                [(m.fields, c.fields) for m, c in pairs],
            )
        except PlaybookSQLError as error:
            self.logger.warning("%s.choose could not be evaluated: %s", playbook.setting, error)
            return []
        return [pairs[i] for i in picked]

    def _actions(self, playbook: Playbook, crossing: Crossing) -> list[Action]:
        record = crossing.record
        if playbook.object == CONTACT:
            pairs: list[tuple[Snapshot | None, Snapshot | None]] = [(None, record)]
            company = None
        else:
            pairs = self._members(playbook, record)
            company = record
        if not pairs:
            self.logger.info(
                "Playbook %s: %s crossed (%s) but no member was chosen",
                playbook.name,
                record.key,
                crossing.crossing_id,
            )
        actions = []
        for membership, contact in pairs:
            context = {"playbook": playbook.name}
            if company is not None:
                context["company"] = company.fields  # type: ignore[assignment]
            if contact is not None:
                context["contact"] = contact.fields  # type: ignore[assignment]
            if membership is not None:
                context["membership"] = membership.fields  # type: ignore[assignment]
            member = contact.crm_id if contact is not None else ""
            try:
                actions.extend(
                    self._member_actions(playbook, crossing, context, company, contact, member)
                )
            except TemplateRenderError as error:
                self.logger.warning(
                    "Playbook %s: a template failed for %s: %s", playbook.name, record.key, error
                )
        return actions

    def _member_actions(
        self,
        playbook: Playbook,
        crossing: Crossing,
        context: dict[str, Any],
        company: Snapshot | None,
        contact: Snapshot | None,
        member: str,
    ) -> list[Action]:
        actions = []
        key = crossing.record.key
        if playbook.task is not None:
            task = playbook.task
            due = datetime.now(UTC).date() + timedelta(days=task.due_in_days)
            payload = {
                "subject": render(task.subject, context),
                "body": render(task.body, context),
                "due": due.isoformat(),
                "priority": task.priority,
                "task_type": task.task_type,
                "owner_id": self._owner(playbook, company, contact),
                "contact_id": contact.crm_id if contact is not None else None,
                "company_id": company.crm_id if company is not None else None,
            }
            marker = self._marker(playbook, key, crossing.crossing_id, member, "task")
            actions.append(Action(marker, playbook.name, key, "task", payload))
        if playbook.webhook is not None:
            payload = {"text": render(playbook.webhook.text, context)}
            marker = self._marker(playbook, key, crossing.crossing_id, member, "webhook")
            actions.append(Action(marker, playbook.name, key, "webhook", payload))
        return actions

    def _owner(
        self, playbook: Playbook, company: Snapshot | None, contact: Snapshot | None
    ) -> str | None:
        task = playbook.task
        assert task is not None
        if task.owner == "fixed":
            return task.owner_id
        if task.owner == "email":
            return self.owner_ids.get(task.owner_email or "")
        target, object_type = (
            (company, COMPANIES) if task.owner == "company" else (contact, CONTACTS)
        )
        if target is None:
            return None
        key = (object_type, target.crm_id)
        if key not in self._owner_cache:
            self._owner_cache[key] = self.crm.record_owners(object_type, [target.crm_id]).get(
                target.crm_id
            )
        return self._owner_cache[key]

    def prefetch_owners(self, playbook: Playbook, crossings: Sequence[Crossing]) -> None:
        """The owners of the crossing companies, in batch reads, before the tasks need them."""
        if playbook.task is None or playbook.task.owner != "company" or not crossings:
            return
        ids = [c.record.crm_id for c in crossings]
        owners = self.crm.record_owners(COMPANIES, ids)
        for crm_id in ids:
            self._owner_cache[(COMPANIES, crm_id)] = owners.get(crm_id)

    def _marker(
        self, playbook: Playbook, key: str, crossing_id: str, member: str, kind: str
    ) -> str:
        """The action's name: the same crossing always gives the same marker."""
        assert self.state is not None
        text = "|".join((self.state.crm, playbook.name, key, crossing_id, member, kind))
        return "pb-" + hashlib.sha256(text.encode()).hexdigest()[:24]

    def close(self) -> None:
        """Close the state."""
        if self.state is not None:
            self.state.close()
