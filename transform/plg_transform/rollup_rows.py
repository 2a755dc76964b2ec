"""Daily roll-ups in: `daily_rollups` records read, staged and merged into the store.

A `daily_rollups` record (docs/pipeline-contract.md) is a complete recount of one key
(userId, anonymousId, accountId, event, day): the latest delivered roll-up of a key
replaces earlier ones (`RollupRows.merge`), and raw track/page/screen messages of that
key no longer count (`rollup_events.py` reads them as of T).
"""

from __future__ import annotations

import os
import tempfile
import typing as t
from datetime import date
from pathlib import Path

import duckdb
import orjson

from plg_transform.bad_input import BadInput
from plg_transform.message_rows import as_id
from plg_transform.store import object_bytes
from plg_transform.timestamps import DAY_US, parse_instant

ROLLUP_STREAM = "daily_rollups"
FLUSH_EVERY = 20_000
_EPOCH_DAY = date(1970, 1, 1).toordinal()

_TABLE = """
CREATE TABLE IF NOT EXISTS rollups (
    seq BIGINT, user_id VARCHAR, anonymous_id VARCHAR, account_id VARCHAR, event VARCHAR,
    day DATE, n BIGINT, first_at TIMESTAMP, last_at TIMESTAMP,
    first_ats TIMESTAMP[], first_ids VARCHAR[]);
"""
_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS incoming_rollups AS SELECT * FROM rollups LIMIT 0;
"""
_COLUMNS = [
    ("seq", "BIGINT"),
    ("u", "VARCHAR"),
    ("a", "VARCHAR"),
    ("g", "VARCHAR"),
    ("e", "VARCHAR"),
    ("d", "BIGINT"),
    ("n", "BIGINT"),
    ("f", "BIGINT"),
    ("l", "BIGINT"),
    ("fa", "BIGINT[]"),
    ("fi", "VARCHAR[]"),
]
_LOAD = """
INSERT INTO incoming_rollups
SELECT seq, u, a, g, e, DATE '1970-01-01' + CAST(d AS INTEGER), n, make_timestamp(f),
       make_timestamp(l), list_transform(fa, lambda x: make_timestamp(x)), fi
FROM (SELECT {unnest} FROM read_json($path, format='unstructured',
      maximum_object_size=$object_bytes, columns={{{spec}}}))
""".format(
    unnest=", ".join(f"unnest({name}) AS {name}" for name, _ in _COLUMNS),
    spec=", ".join(f"{name}: '{sql}[]'" for name, sql in _COLUMNS),
)
_KEY = ("user_id", "anonymous_id", "account_id", "event", "day")


def create_rollup_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create the store's `rollups` table if this store has none yet.

    A store opened read-only (`plg-transform explain`) that has none gets an empty TEMP
    one: nothing may be written to it, and no roll-up was ever stored there.
    """
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'rollups'"
    ).fetchone()
    if found and found[0]:
        return
    read_only = con.execute(
        "SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    con.execute(
        _TABLE.replace("CREATE TABLE", "CREATE TEMP TABLE")
        if read_only and read_only[0]
        else _TABLE
    )


class _BadRollupError(ValueError):
    """A roll-up row that cannot be read; its message says which field is wrong."""


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _BadRollupError(f"count {value!r} is not an integer")
    if isinstance(value, float) and not value.is_integer():
        raise _BadRollupError(f"count {value!r} is not an integer")
    if value < 0:
        raise _BadRollupError(f"count {value!r} is negative")
    return int(value)


def _day(value: object) -> int:
    if not isinstance(value, str):
        raise _BadRollupError(f"day {value!r} is not a YYYY-MM-DD date")
    try:
        return date.fromisoformat(value.strip()).toordinal() - _EPOCH_DAY
    except ValueError:
        raise _BadRollupError(f"day {value!r} is not a YYYY-MM-DD date") from None


def _first_events(value: object) -> tuple[list[int], list[str]]:
    if value is None:
        return [], []
    if not isinstance(value, list):
        raise _BadRollupError("first_events is not a list")
    pairs = []
    for item in value:
        at = parse_instant(item.get("at")) if isinstance(item, dict) else None
        mid = as_id(item.get("messageId")) if isinstance(item, dict) else None
        if at is None or mid is None:
            raise _BadRollupError(f"first_events item {item!r:.80} lacks a valid at or messageId")
        pairs.append((at, mid))
    pairs.sort()
    return [p[0] for p in pairs], [p[1] for p in pairs]


def read_rollup(record: dict) -> tuple:
    """The store row of one `daily_rollups` record (without seq).

    Raises:
        _BadRollupError: naming the field that is missing or wrong.
    """
    user_id = as_id(record.get("userId"))
    anonymous_id = None if user_id is not None else as_id(record.get("anonymousId"))
    if user_id is None and anonymous_id is None:
        raise _BadRollupError("neither userId nor anonymousId")
    event = record.get("event")
    if not isinstance(event, str) or not event:
        raise _BadRollupError("no event name")
    day = _day(record.get("day"))
    count = _count(record.get("count"))
    ats, ids = _first_events(record.get("first_events"))
    if len(ats) > count:
        raise _BadRollupError(f"{len(ats)} first_events but count {count}")
    times = {}
    for key in ("first_at", "last_at"):
        given = record.get(key)
        times[key] = parse_instant(given) if given is not None else None
        if given is not None and times[key] is None:
            raise _BadRollupError(f"{key} {given!r} is not ISO 8601")
    # The tap always sends both; other sources may not: derive them from first_events,
    # else the day's midnight.
    first_at = times["first_at"]
    if first_at is None:
        first_at = ats[0] if ats else day * DAY_US
    last_at = times["last_at"]
    if last_at is None:
        last_at = ats[-1] if ats and len(ats) == count else first_at
    if first_at > last_at:
        raise _BadRollupError("first_at is after last_at")
    if (
        first_at // DAY_US != day
        or last_at // DAY_US != day
        or any(a // DAY_US != day for a in ats)
    ):
        raise _BadRollupError("event times are not on the roll-up's day")
    account_id = as_id(record.get("accountId"))
    return (user_id, anonymous_id, account_id, event, day, count, first_at, last_at, ats, ids)


class RollupRows:
    """Buffers `daily_rollups` records and loads them into the store once per run."""

    def __init__(
        self, bad: BadInput, connection: t.Callable[[], duckdb.DuckDBPyConnection]
    ) -> None:
        self._bad = bad
        self._connection = connection
        self._rows: list[tuple] = []
        self._next_seq = 0

    def add(self, record: object) -> None:
        """Read one record; a bad one is counted (`bad_rollup`) and skipped."""
        if not isinstance(record, dict):
            self._bad.add("bad_rollup", f"record {record!r:.60}")
            return
        try:
            row = read_rollup(record)
        except _BadRollupError as exc:
            key = "/".join(str(record.get(k)) for k in ("userId", "anonymousId", "accountId"))
            self._bad.add("bad_rollup", f"{key}/{record.get('event')}@{record.get('day')}: {exc}")
            return
        self._rows.append((self._next_seq, *row))
        self._next_seq += 1
        if len(self._rows) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Load the buffered rows into the run's staging table."""
        if not self._rows:
            return
        con = self._connection()
        create_rollup_table(con)
        con.execute(_STAGING)
        names = [name for name, _ in _COLUMNS]
        columns = dict(zip(names, map(list, zip(*self._rows, strict=True)), strict=True))
        handle, path = tempfile.mkstemp(prefix="plg-rollups-", suffix=".json")
        try:
            text = orjson.dumps(columns)
            with os.fdopen(handle, "wb") as chunk:
                chunk.write(text)
            con.execute(_LOAD, {"path": path, "object_bytes": object_bytes(text)})
        finally:
            Path(path).unlink(missing_ok=True)
        self._rows = []

    def merge(self) -> dict[str, int]:
        """Replace stored roll-ups by this run's, key by key (latest delivered wins).

        Returns counts of received rows and of distinct keys replaced or added.
        """
        self.flush()
        if self._next_seq == 0:
            return {"rollups_received": 0, "rollup_keys": 0}
        con = self._connection()
        matches = " AND ".join(f"r.{k} IS NOT DISTINCT FROM i.{k}" for k in _KEY)
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE latest_rollups AS SELECT * FROM incoming_rollups "
            f"QUALIFY row_number() OVER (PARTITION BY {', '.join(_KEY)} ORDER BY seq DESC) = 1"
        )
        con.execute(
            f"DELETE FROM rollups r WHERE EXISTS (SELECT 1 FROM latest_rollups i WHERE {matches})"
        )
        base = con.execute("SELECT coalesce(max(seq), -1) + 1 FROM rollups").fetchone()
        con.execute(
            "INSERT INTO rollups SELECT * REPLACE (seq + $base AS seq) FROM latest_rollups",
            {"base": base[0] if base else 0},
        )
        keys = con.execute("SELECT count(*) FROM latest_rollups").fetchone()
        con.execute("DROP TABLE latest_rollups; DROP TABLE incoming_rollups")
        con.execute("COMMIT")
        received, self._next_seq = self._next_seq, 0
        return {"rollups_received": received, "rollup_keys": int(keys[0]) if keys else 0}
