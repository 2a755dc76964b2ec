"""Database values as the JSON values a message or a metric holds (rows of any source)."""

from __future__ import annotations

import datetime as dt
import decimal
import typing as t
import uuid

import orjson

from tap_product_events.arrival import format_instant
from tap_product_events.segment_messages import MalformedMessageError


def json_value(value: object, column: str, *, is_json: bool = False) -> t.Any:
    """A column's value as the JSON value a message would hold."""
    if isinstance(value, str):
        if is_json:
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                raise MalformedMessageError(f"column {column} is not valid JSON ({exc})") from None
        return value
    if isinstance(value, bool | int | float | dict | list):
        return value
    if isinstance(value, dt.datetime):
        return format_instant(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    raise MalformedMessageError(f"column {column} has a value of type {type(value).__name__}")


def plain_value(value: object, column: str) -> t.Any:
    """A database value as a JSON scalar (numbers, strings, booleans, null).

    Raises MalformedMessageError for values that are no scalar (bytes, arrays, objects).
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict | list):
        raise MalformedMessageError(f"column {column}: a {type(value).__name__} is no metric value")
    return json_value(value, column)
