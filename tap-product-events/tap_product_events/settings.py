"""The tap's settings: declared once (types, defaults, bounds) and read into a dataclass.

The schema is the one declaration: `--about`, Meltano and the SDK's validator all read it,
and plg-settings refuses a config that does not fit it, one line per problem. What JSON
Schema cannot say (at least one source, a database URL whose driver is installed, unique
names) is checked in `check_settings`. `TapSettings.from_config` then trusts the config.
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t
from dataclasses import dataclass

from plg_settings import SettingProblems
from singer_sdk import typing as th

from tap_product_events.arrival import parse_instant
from tap_product_events.batch_settings import BATCH_CONFIG, BatchSettings, check_batch_config
from tap_product_events.message_limits import MAX_MESSAGE_BYTES
from tap_product_events.sources.archives.settings import EVENTS_PATHS, STORAGE_OPTIONS
from tap_product_events.sources.metrics.settings import (
    METRICS_ENDPOINTS,
    METRICS_QUERIES,
    MetricsEndpoint,
    MetricsQuery,
)
from tap_product_events.sources.scores.settings import SCORES_SQL, ScoresSqlSettings
from tap_product_events.sources.sql_connection import url_problem
from tap_product_events.sources.warehouse.settings import EVENTS_SQL, SqlEventsSettings

SOURCE_SETTINGS = (
    "events_paths",
    "events_sql",
    "metrics_queries",
    "metrics_endpoints",
    "scores_sql",
)

CONFIG_SCHEMA: dict[str, t.Any] = th.PropertiesList(
    EVENTS_PATHS,
    STORAGE_OPTIONS,
    EVENTS_SQL,
    SCORES_SQL,
    METRICS_QUERIES,
    METRICS_ENDPOINTS,
    MAX_MESSAGE_BYTES,
    th.Property(
        "start_date",
        th.DateTimeType,
        title="Start date",
        description=(
            "First run only: messages that arrived before this date-time (`receivedAt`, "
            "else `timestamp`) are skipped. Later runs read whatever arrived since the "
            "last run, however old its timestamps. A date without a time means midnight "
            "UTC."
        ),
        examples=["2026-01-01T00:00:00Z"],
    ),
    th.Property(
        "progress_interval_seconds",
        th.NumberType(minimum=0),
        default=10,
        title="Progress interval (seconds)",
        description=(
            "A long read logs its progress (files or tables, messages, messages/s, where "
            "it is reading) at most this often; a shorter run logs only its summary line."
        ),
    ),
    th.Property(
        "strict",
        th.BooleanType,
        default=False,
        title="Strict",
        description=(
            "When true, the first malformed line or row (invalid JSON, not an object, "
            "unknown message type, ids or fields of the wrong type, a row without time or "
            "identity) or failing metrics query/endpoint stops the run with an error naming "
            "the file and line, or the table or query and the row's key. When false, they "
            "are logged, counted and skipped."
        ),
    ),
    BATCH_CONFIG,
    additional_properties=False,
).to_dict()


def check_settings(config: t.Mapping[str, t.Any], problems: SettingProblems) -> None:
    """What the schema cannot say; `config` already fits the schema, defaults filled in."""
    if not any(config.get(name) for name in SOURCE_SETTINGS):
        problems.add(
            "events_paths",
            "no source is set: set events_paths, events_sql, metrics_queries, metrics_endpoints "
            "or scores_sql",
        )
    others = [name for name in SOURCE_SETTINGS if name != "scores_sql" and config.get(name)]
    if config.get("scores_sql") and others:
        problems.add(
            "scores_sql",
            "reads scores the dbt package computed, not events: it cannot be combined with "
            + ", ".join(others),
        )
    start_date = config.get("start_date")
    if start_date is not None and parse_instant(start_date) is None:
        problems.add(
            "start_date",
            f"{json.dumps(start_date)} is not an ISO 8601 date-time "
            "(e.g. 2026-01-01 or 2026-01-01T00:00:00Z)",
        )
    for source in ("events_sql", "scores_sql"):
        if source in config:
            _check_database_url([source, "url"], config[source]["url"], problems)
    queries = config.get("metrics_queries", [])
    for index, query in enumerate(queries):
        _check_database_url(["metrics_queries", index, "url"], query["url"], problems)
    _check_unique_names("metrics_queries", queries, problems)
    endpoints = config.get("metrics_endpoints", [])
    for index, endpoint in enumerate(endpoints):
        if not endpoint["url"].startswith(("http://", "https://")):
            problems.add(["metrics_endpoints", index, "url"], "expected an http:// or https:// URL")
    _check_unique_names("metrics_endpoints", endpoints, problems)
    check_batch_config(config, problems)


def _check_database_url(path: list[str | int], url: str, problems: SettingProblems) -> None:
    problem = url_problem(url)
    if problem is not None:
        problems.add(path, problem)


def _check_unique_names(
    setting: str, items: t.Sequence[t.Mapping[str, t.Any]], problems: SettingProblems
) -> None:
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        name = item["name"]
        if name in first:
            problems.add(
                [setting, index, "name"],
                f"`{name}` is already the name of {setting}[{first[name]}]; names must be "
                "unique (reports and logs name them)",
            )
        first.setdefault(name, index)


@dataclass(frozen=True)
class TapSettings:
    """The settings of one run, read from the validated config."""

    events_paths: tuple[str, ...]
    start_date: dt.datetime | None
    strict: bool
    max_message_bytes: int
    events_sql: SqlEventsSettings | None = None
    metrics_queries: tuple[MetricsQuery, ...] = ()
    metrics_endpoints: tuple[MetricsEndpoint, ...] = ()
    storage_options: t.Mapping[str, t.Mapping[str, t.Any]] | None = None
    progress_interval_seconds: float = 10
    batch: BatchSettings | None = None
    scores_sql: ScoresSqlSettings | None = None

    @property
    def has_metrics(self) -> bool:
        """True if a backend-metrics source is configured (the `metrics` stream exists)."""
        return bool(self.metrics_queries or self.metrics_endpoints)

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> TapSettings:
        """The settings of a config that passed the schema and `check_settings`."""
        start_date = config.get("start_date")
        events_sql = config.get("events_sql")
        return cls(
            events_paths=tuple(config.get("events_paths", ())),
            storage_options=config.get("storage_options"),
            progress_interval_seconds=config["progress_interval_seconds"],
            start_date=parse_instant(start_date) if start_date is not None else None,
            strict=config["strict"],
            max_message_bytes=config["max_message_bytes"],
            events_sql=SqlEventsSettings.from_config(events_sql) if events_sql else None,
            scores_sql=ScoresSqlSettings.from_config(config["scores_sql"])
            if config.get("scores_sql")
            else None,
            metrics_queries=tuple(
                MetricsQuery.from_config(query) for query in config.get("metrics_queries", ())
            ),
            metrics_endpoints=tuple(
                MetricsEndpoint.from_config(endpoint)
                for endpoint in config.get("metrics_endpoints", ())
            ),
            batch=BatchSettings.from_config(config["batch_config"])
            if config.get("batch_config")
            else None,
        )
