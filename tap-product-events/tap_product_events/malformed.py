"""Malformed input lines and rows: each one logged with where and why, counted, summarised."""

from __future__ import annotations

import logging
from collections import Counter

from singer_sdk.exceptions import FatalSyncError


class MalformedLineError(FatalSyncError):
    """A malformed line in strict mode: the run stops here."""


class MalformedLineReport:
    """Collects the malformed lines of one run; in strict mode the first one is fatal."""

    def __init__(self, logger: logging.Logger, *, strict: bool) -> None:
        self.logger = logger
        self.strict = strict
        self.per_file: Counter[str] = Counter()
        self.unreadable_files: list[str] = []
        self.per_table: Counter[str] = Counter()
        self.failed_sources: list[str] = []

    def report(self, location: str, line_number: int, reason: str) -> None:
        """Record one malformed line at `location:line_number`."""
        where = f"{location}:{line_number}"
        if self.strict:
            raise MalformedLineError(f"Malformed line at {where}: {reason} (strict mode)")
        self.per_file[location] += 1
        self.logger.warning("Skipped malformed line at %s: %s", where, reason)

    def report_file(self, location: str, reason: str) -> None:
        """Record a file that could not be read (wholly or in part)."""
        if self.strict:
            raise MalformedLineError(f"Cannot read {location}: {reason} (strict mode)")
        self.unreadable_files.append(location)
        self.logger.error("Cannot read %s: %s; it is tried again next run", location, reason)

    def report_row(self, location: str, key: str, reason: str) -> None:
        """Record one bad row of a table or query, named by its key (e.g. `id=m-1`)."""
        if self.strict:
            raise MalformedLineError(f"Bad row in {location} ({key}): {reason} (strict mode)")
        self.per_table[location] += 1
        self.logger.warning("Skipped bad row in %s (%s): %s", location, key, reason)

    def report_failure(self, location: str, reason: str, consequence: str) -> None:
        """Record a table, query or endpoint that failed as a whole; the others go on."""
        if self.strict:
            raise MalformedLineError(f"{location} failed: {reason} (strict mode)")
        self.failed_sources.append(location)
        self.logger.error("%s failed: %s; %s", location, reason, consequence)

    @property
    def total(self) -> int:
        """Number of malformed lines seen so far."""
        return sum(self.per_file.values())

    def log_summary(self) -> None:
        """One line for the end of the run: `N malformed lines in M files`."""
        text = self.quiet_summary()
        if text is not None:
            self.logger.info(text)

    def quiet_summary(self) -> str | None:
        """`0 malformed lines in 0 files` when nothing went wrong, for the run's summary
        line; otherwise None, after a warning line saying what went wrong."""
        lines, files = self.total, len(self.per_file)
        text = (
            f"{lines} malformed line{'s' if lines != 1 else ''} "
            f"in {files} file{'s' if files != 1 else ''}"
        )
        if self.unreadable_files:
            count = len(self.unreadable_files)
            text += f"; {count} file{'s' if count != 1 else ''} could not be read"
        rows = sum(self.per_table.values())
        if rows:
            text += f"; {rows} bad row{'s' if rows != 1 else ''} in {len(self.per_table)} "
            text += f"table{'s' if len(self.per_table) != 1 else ''} or queries"
        if self.failed_sources:
            text += f"; failed: {', '.join(self.failed_sources)}"
        if lines or rows or self.unreadable_files or self.failed_sources:
            self.logger.warning("%s (skipped; see the messages above)", text)
            return None
        return text
