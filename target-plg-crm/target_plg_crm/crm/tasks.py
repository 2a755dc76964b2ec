"""What crosses the CRM interface for playbooks: tasks to create, owners, and their answers.

A task is created once per playbook crossing. No CRM offers an idempotency key for
tasks, so each task carries a `marker` (written into its body) by which a creation
whose answer was lost is found again instead of being created twice (`find_tasks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

#: Priorities and types a task takes (HubSpot's values; Salesforce maps them).
TASK_PRIORITIES = ("LOW", "MEDIUM", "HIGH")
TASK_TYPES = ("TODO", "CALL", "EMAIL")


class TaskOutcomeUnknownError(Exception):
    """The CRM may or may not have created the tasks: no answer, or a server error."""


class TasksUnsupportedError(Exception):
    """This CRM client cannot create tasks or list owners."""


@dataclass(frozen=True)
class TaskInput:
    """One task to create: on a contact and/or a company, for an owner, due on a day."""

    marker: str
    subject: str
    body: str
    due: date
    priority: str
    task_type: str
    owner_id: str | None = None
    contact_id: str | None = None
    company_id: str | None = None


@dataclass(frozen=True)
class TaskResult:
    """The CRM's answer for one task: its id, or why it was refused."""

    crm_id: str | None = None
    code: str | None = None
    reason: str | None = None

    @property
    def created(self) -> bool:
        """Whether the CRM created the task."""
        return self.crm_id is not None


@dataclass(frozen=True)
class Owner:
    """A user who can own records and tasks."""

    id: str
    email: str


def marker_line(marker: str) -> str:
    """The last line of a task's body, by which the task is found again."""
    return f"[plg-playbook {marker}]"
