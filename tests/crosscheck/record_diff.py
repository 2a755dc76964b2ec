"""Field-by-field comparison of the mapper's records with the reference's, readable."""

from __future__ import annotations

import json
import math
from typing import Any

KEYS = {
    "contacts": ("user_id",),
    "companies": ("account_id",),
    "associations": ("user_id", "account_id"),
}
# pipeline-contract.md: scores, counts and day counts are integers.
INTEGER_FIELDS = {
    "engagement_score",
    "engagement_score_previous",
    "engagement_trend",
    "active_days",
    "days_since_last_active",
    "tenure_days",
    "activation_steps_completed",
    "active_users",
    "total_users",
}


def same_value(field: str, mapper: Any, reference: Any) -> bool:
    """Equal as JSON values; numbers within 1e-9, integer fields must be integers."""
    if isinstance(mapper, bool) or isinstance(reference, bool):
        return mapper is reference
    numbers = (int, float)
    if isinstance(mapper, numbers) and isinstance(reference, numbers):
        if field in INTEGER_FIELDS and not isinstance(mapper, int):
            return False
        return math.isclose(mapper, reference, rel_tol=1e-9, abs_tol=1e-9)
    return bool(mapper == reference)


def record_differences(mapper: dict, reference: dict) -> list[str]:
    """`field: mapper=... reference=...` lines; a metric_* field absent equals null."""
    lines = []
    for field in sorted(set(mapper) | set(reference)):
        absent = object()
        got = mapper.get(field, absent)
        want = reference.get(field, absent)
        if field.startswith("metric_"):
            got = None if got is absent else got
            want = None if want is absent else want
        if got is absent:
            lines.append(f"{field}: missing from mapper (reference={json.dumps(want)})")
        elif want is absent:
            lines.append(f"{field}: extra in mapper ({json.dumps(got)})")
        elif not same_value(field, got, want):
            lines.append(f"{field}: mapper={json.dumps(got)} reference={json.dumps(want)}")
    return lines


def output_differences(
    mapper: dict[str, list[dict]], reference: dict[str, list[dict]]
) -> list[str]:
    """Every difference between two outputs, stream by stream and entity by entity."""
    lines = []
    for stream, key_fields in KEYS.items():
        got = {tuple(str(r.get(k)) for k in key_fields): r for r in mapper.get(stream, [])}
        want = {tuple(str(r.get(k)) for k in key_fields): r for r in reference.get(stream, [])}
        if len(got) != len(mapper.get(stream, [])):
            lines.append(f"{stream}: mapper emitted a key more than once")
        for key in sorted(set(got) | set(want)):
            label = f"{stream}[{'/'.join(key)}]"
            if key not in got:
                lines.append(f"{label}: missing from mapper")
            elif key not in want:
                lines.append(f"{label}: extra in mapper")
            else:
                lines.extend(f"{label}.{line}" for line in record_differences(got[key], want[key]))
    return lines


def explain(differences: list[str], limit: int = 60) -> str:
    """A readable failure message (first `limit` lines)."""
    shown = differences[:limit]
    more = len(differences) - len(shown)
    return "\n".join(shown) + (f"\n... and {more} more" if more > 0 else "")
