"""The interface of an event source: read what arrived since its bookmark, once per run."""

from __future__ import annotations

import datetime as dt
import logging
import typing as t
from dataclasses import dataclass

from tap_product_events.progress import ReadProgress

Accept = t.Callable[[dict[str, t.Any]], None]
"""Takes one record or parsed message; raises MalformedMessageError if it cannot be one."""


@dataclass(frozen=True)
class SourceOutput:
    """Where a source hands what it read: Segment messages, and daily roll-ups if any."""

    message: Accept
    rollup: Accept | None = None
    progress: ReadProgress | None = None  # told which file, object or table is being read


def reading(output: SourceOutput, location: str) -> None:
    """Tell the run's progress that a source starts reading `location`."""
    if output.progress is not None:
        output.progress.reading(location)


def read_note(output: SourceOutput, logger: logging.Logger, text: str) -> None:
    """What a source read: part of the run's summary line (or a line of its own)."""
    if output.progress is not None:
        output.progress.note(text)
    else:
        logger.info("%s", text)


class EventSource(t.Protocol):
    """A source of Segment-spec messages (archives, warehouse tables).

    Its bookmark lives in the STATE under `sources.<state_key>`; `read` returns the new
    one, which the caller commits only after the records were emitted.
    """

    state_key: str

    def read(
        self,
        previous: t.Mapping[str, t.Any] | None,
        output: SourceOutput,
        start_date: dt.datetime | None,
    ) -> dict[str, t.Any]:
        """Hand every message that arrived since `previous` to `output`, once.

        `start_date` is set on the first run only (no bookmark yet): messages that
        arrived before it are skipped.
        """
        ...
