"""The `events_sql` source: Segment/RudderStack warehouse tables read incrementally on arrival.

Bookmark, in the STATE under `sources.events_sql`:

    {"tables": {"public.tracks": "2026-03-01T10:00:01Z", ...},   # latest arrival read
     "rollup": {"public.tracks": "2026-03-01T10:00:01Z", ...}}  # push-down mode

Each run reads the rows whose arrival column (`uuid_ts`, `loaded_at` or `received_at`) is
at or after the bookmark minus `overlap_minutes`: rows of a load that committed late are
still found, and the overlap's re-delivered messages keep their messageId.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, NoSuchTableError

from tap_product_events.arrival import format_instant, parse_instant
from tap_product_events.malformed import MalformedLineReport
from tap_product_events.segment_messages import MESSAGE_TYPES, MalformedMessageError
from tap_product_events.sources.event_source import Accept, SourceOutput, read_note, reading
from tap_product_events.sources.sql_connection import failure_text, open_engine
from tap_product_events.sources.warehouse.daily_rollups import DailyRollupQuery
from tap_product_events.sources.warehouse.settings import (
    DEFAULT_ARRIVAL_COLUMNS,
    ROLLED_UP_STREAMS,
    SqlEventsSettings,
)
from tap_product_events.sources.warehouse.table_columns import table_columns, table_names
from tap_product_events.sources.warehouse.warehouse_rows import COMMON_COLUMNS, RowShape
from tap_product_events.sources.warehouse.warehouse_table import (
    WarehouseTable,
    as_utc,
    naive_utc,
)

_TYPE_OF_STREAM = {m.stream: m.type for m in MESSAGE_TYPES.values()}
_FETCH_ROWS = 5_000


@dataclass
class WarehouseReadResult:
    """What one pass over the tables produced, to be committed to the STATE later."""

    bookmark: dict[str, t.Any]
    messages: int = 0
    rollups: int = 0
    tables_read: list[str] = field(default_factory=list)


class WarehouseEvents:
    """The `events_sql` source (an EventSource): reads the warehouse tables once per run."""

    state_key = "events_sql"

    def __init__(
        self, settings: SqlEventsSettings, logger: logging.Logger, report: MalformedLineReport
    ) -> None:
        self.settings = settings
        self.logger = logger
        self.report = report
        self._output = SourceOutput(message=lambda _message: None)

    def read(
        self,
        previous: t.Mapping[str, t.Any] | None,
        output: SourceOutput,
        start_date: dt.datetime | None,
    ) -> dict[str, t.Any]:
        """Pass every message (and roll-up) that arrived since `previous` on, once."""
        self._output = output
        result = self._read(previous or {}, output, start_date)
        read_note(
            output,
            self.logger,
            f"events_sql: read {result.messages} new messages and {result.rollups} daily "
            f"roll-ups from {', '.join(result.tables_read) or 'no table'}",
        )
        return result.bookmark

    def _read(
        self, previous: t.Mapping[str, t.Any], output: SourceOutput, start_date: dt.datetime | None
    ) -> WarehouseReadResult:
        engine = open_engine(
            self.settings.url, "events_sql", self.logger, retries=self.settings.connect_retries
        )
        try:
            tables = self._tables(engine)
            old_marks: dict[str, str] = dict(previous.get("tables") or {})
            result = WarehouseReadResult(bookmark={"tables": dict(old_marks)})
            rolled_up = self.settings.rollup
            for wt in tables:
                if rolled_up and wt.stream in ROLLED_UP_STREAMS:
                    continue
                since = self._since(old_marks.get(wt.label), start_date)
                latest = self._read_table(engine, wt, since, output.message, result)
                if latest is not None:
                    result.bookmark["tables"][wt.label] = format_instant(latest)
            if rolled_up:
                self._read_rollups(engine, tables, previous, output.rollup, start_date, result)
            return result
        finally:
            engine.dispose()

    def _since(self, bookmark: str | None, start_date: dt.datetime | None) -> dt.datetime | None:
        mark = parse_instant(bookmark) if bookmark else None
        if mark is None:
            return start_date
        return mark - dt.timedelta(minutes=self.settings.overlap_minutes)

    def _tables(self, engine: Engine) -> list[WarehouseTable]:
        settings = self.settings
        schema = settings.schema
        existing = table_names(engine, schema)
        actual_names = dict(settings.columns)
        standard_names = {actual: std for std, actual in actual_names.items()}
        found: list[WarehouseTable] = []
        for stream, names in settings.tables.items():
            for name in names:
                label = f"{schema}.{name}" if schema else name
                if name not in existing:
                    log = self.logger.info if names == (stream,) else self.logger.warning
                    log("events_sql: no table %s; its %s are skipped", label, stream)
                    continue
                try:
                    # Columns only: full reflection (constraints...) fails on some dialects.
                    columns = table_columns(engine, name, schema)
                    table = sa.Table(
                        name,
                        sa.MetaData(),
                        *(sa.Column(column, type_) for column, type_ in columns),
                        schema=schema,
                    )
                except (NoSuchTableError, DBAPIError) as exc:
                    self.report.report_failure(
                        f"table {label}", failure_text(exc, settings.url), "skipped this run"
                    )
                    continue
                arrival = self._arrival_column(table, actual_names)
                if arrival is None:
                    self.report.report_failure(
                        f"table {label}",
                        "no arrival column ("
                        + ", ".join(self._arrival_candidates(actual_names))
                        + "); set events_sql.arrival_column",
                        "skipped",
                    )
                    continue
                found.append(
                    WarehouseTable(
                        stream=stream,
                        message_type=_TYPE_OF_STREAM[stream],
                        table=table,
                        label=label,
                        arrival=arrival,
                        standard_names=standard_names,
                        actual_names=actual_names,
                    )
                )
        return found

    def _arrival_candidates(self, actual_names: dict[str, str]) -> list[str]:
        if self.settings.arrival_column:
            return [self.settings.arrival_column]
        return [actual_names.get(name, name) for name in DEFAULT_ARRIVAL_COLUMNS]

    def _arrival_column(
        self, table: sa.Table, actual_names: dict[str, str]
    ) -> sa.ColumnElement[t.Any] | None:
        for name in self._arrival_candidates(actual_names):
            if name in table.c:
                column = table.c[name]
                # A time kept as text is compared as a time, not as a string; cast to a
                # time *with* zone, so an offset in the text (`+02:00`) is applied rather
                # than dropped (a bookmark hours ahead would skip later rows).
                if isinstance(column.type, sa.DateTime):
                    return column
                return sa.cast(column, sa.DateTime(timezone=True))
        return None

    def _read_table(
        self,
        engine: Engine,
        wt: WarehouseTable,
        since: dt.datetime | None,
        accept: Accept,
        result: WarehouseReadResult,
    ) -> dt.datetime | None:
        """Accept the table's new rows; returns the latest arrival read (None: keep the mark)."""
        settings = self.settings
        columns = list(wt.table.c)
        shape = RowShape(
            wt.message_type,
            [str(c.name) for c in columns],
            standard_names=wt.standard_names,
            ignored=settings.ignore_columns | _bookkeeping(wt),
            json_columns=settings.json_columns,
            camel_case_keys=settings.camel_case_keys,
            account_columns=settings.account_columns,
        )
        query = sa.select(*columns, wt.arrival.label("__arrived__"))
        if since is not None:
            query = query.where(wt.arrival >= naive_utc(since))
        query = query.order_by(wt.arrival)
        arrival_index = len(columns)
        latest: dt.datetime | None = None
        read = 0
        location = f"table {wt.label}"
        reading(self._output, location)
        try:
            with engine.connect() as connection:
                rows = connection.execution_options(yield_per=_FETCH_ROWS).execute(query)
                for row in rows:
                    arrived = as_utc(row[arrival_index])
                    if arrived is not None and (latest is None or arrived > latest):
                        latest = arrived
                    try:
                        accept(shape.message(row))
                    except MalformedMessageError as exc:
                        self.report.report_row(location, shape.row_key(row), str(exc))
                        continue
                    read += 1
        except DBAPIError as exc:
            self.report.report_failure(
                location, failure_text(exc, settings.url), "it is read again next run"
            )
            return None
        result.messages += read
        result.tables_read.append(wt.label)
        return latest

    def _read_rollups(
        self,
        engine: Engine,
        tables: list[WarehouseTable],
        previous: t.Mapping[str, t.Any],
        accept_rollup: Accept | None,
        start_date: dt.datetime | None,
        result: WarehouseReadResult,
    ) -> None:
        sources = [wt for wt in tables if wt.stream in ROLLED_UP_STREAMS]
        marks = previous.get("rollup")
        if isinstance(marks, str):  # one mark for every table (older STATE)
            marks = {wt.label: marks for wt in sources}
        marks = dict(marks) if isinstance(marks, dict) else {}
        result.bookmark["rollup"] = dict(marks)
        if not sources:
            return
        since = {wt.label: self._since(marks.get(wt.label), start_date) for wt in sources}
        query = DailyRollupQuery(
            sources, self.settings.account_columns, self.settings.rollup_first_events
        )
        location = "daily_rollups (" + ", ".join(wt.label for wt in sources) + ")"
        reading(self._output, location)
        try:
            with engine.connect() as connection:
                # The mark comes first: rows arriving while the roll-up runs are only
                # re-counted next time, never missed.
                latest = {
                    label: as_utc(at)
                    for label, at in connection.execute(query.latest_arrivals()).all()
                }
                for key, reason in query.bad_rows(connection, since):
                    self.report.report_row(key[0], key[1], reason)
                for record in query.records(connection, since):
                    if accept_rollup is not None:
                        accept_rollup(record)
                    result.rollups += 1
        except DBAPIError as exc:
            self.report.report_failure(
                location, failure_text(exc, self.settings.url), "it is read again next run"
            )
            return
        for label, at in latest.items():
            if at is not None:
                marks[label] = format_instant(at)
        result.bookmark["rollup"] = marks
        result.tables_read.extend(wt.label for wt in sources)


def _bookkeeping(wt: WarehouseTable) -> set[str]:
    """The arrival column when it is load bookkeeping (not `received_at`, a message field)."""
    inner = getattr(wt.arrival, "clause", wt.arrival)
    name = str(getattr(inner, "name", ""))
    return set() if wt.standard_names.get(name, name) in COMMON_COLUMNS else {name}
