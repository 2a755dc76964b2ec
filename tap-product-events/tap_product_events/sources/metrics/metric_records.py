"""The `metrics` stream's records: one per entity and metric, from a row or an API record.

A row describes one entity (a user, an account, or a membership: user in account) and
carries metric columns; each metric column becomes one record
`{entity, user_id, account_id, metric, value, observed_at}`. Metrics are snapshots: every
run emits the current values, observed at the row's own time or the run's start.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from singer_sdk import typing as th

from tap_product_events.arrival import format_instant, parse_instant
from tap_product_events.segment_messages import MalformedMessageError
from tap_product_events.sources.json_values import plain_value

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
        """The row's metric records; raises MalformedMessageError saying what is wrong."""
        ids: dict[str, str | None] = {"user_id": None, "account_id": None}
        for name, field in (("user_id", self.user_field), ("account_id", self.account_field)):
            if field is None:
                continue
            if field not in row:
                raise MalformedMessageError(f"no id column/field {field!r}")
            value = plain_value(row[field], field)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if value is None or value == "" or isinstance(value, bool):
                raise MalformedMessageError(f"{field} is empty")
            ids[name] = str(value)
        observed_at = run_started
        if self.observed_field is not None:
            observed_at = _observed_text(row.get(self.observed_field), self.observed_field)
        records = []
        for field in metric_fields:
            if field not in row:
                raise MalformedMessageError(f"no metric column/field {field!r}")
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
        raise MalformedMessageError(f"{field} is not a date-time: {value!r}")
    return format_instant(instant)
