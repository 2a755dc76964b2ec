"""What a run did, per CRM object type: created, updated, unchanged, rejected."""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

OUTCOMES = ("created", "updated", "unchanged", "rejected", "filtered", "skipped")


@dataclass
class RunSummary:
    """Counters filled by the sinks, logged and written at the end of the run."""

    dry_run: bool = False
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    ignored_streams: Counter[str] = field(default_factory=Counter)
    #: Short notes the summary line ends with (e.g. a playbook's first run on a CRM).
    notes: list[str] = field(default_factory=list)

    def add(self, object_type: str, outcome: str, count: int = 1) -> None:
        """Count `count` records of `object_type` with `outcome` (one of OUTCOMES)."""
        self.counts.setdefault(object_type, Counter())[outcome] += count

    def as_dict(self) -> dict:
        """The summary as JSON-ready data."""
        return {
            "finished_at": datetime.now(UTC).isoformat(),
            "dry_run": self.dry_run,
            "objects": {
                object_type: {outcome: counts[outcome] for outcome in OUTCOMES}
                for object_type, counts in sorted(self.counts.items())
            },
            "ignored_streams": dict(sorted(self.ignored_streams.items())),
        }

    def log(self, logger: logging.Logger, tail: str = "") -> None:
        """One line: the outcomes per object type, ignored streams, then `tail`."""
        verb = ("would create", "would update") if self.dry_run else ("created", "updated")
        parts = []
        for object_type, counts in sorted(self.counts.items()):
            # Filtered (sync_filter) and skipped (update_only) only when there are any.
            left_out = "".join(
                f", {counts[outcome]} {outcome}"
                for outcome in ("filtered", "skipped")
                if counts[outcome]
            )
            parts.append(
                f"{object_type}: {counts['created']} {verb[0]}, {counts['updated']} {verb[1]}, "
                f"{counts['unchanged']} unchanged, {counts['rejected']} rejected{left_out}"
            )
        parts += [
            f"stream {stream}: {count} records ignored (not a CRM stream)"
            for stream, count in sorted(self.ignored_streams.items())
        ]
        parts += self.notes
        if tail:
            parts.append(tail)
        logger.info("run summary: %s", "; ".join(parts) or "no records")

    def write(self, path: Path) -> None:
        """Write the summary as JSON to `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n", encoding="utf-8")
