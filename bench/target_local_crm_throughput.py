"""Throughput of target-plg-crm on the local CRM: a first run, then an unchanged re-run.

    .venv/bin/python bench/target_local_crm_throughput.py [accounts] [users_per_account]

Prints a table: records in, wall time and records/s for each run (real console script).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = Path(sys.executable).parent / "target-plg-crm"


def messages(accounts: int, users_per_account: int) -> list[str]:
    """SCHEMA and RECORD lines shaped like the transform's output."""

    def schema(stream: str, properties: dict, key: list[str]) -> dict:
        body = {"type": "object", "properties": properties}
        return {"type": "SCHEMA", "stream": stream, "schema": body, "key_properties": key}

    common = {
        "engagement_score": {"type": "integer"},
        "activation_rate": {"type": ["number", "null"]},
        "last_active_at": {"type": ["string", "null"], "format": "date-time"},
        "segments": {"type": "string"},
        "lifecycle_stage": {"type": ["string", "null"]},
        "as_of": {"type": "string", "format": "date-time"},
    }
    lines = [
        schema("companies", {"account_id": {"type": "string"}, **common}, ["account_id"]),
        schema(
            "contacts",
            {
                "user_id": {"type": "string"},
                "email": {"type": "string"},
                "primary_account_id": {"type": "string"},
                **common,
            },
            ["user_id"],
        ),
        schema(
            "associations",
            {
                "user_id": {"type": "string"},
                "account_id": {"type": "string"},
                "role": {"type": "string"},
                **common,
            },
            ["user_id", "account_id"],
        ),
    ]
    values = {
        "engagement_score": 42,
        "activation_rate": 0.75,
        "last_active_at": "2026-03-01T12:30:05Z",
        "segments": "active;expansion",
        "lifecycle_stage": "customer",
        "as_of": "2026-03-02T00:00:00Z",
    }

    def rec(stream: str, **fields: object) -> dict:
        return {"type": "RECORD", "stream": stream, "record": {**fields, **values}}

    users = [(a, u) for a in range(accounts) for u in range(users_per_account)]
    lines += [rec("companies", account_id=f"a{a}") for a in range(accounts)]
    lines += [
        rec("contacts", user_id=f"u{a}-{u}", email=f"u{a}-{u}@acme.com", primary_account_id=f"a{a}")
        for a, u in users
    ]
    lines += [
        rec("associations", user_id=f"u{a}-{u}", account_id=f"a{a}", role="member")
        for a, u in users
    ]
    lines.append({"type": "STATE", "value": {"bookmarks": {"done": True}}})
    return [json.dumps(line) + "\n" for line in lines]


def run(folder: Path, lines: list[str]) -> float:
    """Seconds one run of the console script takes."""
    config = folder / "config.json"
    config.write_text(
        json.dumps(
            {
                "local_path": str(folder / "crm.sqlite"),
                "ledger_path": str(folder / "ledger.sqlite"),
                "rejects_path": str(folder / "rejects.jsonl"),
                "summary_path": str(folder / "summary.json"),
            }
        )
    )
    started = time.perf_counter()
    subprocess.run(
        [str(TARGET), "--config", str(config)],
        input="".join(lines),
        text=True,
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - started


def main() -> None:
    """Run the benchmark and print the table."""
    accounts = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    per_account = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    lines = messages(accounts, per_account)
    records = len(lines) - 4
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        first = run(folder, lines)
        second = run(folder, lines)
    print(f"{'run':<28}{'records':>10}{'seconds':>10}{'records/s':>12}")
    for name, seconds in (("first (all created)", first), ("second (all unchanged)", second)):
        print(f"{name:<28}{records:>10}{seconds:>10.2f}{records / seconds:>12.0f}")


if __name__ == "__main__":
    main()
