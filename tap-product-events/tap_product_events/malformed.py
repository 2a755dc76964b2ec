"""Malformed input lines: each one logged with where and why, counted, summarised."""

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

    @property
    def total(self) -> int:
        """Number of malformed lines seen so far."""
        return sum(self.per_file.values())

    def log_summary(self) -> None:
        """One line for the end of the run: `N malformed lines in M files`."""
        lines, files = self.total, len(self.per_file)
        text = (
            f"{lines} malformed line{'s' if lines != 1 else ''} "
            f"in {files} file{'s' if files != 1 else ''}"
        )
        if self.unreadable_files:
            count = len(self.unreadable_files)
            text += f"; {count} file{'s' if count != 1 else ''} could not be read"
        if lines or self.unreadable_files:
            self.logger.warning("%s (skipped; see the messages above)", text)
        else:
            self.logger.info(text)
