"""Per-day aggregates of the stored track messages, kept up to date as messages arrive.

The store's `track_days` table holds one row per key (userId, anonymousId when there is
no userId, accountId, event, UTC day) of the deduplicated raw track messages (tracks,
pages, screens): the count, the first and last event time, and, for the events that
activation milestones count, the first events of the key (time, messageId; at most the
largest milestone count). It has the shape of the `rollups` table, so scoring reads it
the same way (population.py), and its size follows keys x days, not events.

- `fold_new_tracks` folds a run's new messages in, in the transaction that stores them
  (messages re-delivered were not stored, so they are not counted twice);
- `track_days_for` hands scoring a table that keeps what the settings need, building
  it from the stored messages when the store has none (a store of an older version) or
  keeps too few first events (the milestones changed): the meta key `track_days` says
  what the stored table keeps.

Anonymous keys stay keyed by anonymousId: a later identify or alias links them at
compute time, and roll-ups that replace a key's raw tracks are applied then too.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

import orjson

from plg_transform.sql_text import literal

if t.TYPE_CHECKING:
    import duckdb

    from plg_transform.settings import Milestone

META_KEY = "track_days"  # meta: JSON of the FirstEvents the stored table keeps
VERSION = 1
TABLE = "track_days"
_TEMP_TABLE = "track_days_built"  # built for one read-only computation
_FIRST_EVENT = "STRUCT(ts TIMESTAMP, id VARCHAR)"
_KEY = ("user_id", "anonymous_id", "account_id", "event", "day")


@dataclass(frozen=True)
class FirstEvents:
    """Which events keep their first events (time, messageId) per key, and how many."""

    events: tuple[str, ...]  # sorted
    count: int

    def covers(self, need: FirstEvents) -> bool:
        """True when the kept lists serve every milestone of `need`."""
        if not need.events:
            return True
        return set(need.events) <= set(self.events) and need.count <= self.count

    def as_meta(self) -> str:
        """The meta value recording what a built table keeps."""
        return orjson.dumps(
            {"version": VERSION, "events": list(self.events), "count": self.count}
        ).decode()

    @classmethod
    def from_meta(cls, value: str | None) -> FirstEvents | None:
        """What a stored table keeps; None when the store has no table of this version."""
        if value is None:
            return None
        found = orjson.loads(value)
        if not isinstance(found, dict) or found.get("version") != VERSION:
            return None
        return cls(tuple(found["events"]), int(found["count"]))


def first_events_needed(milestones: t.Sequence[Milestone]) -> FirstEvents:
    """The first events a milestone's count-th occurrence can be found among."""
    if not milestones:
        return FirstEvents((), 0)
    events = tuple(sorted({m.event for m in milestones}))
    return FirstEvents(events, max(m.count for m in milestones))


def _kept(con: duckdb.DuckDBPyConnection) -> FirstEvents | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", [META_KEY]).fetchone()
    if row is None:
        return None
    found = FirstEvents.from_meta(str(row[0]))
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary", [TABLE]
    ).fetchone()
    return found if exists and exists[0] else None


_KEY_SQL = (
    "user_id, CASE WHEN user_id IS NULL THEN anonymous_id END AS anonymous_id, account_id, "
    "event, CAST(ts AS DATE) AS day"
)
FIRSTS_PER_PART = 250_000  # milestone-event messages whose first-event lists are built at once


def _aggregate(
    con: duckdb.DuckDBPyConnection, into: str, keep: FirstEvents, since_seq: int
) -> None:
    """TEMP table `into`: the track_days rows of the track messages numbered since_seq on.

    Counts and times come from one hash aggregate (which spills to disk). The first
    events, the K smallest (time, messageId) pairs of a key (the order in which
    milestones count occurrences), are only kept for the milestones' events, and are
    gathered in hash partitions of the keys so that the K-item states held in memory at
    once stay few whatever the number of messages.
    """
    tracks = f"FROM messages WHERE kind = 'track' AND seq >= {int(since_seq)}"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE track_day_counts AS
        SELECT {_KEY_SQL}, count(*) AS n, min(ts) AS first_at, max(ts) AS last_at
        {tracks} GROUP BY ALL
        """
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE track_day_firsts (user_id VARCHAR, anonymous_id VARCHAR,"
        f" account_id VARCHAR, event VARCHAR, day DATE, first_events {_FIRST_EVENT}[])"
    )
    if keep.events and keep.count > 0:
        listed = f"{tracks} AND event IN ({', '.join(literal(e) for e in keep.events)})"
        row = con.execute(f"SELECT count(*) {listed}").fetchone()
        parts = 1 + (int(row[0]) if row else 0) // FIRSTS_PER_PART
        part_of_key = "hash(coalesce(user_id, anonymous_id), account_id, event)"
        for part in range(parts):
            con.execute(
                f"""
                INSERT INTO track_day_firsts
                SELECT {_KEY_SQL},
                       list_sort(min({{'ts': ts, 'id': message_id}}, {int(keep.count)}))
                {listed} AND {part_of_key} % {parts} = {part}
                GROUP BY ALL
                """
            )
    matches = " AND ".join(f"c.{k} IS NOT DISTINCT FROM f.{k}" for k in _KEY)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {into} AS
        SELECT c.*, f.first_events FROM track_day_counts c
        LEFT JOIN track_day_firsts f ON {matches}
        """
    )
    con.execute("DROP TABLE track_day_counts; DROP TABLE track_day_firsts")


def _build(con: duckdb.DuckDBPyConnection, table: str, keep: FirstEvents, temp: bool) -> None:
    """Create `table` from every stored track message."""
    if temp:
        _aggregate(con, table, keep, 0)
        return
    _aggregate(con, "track_days_new", keep, 0)
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM track_days_new")
    con.execute("DROP TABLE track_days_new")


def _read_only(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return bool(row and row[0])


def track_days_for(con: duckdb.DuckDBPyConnection, need: FirstEvents) -> str:
    """The name of a track_days table keeping what `need` asks, built if needed.

    A writable store gets its table (re)built and remembered; a read-only one (explain)
    gets a TEMP table for this computation.
    """
    kept = _kept(con)
    if kept is not None and kept.covers(need):
        return TABLE
    if _read_only(con):
        _build(con, _TEMP_TABLE, need, temp=True)
        return _TEMP_TABLE
    con.execute("BEGIN TRANSACTION")
    _build(con, TABLE, need, temp=False)
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [META_KEY, need.as_meta()])
    con.execute("COMMIT")
    return TABLE


def folded_sql(old: str, new: str, count: int) -> dict[str, str]:
    """SQL by column of a key's row `old` with its new aggregates `new` folded in.

    `old` and `new` are table aliases; `old`'s columns may all be NULL (a new key).
    The dbt package's incremental `plg_track_days` merges with the same SQL.
    """
    return {
        "n": f"coalesce({old}.n, 0) + {new}.n",
        "first_at": f"least({old}.first_at, {new}.first_at)",
        "last_at": f"greatest({old}.last_at, {new}.last_at)",
        "first_events": f"""CASE
                WHEN {old}.first_events IS NULL THEN {new}.first_events
                WHEN {new}.first_events IS NULL THEN {old}.first_events
                ELSE list_sort(list_concat({old}.first_events, {new}.first_events))[1:{int(count)}]
                END""",
    }


def fold_new_tracks(con: duckdb.DuckDBPyConnection, since_seq: int) -> int:
    """Fold the track messages stored from `since_seq` on into track_days.

    Runs inside the caller's transaction. A store without a table of this version is
    left alone: `track_days_for` builds it from every stored message. Returns the
    number of keys touched.
    """
    keep = _kept(con)
    if keep is None:
        return 0
    _aggregate(con, "new_track_days", keep, since_seq)
    matches = " AND ".join(f"d.{k} IS NOT DISTINCT FROM i.{k}" for k in _KEY)
    merged = ", ".join(f"{c} = {sql}" for c, sql in folded_sql("d", "i", keep.count).items())
    con.execute(f"UPDATE {TABLE} d SET {merged} FROM new_track_days i WHERE {matches}")
    con.execute(
        f"""
        INSERT INTO {TABLE} SELECT * FROM new_track_days i
        WHERE NOT EXISTS (SELECT 1 FROM {TABLE} d WHERE {matches})
        """
    )
    row = con.execute("SELECT count(*) FROM new_track_days").fetchone()
    con.execute("DROP TABLE new_track_days")
    return int(row[0]) if row else 0
