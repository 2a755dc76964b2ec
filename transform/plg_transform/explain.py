"""Why a record scores what it scores: its numbers, read from the computation's own tables.

`explain` runs after `scoring.compute_scores` on the same store and settings as the
mapper, and reads back, for one user, account or membership, the tables the record was
built from: per-event counts before and after the daily cap (`per_event_<kind>`), the
raw values (`raw_<kind>`), the reference, the milestones reached (`ms_reached_<kind>`),
the rules that held (`rule_hits_<kind>`) and the record itself (`final_<kind>`). Nothing
here computes a metric a second way; it only lays out what the mapper computed.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field
from datetime import timedelta

import orjson

from plg_transform.activity import milestone_events_sql, milestone_totals_sql
from plg_transform.output_fields import KEYS, STREAMS
from plg_transform.output_records import record_lines
from plg_transform.rules import referenced_fields, rule_index
from plg_transform.scoring import ENTITY_TABLES, Scores
from plg_transform.settings import Rule
from plg_transform.snapshot import Snapshot
from plg_transform.sql_text import ident

# The record field each kind of rule writes.
_RULE_OUTPUT = {
    "pql": "is_pql",
    "pqa": "is_pqa",
    "segments": "segments",
    "lifecycle": "lifecycle_stage",
}


@dataclass(frozen=True)
class ScoredEvent:
    """One scored event's part in the raw values (current and previous window)."""

    event: str
    weight: float
    feature: str | None
    occurrences: int  # in the current window, before the daily cap
    counted: int  # after the cap: what the raw value counts
    capped_away: int
    contribution: float  # weight * counted
    previous_occurrences: int
    previous_counted: int
    previous_contribution: float


@dataclass(frozen=True)
class Reference:
    """The raw value that scores 90, and where it comes from."""

    value: float | None  # None: nobody of this kind has raw > 0, every score is 0
    source: str  # "score_reference.<kind>" or "P90"
    population: int  # entities of this kind with raw > 0 in the current window
    rank: int | None  # the nearest rank the P90 was read at (1-based)


@dataclass(frozen=True)
class Engagement:
    """Raw values, reference, scores and trend."""

    raw: float
    reference: Reference
    score: int
    previous_raw: float
    previous_score: int
    trend: int
    trend_label: str
    score_reasons: str


@dataclass(frozen=True)
class MilestoneProgress:
    """One activation milestone: how far the entity got and when it was reached."""

    name: str
    event: str
    count: int
    occurrences: int  # all time up to as_of, uncapped
    reached_at: str | None


@dataclass(frozen=True)
class RuleOutcome:
    """One rule evaluated on the record: whether it held, and the values it read."""

    setting: str  # e.g. "segments[1].when"
    name: str  # segment name, stage, or pql/pqa
    output: str  # the record field it decides
    when: str
    holds: bool
    evaluated: bool  # False: the rule could not be evaluated for this record (read as false)
    fields: dict[str, t.Any]  # the fields the rule reads, with the record's values


@dataclass(frozen=True)
class Explanation:
    """Everything `plg-transform explain` shows about one record."""

    kind: str
    key: dict[str, str]
    stream: str
    as_of: str
    windows: dict[str, list[str]]  # current / previous: [first date, last date]
    daily_cap: int
    events: list[ScoredEvent]
    engagement: Engagement
    milestones: list[MilestoneProgress]
    features_configured: list[str]
    rules: list[RuleOutcome]
    related: list[dict[str, t.Any]]  # an account's members, a user's memberships
    record: dict[str, t.Any] = field(default_factory=dict)  # the record as emitted


def _where(kind: str, alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return " AND ".join(f"{prefix}{ident(k)} = ?" for k in KEYS[kind])


def exists(snap: Snapshot, kind: str, key: t.Sequence[str]) -> bool:
    """True when the entity exists as of T (it has a record)."""
    rows = snap.con.execute(
        f"SELECT count(*) FROM {ENTITY_TABLES[kind]} WHERE {_where(kind)}", list(key)
    ).fetchone()
    return bool(rows and rows[0])


def _windows(snap: Snapshot) -> dict[str, list[str]]:
    width = timedelta(days=snap.settings.window_days)
    day = snap.day
    one = timedelta(days=1)
    return {
        "current": [str(day - width + one), str(day)],
        "previous": [str(day - 2 * width + one), str(day - width)],
    }


def _events(snap: Snapshot, kind: str, key: t.Sequence[str]) -> list[ScoredEvent]:
    rows = snap.con.execute(
        f"""
        SELECT p.event, p.weight, w.feature, p.occurrences_cur, p.n_cur,
               p.occurrences_prev, p.n_prev
        FROM per_event_{kind} p LEFT JOIN weights w ON w.event = p.event
        WHERE {_where(kind, "p")} AND (p.n_cur > 0 OR p.n_prev > 0)
        ORDER BY p.weight * p.n_cur DESC, p.event
        """,
        list(key),
    ).fetchall()
    return [
        ScoredEvent(
            event=event,
            weight=weight,
            feature=feature,
            occurrences=int(occ_cur),
            counted=int(n_cur),
            capped_away=int(occ_cur - n_cur),
            contribution=weight * n_cur,
            previous_occurrences=int(occ_prev),
            previous_counted=int(n_prev),
            previous_contribution=weight * n_prev,
        )
        for event, weight, feature, occ_cur, n_cur, occ_prev, n_prev in rows
    ]


def _reference(snap: Snapshot, kind: str, value: float | None) -> Reference:
    row = snap.rows(f"SELECT count(*) FROM raw_{kind} WHERE raw_cur > 0")
    population = int(row[0][0]) if row else 0
    if kind in snap.settings.score_reference:
        return Reference(value, f"score_reference.{kind}", population, None)
    rank = (9 * population + 9) // 10 if population else None  # as engagement.reference
    return Reference(value, "P90", population, rank)


def _engagement(
    snap: Snapshot, kind: str, key: t.Sequence[str], reference: Reference
) -> Engagement:
    row = snap.con.execute(
        f"""
        SELECT coalesce(r.raw_cur, 0), coalesce(r.raw_prev, 0), f.engagement_score,
               f.engagement_score_previous, f.engagement_trend, f.engagement_trend_label,
               f.score_reasons
        FROM final_{kind} f LEFT JOIN raw_{kind} r USING ({", ".join(KEYS[kind])})
        WHERE {_where(kind, "f")}
        """,
        list(key),
    ).fetchone()
    assert row is not None  # the entity exists (checked before)
    raw, previous_raw, score, previous_score, trend, label, reasons = row
    return Engagement(
        float(raw), reference, score, float(previous_raw), previous_score, trend, label, reasons
    )


def _milestones(snap: Snapshot, kind: str, key: t.Sequence[str]) -> list[MilestoneProgress]:
    milestones = snap.settings.milestones
    if not milestones:
        return []
    occurrences = dict(
        snap.con.execute(
            f"""
            SELECT event, sum(occurrences)
            FROM ({milestone_totals_sql(kind, milestone_events_sql(milestones))})
            WHERE {_where(kind)} GROUP BY event
            """,
            list(key),
        ).fetchall()
    )
    reached = dict(
        snap.con.execute(
            f"SELECT idx, plg_iso(ts) FROM ms_reached_{kind} WHERE {_where(kind)}", list(key)
        ).fetchall()
    )
    return [
        MilestoneProgress(
            m.name, m.event, m.count, int(occurrences.get(m.event, 0)), reached.get(i)
        )
        for i, m in enumerate(milestones)
    ]


def _rules(
    snap: Snapshot, kind: str, key: t.Sequence[str], record: dict[str, t.Any]
) -> list[RuleOutcome]:
    index = rule_index(snap.settings)
    hits = {
        r[0]
        for r in snap.con.execute(
            f"SELECT idx FROM rule_hits_{kind} WHERE {_where(kind)}", list(key)
        ).fetchall()
    }
    failed = {
        r[0]
        for r in snap.con.execute(
            f"SELECT idx FROM rule_unevaluable_{kind} WHERE {_where(kind)}", list(key)
        ).fetchall()
    }
    outcomes = []
    for rule in snap.settings.rules():
        if rule.applies_to != kind:
            continue
        number = index[rule.setting]
        names = sorted(referenced_fields(snap.con, rule))
        outcomes.append(
            RuleOutcome(
                setting=rule.setting,
                name=rule.name,
                output=_RULE_OUTPUT[_rule_family(rule)],
                when=rule.when,
                holds=number in hits,
                evaluated=number not in failed,
                fields={name: record.get(name) for name in names},
            )
        )
    return outcomes


def _rule_family(rule: Rule) -> str:
    """pql, pqa, segments or lifecycle: the setting a rule comes from."""
    return rule.setting.split("[", 1)[0].split(".", 1)[0]


def _related(snap: Snapshot, kind: str, key: t.Sequence[str]) -> list[dict[str, t.Any]]:
    """An account's members or a user's memberships, with their membership scores."""
    if kind == "membership":
        return []
    other = "user_id" if kind == "account" else "account_id"
    rows = snap.con.execute(
        f"""
        SELECT m.{other}, coalesce(e.raw_cur, 0), coalesce(e.engagement_score, 0)
        FROM memberships m LEFT JOIN eng_membership e USING (user_id, account_id)
        WHERE {_where(kind, "m")}
        ORDER BY coalesce(e.engagement_score, 0) DESC, coalesce(e.raw_cur, 0) DESC, m.{other}
        """,
        list(key),
    ).fetchall()
    return [
        {other: other_id, "membership_raw": float(raw), "membership_score": score}
        for other_id, raw, score in rows
    ]


def _record(snap: Snapshot, kind: str, key: t.Sequence[str], scores: Scores) -> dict[str, t.Any]:
    for lines in record_lines(snap, kind, scores.metrics, key=key):
        for line in lines:
            return t.cast(dict, orjson.loads(line)["record"])
    return {}


def explain(snap: Snapshot, scores: Scores, kind: str, key: t.Sequence[str]) -> Explanation:
    """The explanation of one existing entity's record (see `exists`)."""
    record = _record(snap, kind, key, scores)
    reference = _reference(snap, kind, scores.references.get(kind))
    return Explanation(
        kind=kind,
        key=dict(zip(KEYS[kind], key, strict=True)),
        stream=STREAMS[kind],
        as_of=record["as_of"],
        windows=_windows(snap),
        daily_cap=snap.settings.daily_cap,
        events=_events(snap, kind, key),
        engagement=_engagement(snap, kind, key, reference),
        milestones=_milestones(snap, kind, key),
        features_configured=snap.settings.features,
        rules=_rules(snap, kind, key, record),
        related=_related(snap, kind, key),
        record=record,
    )
