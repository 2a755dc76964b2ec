"""Tasks and owners in the local CRM, under HubSpot's rules for them.

owners(id, email, first_name, last_name): the users who can own records; the local
CRM starts with none (add rows to assign tasks). A company's or contact's owner is its
`hubspot_owner_id` property, as in HubSpot.
tasks(id, subject, body, due, priority, type, status, owner_id, contact_id, company_id,
created_at): a task needs its due date; an unknown owner, contact or company, or a
priority or type outside HubSpot's values is refused for that task.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from target_plg_crm.crm.local.client import now
from target_plg_crm.crm.object_types import COMPANIES, CONTACTS
from target_plg_crm.crm.tasks import (
    TASK_PRIORITIES,
    TASK_TYPES,
    Owner,
    TaskInput,
    TaskResult,
    marker_line,
)

TASKS_SCHEMA = """
CREATE TABLE IF NOT EXISTS owners (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT
);
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY,
    subject TEXT,
    body TEXT,
    due TEXT NOT NULL,
    priority TEXT,
    type TEXT,
    status TEXT NOT NULL DEFAULT 'NOT_STARTED',
    owner_id TEXT,
    contact_id INTEGER,
    company_id INTEGER,
    created_at TEXT
);
"""


def create_tables(db: sqlite3.Connection) -> None:
    """Create the owners and tasks tables when missing."""
    db.executescript(TASKS_SCHEMA)
    db.commit()


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    row = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return row.fetchone() is not None


def list_owners(db: sqlite3.Connection) -> list[Owner]:
    """Every owner (none in a CRM file without the owners table)."""
    if not _has_table(db, "owners"):
        return []
    rows = db.execute("SELECT id, email FROM owners ORDER BY id").fetchall()
    return [Owner(str(row[0]), str(row[1]).lower()) for row in rows]


def record_owners(
    db: sqlite3.Connection, object_type: str, crm_ids: Sequence[str]
) -> dict[str, str]:
    """`hubspot_owner_id` of the objects among `crm_ids` that have one."""
    table = {CONTACTS: "contacts", COMPANIES: "companies"}[object_type]
    owners: dict[str, str] = {}
    for crm_id in crm_ids:
        row = db.execute(f"SELECT properties FROM {table} WHERE id = ?", (crm_id,)).fetchone()
        owner = json.loads(row[0] or "{}").get("hubspot_owner_id") if row else None
        if owner:
            owners[crm_id] = str(owner)
    return owners


def _exists(db: sqlite3.Connection, table: str, crm_id: str | None) -> bool:
    if crm_id is None:
        return True
    return db.execute(f"SELECT 1 FROM {table} WHERE id = ?", (crm_id,)).fetchone() is not None


def _problem(db: sqlite3.Connection, task: TaskInput, owners: set[str]) -> TaskResult | None:
    if task.priority not in TASK_PRIORITIES:
        return TaskResult(code="INVALID_OPTION", reason=f"hs_task_priority {task.priority!r}")
    if task.task_type not in TASK_TYPES:
        return TaskResult(code="INVALID_OPTION", reason=f"hs_task_type {task.task_type!r}")
    if task.owner_id is not None and task.owner_id not in owners:
        return TaskResult(code="INVALID_OWNER_ID", reason=f"no owner with id {task.owner_id}")
    if not _exists(db, "contacts", task.contact_id):
        return TaskResult(code="CONTACT_NOT_FOUND", reason=f"no contact {task.contact_id}")
    if not _exists(db, "companies", task.company_id):
        return TaskResult(code="COMPANY_NOT_FOUND", reason=f"no company {task.company_id}")
    return None


def create_tasks(db: sqlite3.Connection, inputs: Sequence[TaskInput]) -> list[TaskResult]:
    """Create each valid task (its marker ends its body); refuse the others one by one."""
    owners = {o.id for o in list_owners(db)}
    results: list[TaskResult] = []
    with db:
        for task in inputs:
            problem = _problem(db, task, owners)
            if problem is not None:
                results.append(problem)
                continue
            cursor = db.execute(
                "INSERT INTO tasks (subject, body, due, priority, type, owner_id, contact_id, "
                "company_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    task.subject,
                    f"{task.body}\n\n{marker_line(task.marker)}",
                    task.due.isoformat(),
                    task.priority,
                    task.task_type,
                    task.owner_id,
                    task.contact_id,
                    task.company_id,
                    now(),
                ),
            )
            results.append(TaskResult(crm_id=str(cursor.lastrowid)))
    return results


def find_tasks(db: sqlite3.Connection, inputs: Sequence[TaskInput]) -> dict[str, str]:
    """Marker -> id of the tasks among `inputs` the file holds."""
    if not _has_table(db, "tasks"):
        return {}
    found: dict[str, str] = {}
    for task in inputs:
        row = db.execute(
            "SELECT id FROM tasks WHERE body LIKE ?", (f"%{marker_line(task.marker)}",)
        ).fetchone()
        if row:
            found[task.marker] = str(row[0])
    return found
