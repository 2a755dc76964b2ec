"""Field-by-field comparison of two pipelines' records, as a readable list of differences."""

from __future__ import annotations

import json
import typing as t

KEYS = {
    "companies": ("account_id",),
    "contacts": ("user_id",),
    "associations": ("user_id", "account_id"),
}


def _shown(value: t.Any) -> str:
    return json.dumps(value, sort_keys=True)


def output_differences(
    got: t.Mapping[str, list[dict[str, t.Any]]],
    expected: t.Mapping[str, list[dict[str, t.Any]]],
    got_name: str,
    expected_name: str = "jsonl",
) -> list[str]:
    """`stream[key].field: <got_name>=... <expected_name>=...` lines; exact JSON equality."""
    lines: list[str] = []
    for stream, fields in KEYS.items():
        mine = {tuple(str(r.get(f)) for f in fields): r for r in got.get(stream, [])}
        theirs = {tuple(str(r.get(f)) for f in fields): r for r in expected.get(stream, [])}
        if len(mine) != len(got.get(stream, [])):
            lines.append(f"{stream}: {got_name} emitted a key more than once")
        for key in sorted(set(mine) | set(theirs)):
            label = f"{stream}[{'/'.join(key)}]"
            if key not in mine:
                lines.append(f"{label}: missing from {got_name}")
                continue
            if key not in theirs:
                lines.append(f"{label}: only in {got_name}")
                continue
            absent = object()
            for field in sorted(set(mine[key]) | set(theirs[key])):
                a, b = mine[key].get(field, absent), theirs[key].get(field, absent)
                # Type matters: 1 and 1.0, true and 1 are different JSON to a CRM.
                if a is absent or b is absent or type(a) is not type(b) or a != b:
                    left = "(absent)" if a is absent else _shown(a)
                    right = "(absent)" if b is absent else _shown(b)
                    lines.append(f"{label}.{field}: {got_name}={left} {expected_name}={right}")
    return lines


def explain(differences: list[str], limit: int = 60) -> str:
    """The first `limit` differences, one per line, and how many more there are."""
    shown = differences[:limit]
    more = len(differences) - len(shown)
    return "\n".join(shown) + (f"\n... and {more} more" if more > 0 else "")
