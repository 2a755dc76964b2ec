"""Arrival time of messages: the `start_date` cut-off and the max `receivedAt` seen.

The tap is incremental on arrival, never on the event's own time (which arrives late), so
these are the only two places where it reads a message's timestamps.
"""

from __future__ import annotations

import datetime as dt


def parse_instant(text: str) -> dt.datetime | None:
    """An ISO 8601 string as an aware datetime (naive means UTC), or None if unreadable."""
    try:
        value = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def format_instant(value: dt.datetime) -> str:
    """ISO 8601 in UTC with a `Z`; microseconds only when not zero (the suite's format)."""
    utc = value.astimezone(dt.UTC)
    pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if utc.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return utc.strftime(pattern)


class ArrivalWatermark:
    """The latest `receivedAt` seen, as a datetime and as the source's text."""

    def __init__(self, previous: str | None = None) -> None:
        self.latest: dt.datetime | None = parse_instant(previous) if previous else None
        self._latest_text: str | None = None

    def see(self, received_at: object) -> None:
        """Take one message's `receivedAt` into account."""
        if type(received_at) is not str or received_at == self._latest_text:
            return
        instant = parse_instant(received_at)
        if instant is not None and (self.latest is None or instant > self.latest):
            self.latest = instant
            self._latest_text = received_at

    def to_state(self) -> str | None:
        """The watermark as stored in the STATE."""
        return format_instant(self.latest) if self.latest else None


class StartDateFilter:
    """First run only: skip messages that arrived before `start_date`."""

    def __init__(self, start_date: dt.datetime) -> None:
        self.start_date = start_date
        self.skipped = 0

    def keeps(self, arrived_text: str | None) -> bool:
        """True if a message that arrived at this time is read.

        A message without a readable arrival time is kept: dropping data silently is worse
        than reading one message too many.
        """
        if arrived_text is None:
            return True
        arrived = parse_instant(arrived_text)
        if arrived is None or arrived >= self.start_date:
            return True
        self.skipped += 1
        return False
