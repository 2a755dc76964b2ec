"""Rows of the dbt package's `plg_final_<kind>` tables -> the transform's output records.

The generated models keep the embedded path's columns (dbt/plg_scores/README.md): computed
fields by name, a trait `x` as the JSON column `__json__x`, every backend metric in one
JSON object `__json__metric_*` (expanded here into `metric_<name>` fields, null where an
entity has none of a metric others of its kind have), and `plg_hits` (bookkeeping).
Timestamps are written as the transform writes them: UTC, `Z`, microseconds only when
not zero.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import typing as t

STREAM_OF_KIND = {"account": "companies", "user": "contacts", "membership": "associations"}
KIND_OF_STREAM = {stream: kind for kind, stream in STREAM_OF_KIND.items()}
KEYS = {"user": ("user_id",), "account": ("account_id",), "membership": ("user_id", "account_id")}
ALL_METRICS = "__json__metric_*"
JSON_PREFIX = "__json__"
SKIPPED = frozenset({"plg_hits"})


def iso_instant(moment: dt.datetime) -> str:
    """An instant as the transform writes it (naive values are UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def json_column(value: object) -> t.Any:
    """A JSON column's value: text from DuckDB, already parsed from psycopg."""
    if isinstance(value, str | bytes):
        return json.loads(value)
    return value


def plain_value(value: object) -> t.Any:
    """A computed field's value as JSON: instants as ISO 8601, decimals as numbers."""
    if isinstance(value, dt.datetime):
        return iso_instant(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def score_record(
    columns: t.Sequence[str], row: t.Sequence[object], metric_names: t.Sequence[str]
) -> dict[str, t.Any]:
    """One output record of a `plg_final_<kind>` row."""
    record: dict[str, t.Any] = {}
    for column, value in zip(columns, row, strict=True):
        if column in SKIPPED:
            continue
        if column == ALL_METRICS:
            metrics = json_column(value) if value is not None else {}
            for name in metric_names:
                record["metric_" + name] = metrics.get(name)
        elif column.startswith(JSON_PREFIX):
            record[column.removeprefix(JSON_PREFIX)] = None if value is None else json_column(value)
        else:
            record[column] = plain_value(value)
    return record
