"""Counting and reporting bad input without stopping the run (unless strict)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

EXAMPLES_KEPT = 3

REASONS = {
    "no_time": "no timestamp, originalTimestamp or receivedAt that parses as ISO 8601",
    "no_identity": "no usable userId/anonymousId (or previousId/groupId where needed)",
    "no_event_name": "track event without an event name",
    "malformed_traits": "traits is not a JSON object (message kept, traits ignored)",
    "malformed_record": "record is not a JSON object",
    "bad_metric": "metrics record without a valid entity, ids, metric, value or observed_at",
    "implausible_time": "event time before earliest_event_time or more than "
    "max_clock_skew_hours after the run started (receivedAt used instead)",
    "implausible_time_dropped": "event time and receivedAt both implausible (message ignored)",
    "implausible_created_at": "createdAt trait before earliest_event_time (trait ignored for "
    "tenure)",
    "oversize_line": "input line longer than max_record_bytes (skipped)",
    "invalid_email": "merged email trait is not a plausible address (email left null)",
    "bad_rollup": "daily_rollups record without a valid identity, event, day, count >= 0, "
    "times on its day or first_events (row ignored)",
}


class BadInputError(Exception):
    """Raised in strict mode at the first bad input."""


@dataclass
class BadInput:
    """Per-reason counts of bad input, with a few example message ids each."""

    strict: bool
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    fatal_reasons: frozenset[str] = frozenset(REASONS) - {"implausible_time"}

    def add(self, reason: str, example: object, count: int = 1) -> None:
        """Count `count` bad inputs for `reason`; strict mode stops on fatal reasons."""
        if self.strict and reason in self.fatal_reasons:
            raise BadInputError(f"strict: {reason} ({REASONS[reason]}): {example}")
        self.counts[reason] = self.counts.get(reason, 0) + count
        kept = self.examples.setdefault(reason, [])
        if len(kept) < EXAMPLES_KEPT:
            kept.append(str(example))

    def report(self, logger: logging.Logger) -> None:
        """Log one summary line per reason."""
        for reason in sorted(self.counts):
            logger.warning(
                "bad input: %s: %d (%s), e.g. %s",
                reason,
                self.counts[reason],
                REASONS[reason],
                ", ".join(self.examples[reason]),
            )
