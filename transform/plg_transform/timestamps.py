"""ISO 8601 instants as UTC epoch microseconds, the time unit of the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
DAY_US = 86_400_000_000


def parse_instant(value: object) -> int | None:
    """Return the UTC epoch microseconds of an ISO 8601 string, or None if it does not parse.

    A value without an offset is UTC and a date alone is midnight UTC, so results never
    depend on the machine's time zone. Only strings are read: numbers are not ISO 8601.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith("z"):
        text = text[:-1] + "Z"
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return (moment - _EPOCH) // _ONE_US
    except (ValueError, OverflowError):
        return None


def instant_from_micros(micros: int) -> datetime:
    """The aware UTC datetime of epoch microseconds."""
    return _EPOCH + timedelta(microseconds=micros)
