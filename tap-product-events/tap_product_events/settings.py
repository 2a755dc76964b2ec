"""The tap's settings: declared once for `--about`, parsed once into a dataclass."""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from tap_product_events.source_settings import (
    SOURCE_PROPERTIES,
    MetricsEndpoint,
    MetricsQuery,
    SqlEventsSettings,
    parse_events_sql,
    parse_metrics_endpoints,
    parse_metrics_queries,
)

SUPPORTED_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".gz")

CONFIG_SCHEMA: dict[str, t.Any] = th.PropertiesList(
    th.Property(
        "events_paths",
        th.ArrayType(th.StringType),
        title="Event archive paths",
        description=(
            "File globs of Segment-spec JSON-lines archives (`.jsonl`, `.json`, "
            "`.jsonl.gz`, `.gz`), one message per line, all message types mixed, as "
            "Segment's and RudderStack's storage destinations write them. `~` and "
            "relative paths are resolved against the working directory; `**` matches "
            'folders recursively. Example: `["data/segment/**/*.gz"]`.'
        ),
        examples=[["data/segment/**/*.jsonl.gz"]],
    ),
    *SOURCE_PROPERTIES,
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
).to_dict()


@dataclass(frozen=True)
class TapSettings:
    """Validated settings of one run."""

    events_paths: tuple[str, ...]
    start_date: dt.datetime | None
    strict: bool
    events_sql: SqlEventsSettings | None = None
    metrics_queries: tuple[MetricsQuery, ...] = ()
    metrics_endpoints: tuple[MetricsEndpoint, ...] = ()

    @property
    def has_metrics(self) -> bool:
        """True if a backend-metrics source is configured (the `metrics` stream exists)."""
        return bool(self.metrics_queries or self.metrics_endpoints)

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> TapSettings:
        """Parse and validate the tap's config, naming the setting at fault."""
        errors: list[str] = []
        events_paths = _parse_events_paths(config.get("events_paths"), errors)
        events_sql = parse_events_sql(config.get("events_sql"), errors)
        metrics_queries = parse_metrics_queries(config.get("metrics_queries"), errors)
        metrics_endpoints = parse_metrics_endpoints(config.get("metrics_endpoints"), errors)
        if not (events_paths or events_sql or metrics_queries or metrics_endpoints) and not errors:
            errors.append(
                "events_paths, events_sql, metrics_queries, metrics_endpoints: set at least "
                "one source"
            )
        start_date = _parse_start_date(config.get("start_date"), errors)
        strict = config.get("strict", False)
        if strict is None:
            strict = False
        if not isinstance(strict, bool):
            errors.append(f"strict: expected true or false, got {strict!r}")
        if errors:
            raise ConfigValidationError("Invalid settings", errors=errors)
        return cls(
            events_paths=events_paths,
            start_date=start_date,
            strict=bool(strict),
            events_sql=events_sql,
            metrics_queries=metrics_queries,
            metrics_endpoints=metrics_endpoints,
        )


def _parse_events_paths(value: object, errors: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        errors.append(f"events_paths: expected a non-empty list of file globs, got {value!r}")
        return ()
    bad = [item for item in value if not isinstance(item, str) or not item.strip()]
    if bad:
        errors.append(f"events_paths: every entry must be a non-empty string, got {bad!r}")
        return ()
    return tuple(item.strip() for item in value)


def _parse_start_date(value: object, errors: list[str]) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        errors.append(f"start_date: expected an ISO 8601 date-time string, got {value!r}")
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        errors.append(
            f"start_date: {value!r} is not an ISO 8601 date-time "
            "(e.g. 2026-01-01 or 2026-01-01T00:00:00Z)"
        )
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
