"""A hidden history of accounts crossing the PQA line, and what it must produce.

Run after run, each account is or is not a PQA and its members have roles and scores.
`messages(run)` is what the transform would send at that run (every account, contact
and membership); `expected_tasks(run)` is, computed from the history alone, the task each
crossing must make: for the owner or admin with the highest membership score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..target_local.harness import association, company, contact, schemas

#: Which accounts are PQAs at each run (run 0 is the first run: nothing fires).
PQA_BY_RUN: list[set[str]] = [
    {"a1"},  # first run: a1 is already a PQA, recorded without a task
    {"a1", "a2"},  # a2 enters
    {"a1", "a2"},  # unchanged
    {"a2", "a3"},  # a1 exits, a3 enters
    {"a1", "a2", "a3", "a4"},  # a1 enters again, a4 enters
    {"a1", "a2", "a3", "a4"},  # unchanged
]
ACCOUNTS = ("a1", "a2", "a3", "a4")


@dataclass(frozen=True)
class Member:
    """One person's membership of one account."""

    user_id: str
    account_id: str
    role: str
    score: int

    @property
    def email(self) -> str:
        """The person's e-mail."""
        return f"{self.user_id}@example.com"


def members(run: int) -> list[Member]:
    """Memberships at `run`: scores move, so who is chosen depends on the run."""
    found = []
    for number, account in enumerate(ACCOUNTS, start=1):
        found += [
            Member(f"u{number}o", account, "owner", 10 + run),
            Member(f"u{number}a", account, "admin", 20 - 3 * run + number),
            Member(f"u{number}v", account, "viewer", 99),  # highest score, never chosen
        ]
    return found


def messages(run: int) -> list[dict[str, Any]]:
    """The transform's output at `run`."""
    pqas = PQA_BY_RUN[run]
    out = schemas()
    out += [
        company(a, name=f"Acme {a}", is_pqa=a in pqas, engagement_score=70 if a in pqas else 20)
        for a in ACCOUNTS
    ]
    people = members(run)
    out += [contact(m.user_id, m.email, primary_account_id=m.account_id) for m in people]
    out += [
        association(m.user_id, m.account_id, role=m.role, engagement_score=m.score) for m in people
    ]
    return out


def chosen_member(account: str, run: int) -> Member:
    """The owner or admin of `account` with the highest score at `run`."""
    candidates = [m for m in members(run) if m.account_id == account and m.role != "viewer"]
    return max(candidates, key=lambda m: m.score)


def task_text(account: str, run: int) -> tuple[str, str]:
    """(subject, body) of the task of `account` entering at `run`."""
    member = chosen_member(account, run)
    subject = f"Call {member.email} at Acme {account}"
    body = f"{member.email} is {member.role} of Acme {account} with a score of {member.score}"
    return subject, body


def entered(run: int) -> set[str]:
    """Accounts that became PQAs at `run` (never at the first run)."""
    if run == 0:
        return set()
    return PQA_BY_RUN[run] - PQA_BY_RUN[run - 1]


def exited(run: int) -> set[str]:
    """Accounts that stopped being PQAs at `run`."""
    if run == 0:
        return set()
    return PQA_BY_RUN[run - 1] - PQA_BY_RUN[run]


def expected_tasks(run: int) -> list[tuple[str, str, str]]:
    """(contact e-mail, subject, body) of the tasks `run` must create, sorted."""
    return sorted((chosen_member(a, run).email, *task_text(a, run)) for a in entered(run))


PQA_PLAYBOOK: dict[str, Any] = {
    "name": "pqa_call",
    "object": "company",
    "when": "is_pqa",
    "on": "enter",
    "choose": {
        "where": "role IN ('owner', 'admin')",
        "order_by": "membership.engagement_score DESC",
        "limit": 1,
    },
    "task": {
        "subject": "Call {{ contact.email }} at {{ company.name }}",
        "body": (
            "{{ contact.email }} is {{ membership.role }} of {{ company.name }} "
            "with a score of {{ membership.engagement_score }}"
        ),
        "due_in_days": 2,
        "priority": "HIGH",
        "type": "CALL",
    },
}
