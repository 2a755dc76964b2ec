"""The `metrics_queries` source: named SQL queries run once per run, each row as metrics."""

from __future__ import annotations

import datetime as dt
import logging
import typing as t

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from tap_product_events.arrival import format_instant
from tap_product_events.malformed import MalformedLineReport
from tap_product_events.segment_messages import MalformedMessageError
from tap_product_events.sources.metrics.metric_records import EntityShape
from tap_product_events.sources.metrics.settings import MetricsQuery
from tap_product_events.sources.sql_connection import (
    SourceConnectionError,
    failure_text,
    masked,
    open_engine,
)


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
                    except MalformedMessageError as exc:
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
