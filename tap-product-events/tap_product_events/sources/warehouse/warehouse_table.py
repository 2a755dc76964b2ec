"""One warehouse table as the warehouse source sees it, and the time values of its rows."""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

import sqlalchemy as sa

from tap_product_events.arrival import parse_instant


def as_utc(value: object) -> dt.datetime | None:
    """A database time value as an aware UTC datetime (naive values are UTC)."""
    if isinstance(value, str):
        return parse_instant(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return None


def naive_utc(value: dt.datetime) -> dt.datetime:
    """As a bind parameter: naive UTC, which a UTC session compares right with both kinds."""
    return value.astimezone(dt.UTC).replace(tzinfo=None)


@dataclass
class WarehouseTable:
    """One reflected table and how its rows become messages."""

    stream: str
    message_type: str
    table: sa.Table
    label: str
    arrival: sa.ColumnElement[t.Any]
    standard_names: dict[str, str]
    actual_names: dict[str, str]

    def column(self, standard: str) -> sa.ColumnElement[t.Any] | None:
        """The column holding a standard Segment column, or None if the table lacks it."""
        actual = self.actual_names.get(standard, standard)
        return self.table.c.get(actual)
