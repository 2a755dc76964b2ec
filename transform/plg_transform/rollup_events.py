"""Daily roll-ups as of T: the stored roll-ups' events that count, standing in for raw tracks.

At compute time the store's `rollups` table becomes

- `ru_day`: per roll-up row, the (stitched) user, account, event, day, count and first and
  last event time that count as of T (a row whose last event is after T counts only its
  listed `first_events` up to T);
- `ru_first`: the listed first events (time, messageId) up to T, for activation
  milestones (the count-th occurrence is exact while count <= the tap's
  `rollup_first_events`).
"""

from __future__ import annotations

from plg_transform.snapshot import Snapshot


def replaced_by_rollup(key: str) -> str:
    """SQL condition on a `track_days` row alias: a roll-up of the same key replaces it.

    Raw tracks of a key (userId, anonymousId without userId, accountId, event, day) that
    has a roll-up no longer count, whenever the roll-up arrived.
    """
    return f"""EXISTS (
        SELECT 1 FROM rollups r
        WHERE r.event = {key}.event AND r.day = {key}.day
          AND r.user_id IS NOT DISTINCT FROM {key}.user_id
          AND r.anonymous_id IS NOT DISTINCT FROM {key}.anonymous_id
          AND r.account_id IS NOT DISTINCT FROM {key}.account_id)"""


def build_rollup_events(snap: Snapshot) -> None:
    """Create ru_first and ru_day: the roll-ups' events as of T, stitched through links."""
    t_sql = snap.as_of_sql
    snap.run(
        """
        CREATE OR REPLACE TEMP TABLE ru AS
        SELECT r.seq, r.user_id AS own_user_id, coalesce(r.user_id, l.user_id) AS user_id,
               r.account_id, r.event, r.day, r.n, r.first_at, r.last_at, r.first_ats, r.first_ids
        FROM rollups r
        LEFT JOIN links l ON r.user_id IS NULL AND l.anonymous_id = r.anonymous_id
        """
    )
    snap.run(
        f"""
        CREATE OR REPLACE TEMP TABLE ru_first AS
        SELECT * FROM (
            SELECT seq, user_id, account_id, event, day,
                   unnest(first_ats) AS ts, unnest(first_ids) AS message_id
            FROM ru WHERE first_at <= {t_sql})
        WHERE ts <= {t_sql}
        """
    )
    # Rows wholly at or before T count in full; a row straddling T counts the listed
    # events up to T (all of them when the row lists every event).
    snap.run(
        f"""
        CREATE OR REPLACE TEMP TABLE ru_day AS
        SELECT own_user_id, user_id, account_id, event, day, n, first_at AS first_ts,
               last_at AS last_ts
        FROM ru WHERE last_at <= {t_sql} AND n > 0
        UNION ALL
        SELECT any_value(r.own_user_id), any_value(r.user_id), any_value(r.account_id),
               any_value(r.event), any_value(r.day), count(*), min(f.ts), max(f.ts)
        FROM ru r JOIN ru_first f USING (seq)
        WHERE r.last_at > {t_sql}
        GROUP BY r.seq
        """
    )
