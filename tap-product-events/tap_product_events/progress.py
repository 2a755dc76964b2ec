"""Progress of a run's read: a line at most every `progress_interval_seconds`, a summary.

A long backfill says how far it got while it runs (files or tables, messages, messages/s
and where it is reading); a short run says nothing until its one summary line, which also
carries what each source read (`note`) and what the caller adds (records per stream...).
"""

from __future__ import annotations

import logging

from plg_settings.progress import ProgressPace

_CHECK_EVERY = 256  # messages between looks at the clock: keeps the per-message cost tiny


class ReadProgress:
    """Counts what the sources hand on and logs it now and then, naming where it is."""

    def __init__(self, logger: logging.Logger, interval_seconds: float) -> None:
        self.logger = logger
        self.pace = ProgressPace(interval_seconds)
        self.messages = 0
        self.places = 0
        self.location = ""
        self._until_check = _CHECK_EVERY
        self.notes: list[str] = []  # what each source read, for the summary line

    def reading(self, location: str) -> None:
        """A source starts reading `location` (a file, an object, a table)."""
        self.location = location
        self.places += 1
        self._maybe_log()

    def note(self, text: str) -> None:
        """What a source read (`events_paths: 6 new messages, 1 file read`), for the summary."""
        self.notes.append(text)

    def counted(self) -> None:
        """One message (or roll-up) was handed on."""
        self.messages += 1
        self._until_check -= 1
        if self._until_check <= 0:
            self._until_check = _CHECK_EVERY
            self._maybe_log()

    def _maybe_log(self) -> None:
        if not self.pace.due():
            return
        self.logger.info(
            "Progress: %d files/tables, %d messages (%.0f messages/s); reading %s",
            self.places,
            self.messages,
            self.pace.per_second(self.messages),
            self.location or "-",
        )

    def summary(self, *details: str) -> None:
        """The one line of a run: what was read, in how long, how fast, then the notes."""
        self.logger.info(
            "Read %d messages from %d files/tables in %.1f s (%.0f messages/s)%s",
            self.messages,
            self.places,
            self.pace.elapsed(),
            self.pace.per_second(self.messages),
            "".join(f"; {text}" for text in (*self.notes, *details) if text),
        )
