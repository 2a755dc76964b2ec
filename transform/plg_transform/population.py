"""Who exists as of T: stitched events, users, accounts, memberships, merged traits, metrics.

Each function creates TEMP tables in the store's connection; later families read them.
"""

from __future__ import annotations

from plg_transform.rollup_events import build_rollup_events
from plg_transform.rollup_rows import create_rollup_table
from plg_transform.snapshot import Snapshot
from plg_transform.sql_text import ident, literal, string_list
from plg_transform.store_aggregates import first_events_needed, track_days_for
from plg_transform.track_events import build_track_events


def build_population(snap: Snapshot) -> None:
    """Create msg, links, weights, ev_day, ev_all, ev_first, users, accounts, memberships.

    `msg` holds the messages other than tracks as of T, one row each; tracks are read
    through the store's per-day aggregates (track_events.py). `ev_day` holds every
    counted event, raw or rolled up, as (user, account, event, day) counts with their
    first and last time (several rows may share a (user, account, event, day)); `ev_all`
    the same per (user, account, event) over all days.
    """
    s = snap.settings
    create_rollup_table(snap.con)
    track_days = track_days_for(snap.con, first_events_needed(s.milestones))
    snap.run(
        f"""
        CREATE OR REPLACE TEMP TABLE msg AS SELECT * FROM messages
        WHERE ts <= {snap.as_of_sql} AND kind <> 'track'
        """
    )
    # The earliest link of an anonymous id (by time, then messageId) wins.
    snap.run(
        """
        CREATE OR REPLACE TEMP TABLE links AS
        SELECT anonymous_id, user_id FROM msg
        WHERE kind IN ('identify', 'alias') AND user_id IS NOT NULL AND anonymous_id IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY anonymous_id ORDER BY ts, message_id) = 1
        """
    )
    snap.run("CREATE OR REPLACE TEMP TABLE weights (event VARCHAR, weight DOUBLE, feature VARCHAR)")
    if s.events:
        snap.con.executemany(
            "INSERT INTO weights VALUES (?, ?, ?)",
            [[name, e.weight, e.feature] for name, e in s.events.items()],
        )
    snap.con.execute(
        "CREATE OR REPLACE TEMP TABLE unlisted AS SELECT CAST(? AS DOUBLE) AS weight",
        [s.unlisted_weight],
    )
    build_track_events(snap, track_days)
    build_rollup_events(snap)
    snap.run(
        """
        CREATE OR REPLACE TEMP TABLE ev_day AS
        SELECT d.*, coalesce(w.weight, (SELECT weight FROM unlisted)) AS weight, w.feature
        FROM (
            SELECT user_id, account_id, event, day, n, first_ts, last_ts FROM tracks_day
            UNION ALL
            SELECT user_id, account_id, event, day, n, first_ts, last_ts
            FROM ru_day WHERE user_id IS NOT NULL) d
        LEFT JOIN weights w ON w.event = d.event
        """
    )
    # Per (user, account, event) over all days: what all-time numbers read.
    snap.run(
        """
        CREATE OR REPLACE TEMP TABLE ev_all AS
        SELECT user_id, account_id, event, CAST(sum(n) AS BIGINT) AS n,
               min(first_ts) AS first_ts, max(last_ts) AS last_ts
        FROM ev_day GROUP BY user_id, account_id, event
        """
    )
    snap.run(
        """
        CREATE OR REPLACE TEMP TABLE users AS
        SELECT user_id FROM msg WHERE user_id IS NOT NULL
        UNION SELECT own_user_id FROM tracks WHERE own_user_id IS NOT NULL
        UNION SELECT own_user_id FROM ru_day WHERE own_user_id IS NOT NULL
        """
    )
    snap.run(
        """
        CREATE OR REPLACE TEMP TABLE accounts AS
        SELECT account_id FROM msg WHERE kind = 'group'
        UNION SELECT account_id FROM ev_all WHERE account_id IS NOT NULL
        """
    )
    snap.run(
        """
        CREATE OR REPLACE TEMP TABLE memberships AS
        SELECT user_id, account_id FROM msg WHERE kind = 'group' AND user_id IS NOT NULL
        UNION SELECT user_id, account_id FROM ev_all WHERE account_id IS NOT NULL
        """
    )


def _trait_columns(keys: tuple[str, ...]) -> str:
    return "".join(
        f", first(value) FILTER (WHERE key = {literal(k)}) AS {ident('__json__' + k)}" for k in keys
    )


def build_traits(snap: Snapshot) -> None:
    """Merge traits key by key (latest by time, then messageId) into u_tr, a_tr, m_tr."""
    s = snap.settings
    members = string_list(s.membership_traits)
    snap.run(
        """
        CREATE OR REPLACE TEMP TABLE tv AS
        SELECT m.kind, m.user_id, m.account_id, m.ts, m.message_id,
               t.key, t.value, t.text, t.valid, t.instant
        FROM traits t JOIN msg m USING (seq)
        """
    )
    created = (
        "least(first(instant) FILTER (WHERE key = 'createdAt'),"
        " first(instant) FILTER (WHERE key = 'created_at')) AS trait_created_at"
    )
    snap.run(
        f"""
        CREATE OR REPLACE TEMP TABLE u_tr AS
        SELECT user_id,
               first(text) FILTER (WHERE key = 'email') AS email,
               first(valid) FILTER (WHERE key = 'email') AS email_valid,
               {created}
               {_trait_columns(s.user_traits)}
        FROM (SELECT * FROM tv WHERE kind = 'identify' AND user_id IS NOT NULL
              QUALIFY row_number() OVER (
                  PARTITION BY user_id, key ORDER BY ts DESC, message_id DESC) = 1)
        GROUP BY user_id
        """
    )
    snap.run(
        f"""
        CREATE OR REPLACE TEMP TABLE a_tr AS
        SELECT account_id,
               first(CASE WHEN json_type(value) = 'VARCHAR' THEN value->>'$'
                          WHEN json_type(value) = 'NULL' THEN NULL ELSE CAST(value AS VARCHAR) END)
                   FILTER (WHERE key = 'name') AS name,
               coalesce(first(text) FILTER (WHERE key = 'domain'),
                        first(text) FILTER (WHERE key = 'website')) AS domain,
               {created}
               {_trait_columns(s.account_traits)}
        FROM (SELECT * FROM tv WHERE kind = 'group' AND key NOT IN {members}
              QUALIFY row_number() OVER (
                  PARTITION BY account_id, key ORDER BY ts DESC, message_id DESC) = 1)
        GROUP BY account_id
        """
    )
    snap.run(
        f"""
        CREATE OR REPLACE TEMP TABLE m_tr AS
        SELECT user_id, account_id, {created}
               {_trait_columns(s.membership_traits)}
        FROM (SELECT * FROM tv WHERE kind = 'group' AND user_id IS NOT NULL
                AND key IN {members}
              QUALIFY row_number() OVER (
                  PARTITION BY user_id, account_id, key ORDER BY ts DESC, message_id DESC) = 1)
        GROUP BY user_id, account_id
        """
    )


def invalid_emails(snap: Snapshot) -> tuple[int, list[str]]:
    """Number of users whose merged email is not plausible, and a few of them."""
    rows = snap.rows("SELECT user_id FROM u_tr WHERE email_valid = false ORDER BY user_id")
    return len(rows), [r[0] for r in rows[:3]]


def build_metrics(snap: Snapshot) -> dict[str, list[str]]:
    """Latest observation of each backend metric per entity: tables met_<kind>.

    Returns the metric names found per entity kind (sorted).
    """
    snap.run(
        f"""
        CREATE OR REPLACE TEMP TABLE met AS
        SELECT entity, user_id, account_id, metric, value FROM observations
        WHERE observed_at <= {snap.as_of_sql}
        QUALIFY row_number() OVER (
            PARTITION BY entity, user_id, account_id, metric ORDER BY observed_at DESC, seq) = 1
        """
    )
    names: dict[str, list[str]] = {}
    keys = {"user": "user_id", "account": "account_id", "membership": "user_id, account_id"}
    for kind, key in keys.items():
        found = [
            r[0]
            for r in snap.rows(
                f"SELECT DISTINCT metric FROM met WHERE entity = {literal(kind)} ORDER BY 1"
            )
        ]
        names[kind] = found
        cols = "".join(
            f", first(value) FILTER (WHERE metric = {literal(m)}) AS {ident('__json__metric_' + m)}"
            for m in found
        )
        snap.run(
            f"""
            CREATE OR REPLACE TEMP TABLE met_{kind} AS
            SELECT {key}{cols} FROM met WHERE entity = {literal(kind)} GROUP BY {key}
            """
        )
    return names
