"""One computation as of T, in the order its steps depend on each other.

The mapper runs it at the end of its input to emit records; `plg-transform explain`
runs the same steps on the same store to show how one record's numbers came about, so
there is one definition of every number.
"""

from __future__ import annotations

from dataclasses import dataclass

from plg_transform.activity import build_activity
from plg_transform.engagement import build_engagement
from plg_transform.output_records import build_records
from plg_transform.population import build_metrics, build_population, build_traits, invalid_emails
from plg_transform.rules import RuleFailure
from plg_transform.snapshot import Snapshot

ENTITY_TABLES = {"user": "users", "account": "accounts", "membership": "memberships"}


@dataclass(frozen=True)
class Scores:
    """What the computation found besides its TEMP tables (final_<kind> and the rest)."""

    references: dict[str, float | None]  # per kind: configured, or P90; None = empty
    metrics: dict[str, list[str]]  # backend metric names per kind
    rule_failures: list[RuleFailure]  # rules that could not be evaluated for some records
    invalid_emails: int
    invalid_email_examples: list[str]
    entities: dict[str, int]  # number of users, accounts, memberships as of T


def compute_scores(snap: Snapshot) -> Scores:
    """Build every table the records are read from: population, engagement, activity, rules."""
    build_population(snap)
    build_traits(snap)
    invalid, examples = invalid_emails(snap)
    metrics = build_metrics(snap)
    references = build_engagement(snap)
    build_activity(snap)
    failures = build_records(snap, metrics)
    entities = {
        kind: int(snap.rows(f"SELECT count(*) FROM {table}")[0][0])
        for kind, table in ENTITY_TABLES.items()
    }
    return Scores(references, metrics, failures, invalid, examples, entities)
