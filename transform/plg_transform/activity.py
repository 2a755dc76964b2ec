"""Recency, tenure, active days and users, activation milestones and feature adoption."""

from __future__ import annotations

import typing as t

from plg_transform.output_fields import KEYS
from plg_transform.settings import Milestone
from plg_transform.snapshot import Snapshot
from plg_transform.sql_text import literal


def _event_scope(kind: str) -> str:
    return "account_id IS NOT NULL" if kind != "user" else "true"


def build_activity(snap: Snapshot) -> None:
    """Create act_<kind> (last activity, active days/users, features) and ms_<kind>."""
    cur = snap.current_start
    for kind in ("user", "account", "membership"):
        keys = ", ".join(KEYS[kind])
        scope = _event_scope(kind)
        # All-time times from the per-event totals; the distinct counts only read the
        # days of the current window.
        snap.run(
            f"""
            CREATE OR REPLACE TEMP TABLE act_{kind} AS
            WITH all_time AS (
                SELECT {keys}, max(last_ts) AS last_active_at, min(first_ts) AS first_event_at
                FROM ev_all WHERE {scope} GROUP BY {keys}),
            recent AS (
                SELECT {keys},
                       count(DISTINCT day) FILTER (WHERE weight > 0) AS active_days,
                       count(DISTINCT user_id) FILTER (WHERE weight > 0) AS active_users,
                       string_agg(DISTINCT feature, ';' ORDER BY feature)
                           FILTER (WHERE feature IS NOT NULL) AS features_used,
                       count(DISTINCT feature) AS features_count
                FROM ev_day WHERE {scope} AND day >= {cur} GROUP BY {keys})
            SELECT {keys}, a.last_active_at, a.first_event_at,
                   coalesce(r.active_days, 0) AS active_days,
                   coalesce(r.active_users, 0) AS active_users,
                   coalesce(r.features_used, '') AS features_used,
                   coalesce(r.features_count, 0) AS features_count
            FROM all_time a LEFT JOIN recent r USING ({keys})
            """
        )
    _milestones(snap)
    _first_seen(snap)


def milestone_occurrences_sql(kind: str, events: str) -> str:
    """SQL of the first occurrences (keys, event, ts, n) of the events `events` (a SQL list).

    n numbers the occurrences of one event of one entity by time, then messageId. Each
    (key, day) lists at least its first `count` occurrences (ev_first, ru_first), so
    every occurrence up to the count-th is listed and numbered as among all of them: a
    milestone is completed at its count-th occurrence.
    """
    keys = ", ".join(KEYS[kind])
    return f"""
        SELECT {keys}, event, ts,
               row_number() OVER (PARTITION BY {keys}, event ORDER BY ts, message_id) AS n
        FROM (SELECT user_id, account_id, event, ts, message_id FROM ev_first
              UNION ALL
              SELECT user_id, account_id, event, ts, message_id FROM ru_first
              WHERE user_id IS NOT NULL)
        WHERE {_event_scope(kind)} AND event IN ({events})"""


def milestone_totals_sql(kind: str, events: str) -> str:
    """SQL of every occurrence count (keys, event, occurrences) of the events `events`."""
    keys = ", ".join(KEYS[kind])
    return f"""
        SELECT {keys}, event, sum(n) AS occurrences FROM ev_all
        WHERE {_event_scope(kind)} AND event IN ({events}) GROUP BY ALL"""


def milestone_events_sql(milestones: t.Sequence[Milestone]) -> str:
    """The milestones' event names as a SQL list (NULL when there are none)."""
    return ", ".join(literal(m.event) for m in milestones) or "NULL"


def _milestones(snap: Snapshot) -> None:
    """ms_reached_<kind> (keys, idx, ts): when each milestone was completed; ms_<kind>."""
    milestones = snap.settings.milestones
    snap.run("CREATE OR REPLACE TEMP TABLE milestones (idx INTEGER, event VARCHAR, n BIGINT)")
    if milestones:
        snap.con.executemany(
            "INSERT INTO milestones VALUES (?, ?, ?)",
            [[i, m.event, m.count] for i, m in enumerate(milestones)],
        )
    total = len(milestones)
    events = milestone_events_sql(milestones)
    for kind in ("user", "account", "membership"):
        keys = ", ".join(KEYS[kind])
        # Completion = timestamp of the count-th occurrence (by time, then messageId).
        snap.run(
            f"""
            CREATE OR REPLACE TEMP TABLE ms_reached_{kind} AS
            SELECT {keys}, m.idx, o.ts
            FROM ({milestone_occurrences_sql(kind, events)}) o
            JOIN milestones m ON o.event = m.event AND o.n = m.n
            """
        )
        snap.run(
            f"""
            CREATE OR REPLACE TEMP TABLE ms_{kind} AS
            SELECT {keys}, count(*) AS steps,
                   CASE WHEN count(*) = {total} THEN max(ts) END AS activated_at
            FROM ms_reached_{kind} GROUP BY {keys}
            """
        )


def _first_seen(snap: Snapshot) -> None:
    """Earliest own message (events included) per entity: fs_<kind>."""
    snap.run(
        """
        CREATE OR REPLACE TEMP TABLE fs_user AS
        SELECT user_id, min(ts) AS first_message_at FROM (
            SELECT user_id, ts FROM msg WHERE user_id IS NOT NULL
            UNION ALL SELECT user_id, first_ts FROM ev_all)
        GROUP BY user_id
        """
    )
    snap.run(
        """
        CREATE OR REPLACE TEMP TABLE fs_account AS
        SELECT account_id, min(ts) AS first_message_at FROM (
            SELECT account_id, ts FROM msg WHERE kind = 'group'
            UNION ALL SELECT account_id, first_ts FROM ev_all WHERE account_id IS NOT NULL)
        GROUP BY account_id
        """
    )
    snap.run(
        """
        CREATE OR REPLACE TEMP TABLE fs_membership AS
        SELECT user_id, account_id, min(ts) AS first_message_at FROM (
            SELECT user_id, account_id, ts FROM msg WHERE kind = 'group' AND user_id IS NOT NULL
            UNION ALL SELECT user_id, account_id, first_ts FROM ev_all
                WHERE account_id IS NOT NULL)
        GROUP BY user_id, account_id
        """
    )
