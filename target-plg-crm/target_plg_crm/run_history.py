"""The run history: one JSON line appended per run, so an admin can follow the runs.

Each line says when the run started and finished, whether it succeeded, the CRM, whether
it was a dry run, the records per object type and outcome, the rejects, the CRM calls
per endpoint, the retries and the waits the rate limits cost. A run that fails appends
a line with `"status": "failed"` and the one-line error (never a secret: errors name
settings, not their values).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from target_plg_crm.crm.usage import CRMUsage

#: The outcomes counted per object type (`skipped`: left out by the run's settings).
OUTCOMES = ("created", "updated", "unchanged", "rejected", "skipped")


def history_line(
    *,
    started_at: datetime,
    finished_at: datetime,
    crm: str,
    dry_run: bool,
    counts: Mapping[str, Counter[str]],
    rejects: int,
    usage: CRMUsage,
    error: str | None = None,
) -> dict[str, Any]:
    """One run as the history records it."""
    return {
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "seconds": round((finished_at - started_at).total_seconds(), 3),
        "status": "failed" if error else "succeeded",
        "exit_code": 1 if error else 0,
        "error": error,
        "crm": crm,
        "dry_run": dry_run,
        "objects": {
            object_type: {outcome: counter[outcome] for outcome in OUTCOMES}
            for object_type, counter in sorted(counts.items())
        },
        "rejects": rejects,
        "calls": usage.as_dict(),
    }


def append_line(path: Path, line: Mapping[str, Any]) -> None:
    """Append `line` as one JSON line to the history at `path` (created when missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.write(json.dumps(line, sort_keys=False) + "\n")
