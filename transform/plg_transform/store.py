"""The DuckDB store: every deduplicated message, trait and backend metric observation.

Everything is recomputed from the store at the end of each run, which is what makes
k incremental runs give exactly the records of one full run; scoring reads the track
messages through per-day aggregates folded in as they are stored (store_aggregates.py).
Rows arrive in bulk: buffers are written as NDJSON chunks and loaded with `read_json`,
then merged into the permanent tables once per run (first delivered copy of a messageId
wins).

Memory is bounded by the `store_memory_limit` setting, not by the number of events:
DuckDB keeps staged rows and intermediate tables in its buffer pool and writes them to
`<store>.tmp` when the pool is full; every large query of the run is of a kind DuckDB
can run out of core (hash aggregates and joins, sorts, partitioned windows).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import duckdb
import orjson

from plg_transform.store_aggregates import fold_new_tracks

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS messages (
    seq BIGINT, message_id VARCHAR, kind VARCHAR, user_id VARCHAR, anonymous_id VARCHAR,
    account_id VARCHAR, event VARCHAR, ts TIMESTAMP);
CREATE TABLE IF NOT EXISTS traits (
    seq BIGINT, key VARCHAR, value JSON, text VARCHAR, valid BOOLEAN, instant TIMESTAMP);
CREATE TABLE IF NOT EXISTS observations (
    seq BIGINT, entity VARCHAR, user_id VARCHAR, account_id VARCHAR, metric VARCHAR,
    value JSON, observed_at TIMESTAMP);
"""

# Staging lives in TEMP tables (memory, spilling to disk): a failed run leaves nothing.
_STAGING = """
DROP TABLE IF EXISTS main.incoming_messages;
DROP TABLE IF EXISTS main.incoming_traits;
DROP TABLE IF EXISTS main.incoming_observations;
DROP TABLE IF EXISTS incoming_messages;
DROP TABLE IF EXISTS incoming_traits;
DROP TABLE IF EXISTS incoming_observations;
CREATE TEMP TABLE incoming_messages AS SELECT * FROM messages LIMIT 0;
CREATE TEMP TABLE incoming_traits AS SELECT * FROM traits LIMIT 0;
CREATE TEMP TABLE incoming_observations AS SELECT * FROM observations LIMIT 0;
"""

# Chunks are written column by column (one JSON object of arrays), which is far cheaper
# to produce in Python than one object per row; DuckDB zips the arrays back with unnest.
_CHUNK_COLUMNS = {
    "messages": [
        ("seq", "BIGINT"),
        ("id", "VARCHAR"),
        ("k", "VARCHAR"),
        ("u", "VARCHAR"),
        ("a", "VARCHAR"),
        ("g", "VARCHAR"),
        ("e", "VARCHAR"),
        ("ts", "BIGINT"),
    ],
    "traits": [
        ("seq", "BIGINT"),
        ("key", "VARCHAR"),
        ("v", "VARCHAR"),
        ("s", "VARCHAR"),
        ("ok", "BOOLEAN"),
        ("inst", "BIGINT"),
    ],
    "observations": [
        ("seq", "BIGINT"),
        ("ent", "VARCHAR"),
        ("u", "VARCHAR"),
        ("g", "VARCHAR"),
        ("m", "VARCHAR"),
        ("v", "VARCHAR"),
        ("ts", "BIGINT"),
    ],
}
_CHUNK_SELECT = {
    "messages": "seq + $base, id, k, u, a, g, e, make_timestamp(ts)",
    "traits": "seq + $base, key, v::JSON, s, ok, make_timestamp(inst)",
    "observations": "seq + $base, ent, u, g, m, v::JSON, make_timestamp(ts)",
}


def _chunk_sql(table: str) -> str:
    cols = _CHUNK_COLUMNS[table]
    spec = ", ".join(f"{name}: '{sql}[]'" for name, sql in cols)
    unnest = ", ".join(f"unnest({name}) AS {name}" for name, _ in cols)
    return f"""
        INSERT INTO incoming_{table} SELECT {_CHUNK_SELECT[table]} FROM (
            SELECT {unnest} FROM read_json($path, format='unstructured',
                maximum_object_size=$object_bytes, columns={{{spec}}}))"""


def object_bytes(longest: bytes | int) -> int:
    """read_json's maximum_object_size for a file whose longest JSON text is `longest`.

    DuckDB reads JSON through buffers of twice this size, taken from the store's memory
    limit, so it must follow the data rather than be "unlimited" (2 GB would ask 4 GB).
    """
    size = longest if isinstance(longest, int) else len(longest)
    return max(size + 1, 1 << 20)


class StoreMemoryError(Exception):
    """DuckDB needed more memory than `store_memory_limit` allows and could not spill."""


class StoreLostError(Exception):
    """The pipeline resumes from a bookmark written with another store than this one."""


class StoreUnavailableError(Exception):
    """The store cannot be read: missing, in use by a run, or not a store."""


LAST_RUN_AS_OF = "last_run_as_of_us"  # meta key: the as_of (epoch us) of the last run


def open_read_only(path: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """A read-only connection to an existing store (TEMP tables allowed, nothing written).

    Raises:
        StoreUnavailableError: naming the store and what to do.
    """
    if not path.is_file():
        raise StoreUnavailableError(
            f"no store at {path} (store_path): run the pipeline first, with the same config"
        )
    try:
        con = duckdb.connect(str(path), read_only=True, config={"memory_limit": memory_limit})
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreUnavailableError(
                f"the store at {path} is in use by a running plg-transform; "
                "try again when that run has ended"
            ) from exc
        raise StoreUnavailableError(f"cannot open the store at {path}: {exc}") from exc
    except duckdb.Error as exc:
        raise StoreUnavailableError(f"{path} is not a plg-transform store: {exc}") from exc
    con.execute("SET TimeZone = 'UTC'")
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if not {"meta", "messages", "traits", "observations"} <= tables:
        con.close()
        raise StoreUnavailableError(f"{path} is not a plg-transform store")
    return con


def last_run_as_of(con: duckdb.DuckDBPyConnection) -> int | None:
    """The as_of (epoch microseconds) of the last run that computed scores on this store."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", [LAST_RUN_AS_OF]).fetchone()
    return None if row is None else int(row[0])


class Store:
    """A DuckDB file holding everything later runs need."""

    def __init__(self, path: Path, memory_limit: str) -> None:
        self.path = path
        self.memory_limit = memory_limit
        path.parent.mkdir(parents=True, exist_ok=True)
        self.is_new = not path.exists()
        # Beyond memory_limit DuckDB spills to <store>.tmp (its default temp_directory).
        self.con = duckdb.connect(str(path), config={"memory_limit": memory_limit})
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(_SCHEMA)
        self.con.execute(_STAGING)
        if self.get_meta("store_id") is None:
            self.set_meta("store_id", uuid.uuid4().hex)
        # Arrival sequence continues across runs so "first delivered wins" holds.
        row = self.con.execute(
            "SELECT greatest((SELECT max(seq) FROM messages), (SELECT max(seq) FROM observations))"
        ).fetchone()
        self.base_seq = (row[0] if row and row[0] is not None else -1) + 1
        self._chunk_dir = Path(tempfile.mkdtemp(prefix="plg-chunks-", dir=path.parent))

    @property
    def store_id(self) -> str:
        """Random id of this store, fixed at creation."""
        return str(self.get_meta("store_id"))

    def get_meta(self, key: str) -> str | None:
        """A value remembered in the store."""
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Remember a value in the store."""
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def remember_run(self, as_of_us: int) -> None:
        """Note the as_of of this run, which `plg-transform explain` explains by default."""
        self.set_meta(LAST_RUN_AS_OF, str(int(as_of_us)))

    def check_resumes_from(self, state_store_id: str) -> None:
        """Stop when the tap's state was written by a run on another store.

        A bookmark means the tap will only send what is new; scoring that on a new or
        foreign store would silently drop the history the bookmark skips.
        """
        if state_store_id == self.store_id:
            return
        if self.is_new:
            found = "was just created (the file did not exist)"
        else:
            found = f"is a different store (id {self.store_id})"
        raise StoreLostError(
            f"The pipeline's state says the tap resumes from a bookmark written while "
            f"plg-transform used store {state_store_id}, but the store at {self.path} "
            f"{found}. Scoring now would use only the events after the bookmark. Fix: "
            f"run `meltano run --full-refresh <your job or blocks>` to re-read the whole "
            f"history into this store (the tap then starts without state), or restore "
            f"the original store file at {self.path}."
        )

    def out_of_memory(self, cause: Exception) -> StoreMemoryError:
        """The error to stop with when DuckDB ran out of the store's memory limit."""
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else repr(cause)
        return StoreMemoryError(
            f"store_memory_limit: DuckDB needed more than {self.memory_limit} for the store "
            f"at {self.path} ({first}). Raise store_memory_limit, or give DuckDB's spill "
            f"folder {self.path}.tmp more disk space."
        )

    def chunk_path(self, name: str) -> Path:
        """A scratch file for bulk loads, in this store's private temporary folder."""
        return self._chunk_dir / name

    def stage_fast_rows(self, rows_sql: str, params: dict) -> tuple[int, list[tuple]]:
        """Stage the `fast` rows of `rows_sql` (see message_rows.fast_rows_sql).

        Returns the number of rows read and (seq, record) of the rows left to Python.
        """
        con = self.con
        con.execute(f"CREATE OR REPLACE TEMP TABLE staged_rows AS {rows_sql}", params)
        con.execute(
            """
            INSERT INTO incoming_messages
            SELECT seq + $base, message_id, 'track', user_id, anonymous_id, account_id, event,
                make_timestamp(ts_us)
            FROM staged_rows WHERE fast
            """,
            {"base": self.base_seq},
        )
        row = con.execute("SELECT count(*) FROM staged_rows").fetchone()
        record = "record" if "record" in self._columns("staged_rows") else "NULL"
        slow = con.execute(
            f"SELECT seq, {record} FROM staged_rows WHERE NOT fast ORDER BY seq"
        ).fetchall()
        con.execute("DROP TABLE staged_rows")
        return (int(row[0]) if row else 0), slow

    def count_rows(self, rows_sql: str, params: dict) -> int:
        """Number of rows of a query (e.g. the records of a BATCH file)."""
        row = self.con.execute(f"SELECT count(*) FROM ({rows_sql})", params).fetchone()
        return int(row[0]) if row else 0

    def query_rows(self, rows_sql: str, params: dict) -> list[tuple]:
        """All rows of a query, in its order."""
        return self.con.execute(rows_sql, params).fetchall()

    def _columns(self, table: str) -> list[str]:
        return [r[0] for r in self.con.execute(f"DESCRIBE {table}").fetchall()]

    def discard(self) -> None:
        """Close and delete a store this run created (nothing of it is worth keeping)."""
        self.close()
        for leftover in (self.path, self.path.with_name(self.path.name + ".wal")):
            leftover.unlink(missing_ok=True)

    def has_history(self) -> bool:
        """True when earlier runs stored messages or metrics."""
        row = self.con.execute(
            "SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM observations)"
        ).fetchone()
        return bool(row and row[0])

    def append(self, table: str, rows: list[tuple]) -> None:
        """Bulk-load buffered rows into the run's staging table `incoming_<table>`."""
        if not rows:
            return
        names = [name for name, _ in _CHUNK_COLUMNS[table]]
        columns = dict(zip(names, map(list, zip(*rows, strict=True)), strict=True))
        chunk = self._chunk_dir / f"{table}.json"
        text = orjson.dumps(columns)
        chunk.write_bytes(text)
        self.con.execute(
            _chunk_sql(table),
            {"path": str(chunk), "base": self.base_seq, "object_bytes": object_bytes(text)},
        )

    def merge_incoming(self) -> dict[str, int]:
        """Move the run's staged rows into the store, skipping ids seen before.

        Returns counts of received and new messages and observations.
        """
        con = self.con
        # Ingest is over: from here on every query that needs an order says so (ORDER BY,
        # or seq), and not keeping the order of unordered results saves memory.
        con.execute("SET preserve_insertion_order = false")
        con.execute("BEGIN TRANSACTION")
        received = con.execute("SELECT count(*) FROM incoming_messages").fetchone()
        # The first delivered copy of each id: min(seq) by a hash aggregate, which spills
        # to disk cheaply, rather than a window over every staged message.
        con.execute(
            """
            INSERT INTO messages
            SELECT * FROM incoming_messages i
            WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.message_id = i.message_id)
              AND i.seq IN (SELECT min(seq) FROM incoming_messages GROUP BY message_id)
            """
        )
        con.execute(
            """
            INSERT INTO traits
            SELECT t.* FROM incoming_traits t
            WHERE t.seq IN (SELECT seq FROM messages WHERE seq >= $base)
            """,
            {"base": self.base_seq},
        )
        new = con.execute(
            "SELECT count(*) FROM messages WHERE seq >= $base", {"base": self.base_seq}
        ).fetchone()
        fold_new_tracks(con, self.base_seq)  # the per-day aggregates scoring reads
        obs_received = con.execute("SELECT count(*) FROM incoming_observations").fetchone()
        con.execute(
            """
            INSERT INTO observations
            SELECT * FROM incoming_observations i
            WHERE NOT EXISTS (
                SELECT 1 FROM observations o
                WHERE o.entity = i.entity AND o.metric = i.metric
                  AND o.observed_at = i.observed_at
                  AND o.user_id IS NOT DISTINCT FROM i.user_id
                  AND o.account_id IS NOT DISTINCT FROM i.account_id)
            QUALIFY row_number() OVER (
                PARTITION BY entity, user_id, account_id, metric, observed_at ORDER BY seq) = 1
            """
        )
        obs_new = con.execute(
            "SELECT count(*) FROM observations WHERE seq >= $base", {"base": self.base_seq}
        ).fetchone()
        con.execute(_STAGING)
        con.execute("COMMIT")
        return {
            "messages_received": int(received[0]) if received else 0,
            "messages_new": int(new[0]) if new else 0,
            "observations_received": int(obs_received[0]) if obs_received else 0,
            "observations_new": int(obs_new[0]) if obs_new else 0,
        }

    def close(self) -> None:
        """Drop the staging tables and close the file."""
        try:
            self.con.execute(
                "DROP TABLE IF EXISTS incoming_messages; DROP TABLE IF EXISTS incoming_traits;"
                "DROP TABLE IF EXISTS incoming_observations;"
            )
            self.con.execute("CHECKPOINT")
        finally:
            self.con.close()
            for leftover in self._chunk_dir.glob("*"):
                leftover.unlink()
            os.rmdir(self._chunk_dir)
