"""When a progress line is due (`progress_interval_seconds`), and the rate so far.

The tap (ReadProgress), the transform (RunProgress) and the target (SyncProgress) each say
what they count; this small clock is what they share: a line is due at most every
interval, and a count becomes a rate over the time since the run started.
"""

from __future__ import annotations

import time
import typing as t


class ProgressPace:
    """The interval between progress lines, measured on `clock` (monotonic seconds)."""

    def __init__(
        self,
        interval_seconds: float,
        clock: t.Callable[[], float] = time.monotonic,
        *,
        from_first_check: bool = False,
    ) -> None:
        """The first interval runs from now, or with `from_first_check` from the first `due()`."""
        self.interval = interval_seconds
        self.clock = clock
        self.started = clock()
        self._last: float | None = None if from_first_check else self.started

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return self.clock() - self.started

    def due(self) -> bool:
        """True (and the interval restarts) when `interval` seconds passed since the last."""
        now = self.clock()
        if self._last is None:
            self._last = now
        if now - self._last < self.interval:
            return False
        self._last = now
        return True

    def per_second(self, count: int) -> float:
        """`count` over the seconds since the run started (0 at the very start)."""
        elapsed = self.elapsed()
        return count / elapsed if elapsed > 0 else 0.0
