"""What the page says, computed from the CRM snapshot, the rejects and the run history.

Plain data (dataclasses of numbers and strings) so the page template only lays it out and
the tests can compare it with the CRM file.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plg_report.crm_snapshot import CrmRecord, CrmSnapshot, Membership

CONTACTS, COMPANIES = "contacts", "companies"
BEST_CONTACTS_PER_ACCOUNT = 3
REASON_EXAMPLES = 3


@dataclass(frozen=True)
class ScoreSummary:
    """One population's scores (users or accounts) and how they moved since last window."""

    kind: str
    scores: list[int]
    p90: int | None
    median: float | None
    moved_up: int
    moved_down: int
    unchanged: int
    rising: int
    falling: int
    reference: float | None = None  # the raw value that scores 90, when the source holds it


@dataclass(frozen=True)
class Tally:
    """A count per name, in the order the page shows them."""

    kind: str
    counts: list[tuple[str, int]]

    @property
    def total(self) -> int:
        return sum(count for _, count in self.counts)


@dataclass(frozen=True)
class Contact:
    """A contact as listed in the account and lead tables."""

    email: str
    name: str
    title: str
    score: int | None
    roles: list[str]
    is_champion: bool


@dataclass(frozen=True)
class QualifiedAccount:
    """A product-qualified account and the people to talk to there, best first."""

    key: str
    name: str
    plan: str
    score: int | None
    trend: int | None
    active_users: str
    stage: str
    best_contacts: list[Contact]


@dataclass(frozen=True)
class QualifiedLead:
    """A product-qualified lead (contact)."""

    contact: Contact
    active_days: int | None
    account: str
    stage: str


@dataclass(frozen=True)
class Activation:
    """One population's activation: how far it got and how long it took."""

    kind: str
    total: int
    activated: int
    steps: int
    # (k, how many completed at least k milestones) for k = 1..steps
    reached: list[tuple[int, int]]
    days_to_activate: list[float]

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days_to_activate) if self.days_to_activate else None

    def quartile_days(self) -> tuple[float, float] | None:
        if len(self.days_to_activate) < 2:
            return None
        quartiles = statistics.quantiles(self.days_to_activate, n=4)
        return quartiles[0], quartiles[2]


@dataclass(frozen=True)
class FallingAccount:
    """An account whose score dropped, with what it now scores on."""

    key: str
    name: str
    plan: str
    previous: int | None
    score: int | None
    trend: int | None
    active_users: str
    days_since_last_active: int | None
    top_events: str
    segments: str


@dataclass(frozen=True)
class RejectGroup:
    """Rejected records of one stream and code, with their reasons in full."""

    stream: str
    code: str
    count: int
    reasons: list[tuple[str, int]]  # (full reason text, count), most frequent first
    more_reasons: int
    keys: list[str]


@dataclass(frozen=True)
class RunHistory:
    """The target's run history as a table: one row per run, nested counts flattened."""

    columns: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class ReportContent:
    """Everything on the page."""

    as_of: str | None
    contacts: int
    companies: int
    associations: int
    scores: list[ScoreSummary]
    stages: list[Tally]
    segments: list[Tally]
    qualified_accounts: list[QualifiedAccount]
    qualified_leads: list[QualifiedLead]
    activation: list[Activation]
    falling_accounts: list[FallingAccount]
    rejects: list[RejectGroup] | None  # None: no rejects file
    history: RunHistory | None  # None: no run history file
    # True when best contacts are ranked by their score in the account (the association's
    # own score, held by the transform's records), False when by the contact's own score.
    ranked_by_membership_score: bool = False


def _int(record: CrmRecord, name: str) -> int | None:
    number = record.number(name)
    return None if number is None or math.isnan(number) else round(number)


def nearest_rank_p90(values: list[int]) -> int | None:
    """The 90th percentile by the exact integer rank ceil(9n/10), as the transform uses."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[(9 * len(ordered) + 9) // 10 - 1]


def score_summary(
    kind: str, records: list[CrmRecord], reference: float | None = None
) -> ScoreSummary:
    """Distribution and movement of the engagement scores of one population."""
    scores = [s for s in (_int(r, "engagement_score") for r in records) if s is not None]
    trends = [t for t in (_int(r, "engagement_trend") for r in records) if t is not None]
    labels = Counter(r.text("engagement_trend_label") for r in records)
    return ScoreSummary(
        kind=kind,
        scores=scores,
        p90=nearest_rank_p90(scores),
        median=round(statistics.median(scores), 1) if scores else None,
        moved_up=sum(t > 0 for t in trends),
        moved_down=sum(t < 0 for t in trends),
        unchanged=sum(t == 0 for t in trends),
        rising=labels["rising"],
        falling=labels["falling"],
        reference=reference,
    )


def tally(kind: str, names: list[str], order: list[str]) -> Tally:
    """Counts of names, in the CRM's option order (the configured order), then by count."""
    counts = Counter(names)
    ordered = [(name, counts[name]) for name in order if counts[name]]
    ordered += sorted(
        ((name, count) for name, count in counts.items() if name not in order),
        key=lambda item: (-item[1], item[0]),
    )
    return Tally(kind, ordered)


def _name(record: CrmRecord) -> str:
    return record.text("name") or record.key


def _contact(
    record: CrmRecord, roles: list[str], is_champion: bool, score: int | None = None
) -> Contact:
    """A contact; `score` is its score in an account when known, else its own."""
    # The CRM holds the traits firstName/lastName as first_name/last_name properties.
    first = record.text("first_name") or record.text("firstName")
    last = record.text("last_name") or record.text("lastName")
    return Contact(
        email=record.key,
        name=" ".join(p for p in (first, last) if p),
        title=record.text("title") or "",
        score=_int(record, "engagement_score") if score is None else score,
        roles=roles,
        is_champion=is_champion,
    )


def qualified_accounts(crm: CrmSnapshot) -> list[QualifiedAccount]:
    """PQAs by score, each with its best contacts: the champion, then by score.

    The local CRM keeps a membership's role as association labels and the account's
    champion as `champion_user_id` (a `champion` label also counts, for CRMs that write
    one); it does not hold the membership's own score, so there contacts are ranked by
    their own score. The transform's records hold the membership's score: ranked by it.
    """
    contacts = {c.crm_id: c for c in crm.contacts}
    members: dict[int, list[tuple[CrmRecord, Membership]]] = {}
    for membership in crm.memberships:
        contact = contacts.get(membership.contact_id)
        if contact is not None:
            members.setdefault(membership.company_id, []).append((contact, membership))
    accounts = []
    for company in crm.companies:
        if not company.flag("is_pqa"):
            continue
        champion_id = company.text("champion_user_id")
        people = [
            _contact(
                contact,
                membership.roles,
                "champion" in membership.labels
                or (champion_id is not None and contact.text("user_id") == champion_id),
                membership.score,
            )
            for contact, membership in members.get(company.crm_id, [])
        ]
        people.sort(key=lambda c: (not c.is_champion, -(c.score or 0), c.email))
        accounts.append(
            QualifiedAccount(
                key=company.key,
                name=_name(company),
                plan=company.text("plan") or "",
                score=_int(company, "engagement_score"),
                trend=_int(company, "engagement_trend"),
                active_users=_active_users(company),
                stage=company.text("lifecycle_stage") or "",
                best_contacts=people[:BEST_CONTACTS_PER_ACCOUNT],
            )
        )
    accounts.sort(key=lambda a: (-(a.score or 0), a.name, a.key))
    return accounts


def _active_users(company: CrmRecord) -> str:
    active, total = _int(company, "active_users"), _int(company, "total_users")
    return f"{'-' if active is None else active}/{'-' if total is None else total}"


def qualified_leads(crm: CrmSnapshot) -> list[QualifiedLead]:
    """PQLs by score, with their primary account's name."""
    names = {c.key: _name(c) for c in crm.companies}
    leads = [
        QualifiedLead(
            contact=_contact(record, [], False),
            active_days=_int(record, "active_days"),
            account=names.get(record.text("primary_account_id") or "", "")
            or (record.text("primary_account_id") or ""),
            stage=record.text("lifecycle_stage") or "",
        )
        for record in crm.contacts
        if record.flag("is_pql")
    ]
    leads.sort(key=lambda lead: (-(lead.contact.score or 0), lead.contact.email))
    return leads


def _timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def activation(kind: str, records: list[CrmRecord]) -> Activation:
    """Milestones reached (the CRM holds how many, not which) and days to activate.

    The number of milestones is read back from `activation_steps_completed /
    activation_rate`; time to activate runs from `first_seen_at` to `activated_at`.
    """
    completed = [_int(r, "activation_steps_completed") or 0 for r in records]
    steps = max(completed, default=0)
    for record in records:
        done, rate = _int(record, "activation_steps_completed"), record.number("activation_rate")
        if done and rate:
            steps = max(steps, round(done / rate))
    days = []
    for record in records:
        start, end = (
            _timestamp(record.text("first_seen_at")),
            _timestamp(record.text("activated_at")),
        )
        if record.flag("activated") and start is not None and end is not None:
            days.append(max(0.0, (end - start).total_seconds() / 86400))
    return Activation(
        kind=kind,
        total=len(records),
        activated=sum(r.flag("activated") for r in records),
        steps=steps,
        reached=[(k, sum(c >= k for c in completed)) for k in range(1, steps + 1)],
        days_to_activate=days,
    )


def falling_accounts(crm: CrmSnapshot) -> list[FallingAccount]:
    """Accounts whose trend label is `falling`, the largest drop first."""
    falling = [c for c in crm.companies if c.text("engagement_trend_label") == "falling"]
    falling.sort(key=lambda c: (_int(c, "engagement_trend") or 0, c.key))
    return [
        FallingAccount(
            key=company.key,
            name=_name(company),
            plan=company.text("plan") or "",
            previous=_int(company, "engagement_score_previous"),
            score=_int(company, "engagement_score"),
            trend=_int(company, "engagement_trend"),
            active_users=_active_users(company),
            days_since_last_active=_int(company, "days_since_last_active"),
            top_events=company.text("score_reasons") or "",
            segments=", ".join(company.items("segments")),
        )
        for company in falling
    ]


def reject_groups(rejects: list[dict[str, Any]]) -> list[RejectGroup]:
    """Rejects grouped by stream and code, each distinct reason kept whole."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for reject in rejects:
        key = (str(reject.get("stream") or "?"), str(reject.get("code") or "?"))
        grouped.setdefault(key, []).append(reject)
    groups = []
    for (stream, code), items in grouped.items():
        reasons = Counter(str(item.get("reason") or "") for item in items)
        ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        keys = [_reject_key(item) for item in items]
        groups.append(
            RejectGroup(
                stream=stream,
                code=code,
                count=len(items),
                reasons=ranked[:REASON_EXAMPLES],
                more_reasons=max(0, len(ranked) - REASON_EXAMPLES),
                keys=[k for k in keys if k],
            )
        )
    groups.sort(key=lambda g: (-g.count, g.stream, g.code))
    return groups


def _reject_key(reject: dict[str, Any]) -> str:
    """The rejected record's identity: its key, else the ids its record carries."""
    if reject.get("key"):
        return str(reject["key"])
    record = reject.get("record")
    if isinstance(record, dict):
        ids = [str(record[k]) for k in ("user_id", "account_id") if record.get(k)]
        return "/".join(ids)
    return ""


def run_history(runs: list[dict[str, Any]]) -> RunHistory:
    """One row per run; nested objects become columns named by their path."""
    flat = [_flatten(run) for run in runs]
    columns: list[str] = []
    for row in flat:
        columns += [name for name in row if name not in columns]
    return RunHistory(columns, [[row.get(name, "") for name in columns] for row in flat])


def _flatten(value: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for name, item in value.items():
        path = f"{prefix}{name}"
        if isinstance(item, dict):
            flat.update(_flatten(item, path + " "))
        elif isinstance(item, str):
            flat[path] = item
        elif item is not None:
            flat[path] = json.dumps(item)
    return flat


def report_content(
    crm: CrmSnapshot,
    rejects: list[dict[str, Any]] | None,
    history: list[dict[str, Any]] | None,
) -> ReportContent:
    """Compute every section of the page."""
    populations = ((CONTACTS, "users", crm.contacts), (COMPANIES, "accounts", crm.companies))
    references = {"users": "user", "accounts": "account"}
    return ReportContent(
        as_of=crm.as_of,
        contacts=len(crm.contacts),
        companies=len(crm.companies),
        associations=len(crm.memberships),
        scores=[
            score_summary(kind, records, crm.score_references.get(references[kind]))
            for _, kind, records in populations
        ],
        stages=[
            tally(
                kind,
                [r.text("lifecycle_stage") or "(none)" for r in records],
                crm.options.get((object_type, "lifecycle_stage"), []),
            )
            for object_type, kind, records in populations
        ],
        segments=[
            tally(
                kind,
                [s for r in records for s in r.items("segments")],
                crm.options.get((object_type, "segments"), []),
            )
            for object_type, kind, records in populations
        ],
        qualified_accounts=qualified_accounts(crm),
        qualified_leads=qualified_leads(crm),
        activation=[activation(kind, records) for _, kind, records in populations],
        falling_accounts=falling_accounts(crm),
        rejects=None if rejects is None else reject_groups(rejects),
        history=None if not history else run_history(history),
        ranked_by_membership_score=any(m.score is not None for m in crm.memberships),
    )
