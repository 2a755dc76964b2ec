"""The scoring steps run on empty tables, recording every statement they execute.

`dbt_models.py` turns the recording into dbt models, so the warehouse path runs the SQL
the embedded path runs, generated from the same Python code rather than copied.

The recording database holds the store's tables, empty, except for one backend metric
observation per entity kind named `*`: `build_metrics` then writes its per-metric column
for that name, which the generator turns into one JSON object of every metric (the names
are only known from the data, which the warehouse has and the generator has not).
"""

from __future__ import annotations

import re
import tempfile
import typing as t
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from plg_transform.rollup_rows import create_rollup_table
from plg_transform.scoring import compute_scores
from plg_transform.settings import Settings
from plg_transform.snapshot import Snapshot
from plg_transform.sql_text import literal
from plg_transform.store import Store

# T while recording: a moment no real data has, replaced by the dbt var afterwards.
SENTINEL_AS_OF = datetime(2999, 12, 31, 23, 59, 59, 654321, tzinfo=UTC)
ALL_METRICS = "*"  # the recorded metric name standing for every metric of an entity

# Reads, and the rules step's row-by-row bookkeeping (generated as one query instead).
_NOT_RECORDED = re.compile(
    r"^\s*(?:(?:SELECT|WITH|DELETE|DESCRIBE|PRAGMA)\b|INSERT INTO rule_)", re.I
)


def sql_value(value: object) -> str:
    """A Python parameter as a DuckDB literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"CAST({value!r} AS DOUBLE)"
    return literal(str(value))


def inline(sql: str, params: t.Sequence[object] | None) -> str:
    """`sql` with each `?` replaced by its parameter as a literal (no `?` in quoted text)."""
    if not params:
        return sql
    values = iter(params)
    return re.sub(r"\?", lambda _: sql_value(next(values)), sql)


@dataclass
class RecordingConnection:
    """Stands in for the store's DuckDB connection; executes on empty tables and records."""

    con: duckdb.DuckDBPyConnection
    statements: list[str] = field(default_factory=list)

    def execute(self, sql: str, params: t.Sequence[object] | None = None) -> t.Any:
        """Execute `sql` (parameters inlined) and record it unless it only reads."""
        text = inline(sql, params)
        if not _NOT_RECORDED.match(text):
            self.statements.append(text)
        return self.con.execute(text)

    def executemany(self, sql: str, rows: t.Sequence[t.Sequence[object]]) -> None:
        """Execute `sql` once per row, recording each."""
        for row in rows:
            self.execute(sql, row)


def _record_into(con: duckdb.DuckDBPyConnection, settings: Settings) -> RecordingConnection:
    """Run the scoring steps on `con` (a new store), recording their statements."""
    create_rollup_table(con)
    for entity in ("user", "account", "membership"):
        con.execute(
            "INSERT INTO observations VALUES (0, ?, NULL, NULL, ?, 'null', TIMESTAMP '2000-01-01')",
            [entity, ALL_METRICS],
        )
    recorder = RecordingConnection(con)
    snap = Snapshot(
        con=t.cast(duckdb.DuckDBPyConnection, recorder),
        settings=settings,
        as_of_us=sentinel_as_of_us(),
    )
    compute_scores(snap)
    return recorder


def sentinel_as_of_us() -> int:
    """SENTINEL_AS_OF in epoch microseconds."""
    return (SENTINEL_AS_OF - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


class Recording(t.NamedTuple):
    """What the generator needs from a recording: the statements and the database."""

    statements: list[str]
    con: duckdb.DuckDBPyConnection


def record_scoring(settings: Settings, use: t.Callable[[Recording], t.Any]) -> t.Any:
    """Record `compute_scores` on a new, empty store and hand the recording to `use`.

    The store (a real one, made by `Store`, so its tables are the embedded path's) is
    deleted afterwards; `use` may still query its TEMP tables (all empty).
    """
    with tempfile.TemporaryDirectory(prefix="plg-dbt-") as folder:
        store = Store(Path(folder) / "record.duckdb", settings.store_memory_limit)
        try:
            recorder = _record_into(store.con, settings)
            return use(Recording(recorder.statements, store.con))
        finally:
            store.close()
