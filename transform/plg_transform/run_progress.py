"""What a run tells its log as it goes: reading rate, phases, and one summary line.

A long run (a backfill) logs, at most every `progress_interval_seconds`, how many input
records it has read and how fast, then one line per phase (staging, storing, scoring,
emitting) with its counts and duration. A run that ends within the interval logs only
its summary line: phase lines are held back until the run has lasted the interval, and
then written, so a long run shows every phase and a short one none.
"""

from __future__ import annotations

import logging

from plg_settings.progress import ProgressPace


class RunProgress:
    """Progress and phase lines of one run, and its summary line."""

    def __init__(self, logger: logging.Logger, interval_seconds: float) -> None:
        self.logger = logger
        self.pace = ProgressPace(interval_seconds)
        self._held: list[str] = []  # phase lines of a run not (yet) known to be long
        self._long = False

    def _is_long(self) -> bool:
        if not self._long and self.pace.elapsed() >= self.pace.interval:
            self._long = True
            for line in self._held:
                self.logger.info("%s", line)
            self._held = []
        return self._long

    def reading(self, records: int) -> None:
        """Report the input read so far, when the interval has passed since the last report.

        Cheap enough to call for every block of input.
        """
        if not self.pace.due():
            return
        self._is_long()
        self.logger.info(
            "reading input: %d records so far in %.0f s (%.0f records/s)",
            records,
            self.pace.elapsed(),
            self.pace.per_second(records),
        )

    def phase(self, line: str) -> None:
        """A finished phase: logged now in a long run, held back while the run is short."""
        if self._is_long():
            self.logger.info("%s", line)
        else:
            self._held.append(line)

    def summary(self, line: str) -> None:
        """The run's one summary line, always logged."""
        self.logger.info("%s", line)
