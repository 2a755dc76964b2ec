"""Backend metrics: rows of named SQL queries (or API records) as `metrics` records.

A row describes one entity (a user, an account, or a membership: user in account) and
carries metric columns; each metric column becomes one record
`{entity, user_id, account_id, metric, value, observed_at}`. Metrics are snapshots: every
run emits the current values, observed at the row's own time or the run's start.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t

import sqlalchemy as sa
from singer_sdk import typing as th
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from tap_product_events.arrival import format_instant, parse_instant
from tap_product_events.malformed import MalformedLineReport
from tap_product_events.segment_messages import MalformedMessage
from tap_product_events.source_settings import MetricsQuery
from tap_product_events.sql_connection import (
    SourceConnectionError,
    failure_text,
    masked,
    open_engine,
)
from tap_product_events.warehouse_rows import plain_value

STREAM_NAME = "metrics"
KEY = ("entity", "user_id", "account_id", "metric", "observed_at")

SCHEMA = th.PropertiesList(
    th.Property("entity", th.StringType, required=True, description="user, account or membership."),
    th.Property("user_id", th.StringType, description="The user (user, membership), else null."),
    th.Property(
        "account_id", th.StringType, description="The account (account, membership), else null."
    ),
    th.Property("metric", th.StringType, required=True, description="The metric's name."),
    th.Property(
        "value",
        th.CustomType({"type": ["number", "string", "boolean", "null"]}),
        description="The metric's value.",
    ),
    th.Property(
        "observed_at",
        th.DateTimeType,
        required=True,
        description="When the value was observed: the source's column, else the run's start.",
    ),
).to_dict()


class EntityShape:
    """Which fields of a row are ids, metrics and the observation time."""

    def __init__(
        self,
        entity: str,
        user_id: str,
        account_id: str,
        metrics: t.Sequence[str] | None,
        observed_at: str | None,
    ) -> None:
        self.entity = entity
        self.user_field = user_id if entity in ("user", "membership") else None
        self.account_field = account_id if entity in ("account", "membership") else None
        self.metrics = tuple(metrics) if metrics is not None else None
        self.observed_field = observed_at

    def id_fields(self) -> list[str]:
        """The fields holding this entity's ids."""
        return [f for f in (self.user_field, self.account_field) if f is not None]

    def metric_fields(self, fields: t.Iterable[str]) -> list[str]:
        """The metric fields of a row with these fields (all non-id ones by default)."""
        if self.metrics is not None:
            return list(self.metrics)
        not_metrics = {*self.id_fields(), self.observed_field}
        return [f for f in fields if f not in not_metrics]

    def row_key(self, row: t.Mapping[t.Any, t.Any]) -> str:
        """How reports name a row: its id fields and values."""
        return ", ".join(f"{f}={row.get(f)!r}" for f in self.id_fields())

    def records(
        self, row: t.Mapping[t.Any, t.Any], metric_fields: t.Sequence[str], run_started: str
    ) -> list[dict[str, t.Any]]:
        """The row's metric records; raises MalformedMessage saying what is wrong."""
        ids: dict[str, str | None] = {"user_id": None, "account_id": None}
        for name, field in (("user_id", self.user_field), ("account_id", self.account_field)):
            if field is None:
                continue
            if field not in row:
                raise MalformedMessage(f"no id column/field {field!r}")
            value = plain_value(row[field], field)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if value is None or value == "" or isinstance(value, bool):
                raise MalformedMessage(f"{field} is empty")
            ids[name] = str(value)
        observed_at = run_started
        if self.observed_field is not None:
            observed_at = _observed_text(row.get(self.observed_field), self.observed_field)
        records = []
        for field in metric_fields:
            if field not in row:
                raise MalformedMessage(f"no metric column/field {field!r}")
            records.append(
                {
                    "entity": self.entity,
                    **ids,
                    "metric": field,
                    "value": plain_value(row[field], field),
                    "observed_at": observed_at,
                }
            )
        return records


def _observed_text(value: object, field: str) -> str:
    instant: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        instant = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    elif isinstance(value, dt.date):
        instant = dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    elif isinstance(value, str):
        instant = parse_instant(value)
    if instant is None:
        raise MalformedMessage(f"{field} is not a date-time: {value!r}")
    return format_instant(instant)


class MetricsQueries:
    """Runs the `metrics_queries` once per run, each with its own connection."""

    def __init__(
        self,
        queries: t.Sequence[MetricsQuery],
        logger: logging.Logger,
        report: MalformedLineReport,
        run_started: dt.datetime,
    ) -> None:
        self.queries = queries
        self.logger = logger
        self.report = report
        self.run_started = format_instant(run_started)
        self._engines: dict[str, Engine] = {}

    def records(self) -> t.Iterator[dict[str, t.Any]]:
        """Every query's metric records; a failing query is reported and skipped."""
        try:
            for query in self.queries:
                yield from self._query_records(query)
        finally:
            for engine in self._engines.values():
                engine.dispose()

    def _engine(self, query: MetricsQuery) -> Engine:
        engine = self._engines.get(query.url)
        if engine is None:
            engine = open_engine(query.url, f"metrics_queries {query.name!r}", self.logger)
            self._engines[query.url] = engine
        return engine

    def _query_records(self, query: MetricsQuery) -> t.Iterator[dict[str, t.Any]]:
        location = f"metrics query {query.name!r}"
        shape = EntityShape(
            query.entity,
            query.user_id_column,
            query.account_id_column,
            query.metric_columns,
            query.observed_at_column,
        )
        try:
            engine = self._engine(query)
        except SourceConnectionError as exc:
            self.report.report_failure(location, str(exc), "its metrics are missing this run")
            return
        emitted = 0
        try:
            with engine.connect() as connection:
                result = connection.execute(sa.text(query.sql))
                columns = list(result.keys())
                missing = [f for f in shape.id_fields() if f not in columns]
                if missing:
                    self.report.report_failure(
                        location,
                        f"no column {', '.join(missing)} in the result (columns: "
                        f"{', '.join(columns)})",
                        "its metrics are missing this run",
                    )
                    return
                metric_fields = shape.metric_fields(columns)
                for row in result.mappings():
                    try:
                        records = shape.records(row, metric_fields, self.run_started)
                    except MalformedMessage as exc:
                        self.report.report_row(location, shape.row_key(row), str(exc))
                        continue
                    emitted += len(records)
                    yield from records
        except DBAPIError as exc:
            self.report.report_failure(
                location,
                f"{failure_text(exc, query.url)} (on {masked(query.url)})",
                "its metrics are missing this run",
            )
            return
        self.logger.info("%s: %d metric values", location, emitted)
