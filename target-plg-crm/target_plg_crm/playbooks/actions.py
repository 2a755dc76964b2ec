"""Making the actions once: tasks through the CRM, notifications through a webhook.

Every action was written to the state as `pending` before this runs. A task whose
earlier call may have gone through (`attempted`: the run died or the answer was lost)
is first looked up by its marker; only tasks the CRM does not hold are sent. A call
that ends without a clear answer (a timeout, a server error) is looked up again right
away, and what is still missing is sent again, a few times; what stays unknown is left
pending for the next run. A notification has no marker a chat keeps: it is sent at most
once (one whose answer was lost is not sent again; it is logged as unknown).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import requests

from target_plg_crm.crm.interface import CRMClient
from target_plg_crm.crm.tasks import TaskInput, TaskOutcomeUnknownError, TaskResult
from target_plg_crm.playbooks.state import (
    CREATED,
    REFUSED,
    SENT,
    UNKNOWN,
    Action,
    PlaybookState,
)

#: Sends of one task within a run whose answers were lost, before leaving it pending.
MAX_UNKNOWN_ATTEMPTS = 3
WEBHOOK_TIMEOUT_SECONDS = 10.0


@dataclass
class ActionOutcomes:
    """What happened to the pending actions: counts and the refusals (with reasons)."""

    tasks_created: int = 0
    tasks_found: int = 0
    notifications_sent: int = 0
    still_pending: int = 0
    refused: list[tuple[Action, str, str]] | None = None

    def refuse(self, action: Action, code: str, reason: str) -> None:
        """Note a refused action."""
        if self.refused is None:
            self.refused = []
        self.refused.append((action, code, reason))


def task_input(action: Action) -> TaskInput:
    """The task an action's payload describes."""
    payload = action.payload
    return TaskInput(
        marker=action.marker,
        subject=payload["subject"],
        body=payload["body"],
        due=date.fromisoformat(payload["due"]),
        priority=payload["priority"],
        task_type=payload["task_type"],
        owner_id=payload.get("owner_id"),
        contact_id=payload.get("contact_id"),
        company_id=payload.get("company_id"),
    )


class ActionMaker:
    """Makes the pending actions of one CRM identity."""

    def __init__(
        self,
        state: PlaybookState,
        crm: CRMClient,
        logger: logging.Logger,
        post: Callable[..., requests.Response] = requests.post,
    ) -> None:
        """`post` sends webhooks (tests may replace it)."""
        self.state = state
        self.crm = crm
        self.logger = logger
        self.post = post

    def make_all(self, webhook_urls: dict[str, str]) -> ActionOutcomes:
        """Make every pending action; `webhook_urls`: playbook name -> its URL."""
        outcomes = ActionOutcomes()
        pending = self.state.pending_actions()
        tasks = [a for a in pending if a.kind == "task"]
        size = max(1, self.crm.max_batch_size)
        for start in range(0, len(tasks), size):
            self._make_tasks(tasks[start : start + size], outcomes)
        for action in (a for a in pending if a.kind == "webhook"):
            self._notify(action, webhook_urls.get(action.playbook), outcomes)
        return outcomes

    def _make_tasks(self, actions: Sequence[Action], outcomes: ActionOutcomes) -> None:
        by_marker = {a.marker: a for a in actions}
        to_send = list(actions)
        if any(a.attempted for a in actions):
            to_send = self._not_found(to_send, outcomes)
        for _attempt in range(MAX_UNKNOWN_ATTEMPTS):
            if not to_send:
                return
            inputs = [task_input(a) for a in to_send]
            self.state.mark_attempted(a.marker for a in to_send)
            try:
                results = self.crm.create_tasks(inputs)
            except TaskOutcomeUnknownError as error:
                self.logger.warning(
                    "Playbooks: creating %d task(s) got no clear answer (%s); looking them up",
                    len(to_send),
                    error,
                )
                to_send = self._not_found(to_send, outcomes)
                continue
            for task, result in zip(inputs, results, strict=True):
                self._settle(by_marker[task.marker], result, outcomes)
            return
        outcomes.still_pending += len(to_send)
        self.logger.warning(
            "Playbooks: %d task(s) still unanswered; the next run looks them up first",
            len(to_send),
        )

    def _not_found(self, actions: Sequence[Action], outcomes: ActionOutcomes) -> list[Action]:
        """Settle the actions whose task the CRM holds; the rest are still to send."""
        try:
            found = self.crm.find_tasks([task_input(a) for a in actions])
        except TaskOutcomeUnknownError:
            found = {}
        missing = []
        for action in actions:
            crm_id = found.get(action.marker)
            if crm_id is None:
                missing.append(action)
                continue
            self.state.settle(action.marker, CREATED, crm_id, None)
            outcomes.tasks_found += 1
        return missing

    def _settle(self, action: Action, result: TaskResult, outcomes: ActionOutcomes) -> None:
        if result.created:
            self.state.settle(action.marker, CREATED, result.crm_id, None)
            outcomes.tasks_created += 1
            return
        code, reason = result.code or "REFUSED", result.reason or ""
        self.state.settle(action.marker, REFUSED, None, f"{code}: {reason}")
        outcomes.refuse(action, code, reason)

    def _notify(self, action: Action, url: str | None, outcomes: ActionOutcomes) -> None:
        """Post `{"text": ...}` once; the URL is never logged."""
        if url is None:
            self.state.settle(action.marker, REFUSED, None, "the playbook has no webhook now")
            return
        if action.attempted:
            self.state.settle(action.marker, UNKNOWN, None, "answer lost: not sent again")
            self.logger.warning(
                "Playbook %s: a notification's answer was lost; not sent again", action.playbook
            )
            return
        self.state.mark_attempted([action.marker])
        try:
            response = self.post(
                url,
                data=json.dumps({"text": action.payload["text"]}),
                headers={"Content-Type": "application/json"},
                timeout=WEBHOOK_TIMEOUT_SECONDS,
            )
        except requests.ConnectionError:
            self._unattempt(action)
            outcomes.still_pending += 1
            self.logger.warning(
                "Playbook %s: webhook unreachable, retried next run", action.playbook
            )
            return
        except requests.RequestException as error:
            self.state.settle(action.marker, UNKNOWN, None, type(error).__name__)
            self.logger.warning(
                "Playbook %s: webhook gave no answer (%s); not sent again",
                action.playbook,
                type(error).__name__,
            )
            return
        if response.status_code < 300:
            self.state.settle(action.marker, SENT, None, None)
            outcomes.notifications_sent += 1
        elif response.status_code >= 500:
            self._unattempt(action)
            outcomes.still_pending += 1
        else:
            reason = f"webhook answered {response.status_code}"
            self.state.settle(action.marker, REFUSED, None, reason)
            outcomes.refuse(action, "WEBHOOK_REFUSED", reason)

    def _unattempt(self, action: Action) -> None:
        """The webhook said it did not post: sending again next run is safe."""
        self.state.reset_attempt(action.marker)
