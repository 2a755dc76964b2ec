"""Track messages as of T, read through the store's per-day aggregates (store_aggregates.py).

At compute time the `track_days` table becomes

- `tracks`: the aggregate rows with an event at or before T whose key no roll-up
  replaces, stitched through the links (rows of anonymous ids never linked are left
  out: their events count for nobody);
- `tracks_straddling`: the raw events up to T of the few rows that also have events
  after T, read back from the stored messages;
- `tracks_day`: per row, the (stitched) user, account, event, day, count and first and
  last event time that count as of T;
- `ev_first`: the first events (time, messageId) up to T of each row of a milestone's
  event, among which activation milestones find their count-th occurrence.
"""

from __future__ import annotations

from plg_transform.rollup_events import replaced_by_rollup
from plg_transform.snapshot import Snapshot


def build_track_events(snap: Snapshot, track_days: str) -> None:
    """Create tracks, tracks_straddling, tracks_day and ev_first from `track_days`."""
    t_sql = snap.as_of_sql
    snap.run(
        f"""
        CREATE OR REPLACE TEMP TABLE tracks AS
        SELECT d.user_id AS own_user_id, coalesce(d.user_id, l.user_id) AS user_id,
               d.anonymous_id, d.account_id, d.event, d.day, d.n, d.first_at, d.last_at,
               d.first_events
        FROM {track_days} d
        LEFT JOIN links l ON d.user_id IS NULL AND l.anonymous_id = d.anonymous_id
        WHERE d.first_at <= {t_sql} AND coalesce(d.user_id, l.user_id) IS NOT NULL
          AND NOT {replaced_by_rollup("d")}
        """
    )
    # Rows with events after T are rare (T is the run's start unless as_of says
    # otherwise): their events up to T are read back from the raw messages, whose scan
    # starts at the earliest such row (row groups wholly before it are skipped).
    # Without such rows (and when the steps are recorded on an empty store for the dbt
    # models, dbt_models.py) the start is the same bound as a subquery.
    earliest = f"SELECT min(first_at) FROM tracks WHERE last_at > {t_sql}"
    start = snap.rows(f"SELECT epoch_us(min(first_at)) FROM tracks WHERE last_at > {t_sql}")
    since = f"make_timestamp({int(start[0][0])})" if start[0][0] is not None else f"({earliest})"
    snap.run(
        f"""
        CREATE OR REPLACE TEMP TABLE tracks_straddling AS
        SELECT s.user_id, s.account_id, s.event, s.day, m.ts, m.message_id
        FROM tracks s JOIN messages m
          ON m.event = s.event AND CAST(m.ts AS DATE) = s.day
         AND m.user_id IS NOT DISTINCT FROM s.own_user_id
         AND (CASE WHEN m.user_id IS NULL THEN m.anonymous_id END)
             IS NOT DISTINCT FROM s.anonymous_id
         AND m.account_id IS NOT DISTINCT FROM s.account_id
        WHERE s.last_at > {t_sql} AND m.kind = 'track' AND m.ts <= {t_sql}
          AND m.ts >= {since}
        """
    )
    snap.run(
        f"""
        CREATE OR REPLACE TEMP TABLE tracks_day AS
        SELECT user_id, account_id, event, day, n, first_at AS first_ts, last_at AS last_ts
        FROM tracks WHERE last_at <= {t_sql}
        UNION ALL
        SELECT user_id, account_id, event, day, count(*), min(ts), max(ts)
        FROM tracks_straddling GROUP BY ALL
        """
    )
    snap.run(
        f"""
        CREATE OR REPLACE TEMP TABLE ev_first AS
        SELECT user_id, account_id, event, e.ts, e.id AS message_id FROM (
            SELECT user_id, account_id, event, unnest(first_events) AS e
            FROM tracks WHERE last_at <= {t_sql} AND first_events IS NOT NULL)
        UNION ALL
        SELECT user_id, account_id, event, ts, message_id FROM tracks_straddling
        """
    )
