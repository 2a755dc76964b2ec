"""Helpers to drive plg-transform through its real CLI on hand-made Singer input."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).parent / "plg-transform")
AS_OF = "2026-03-01T12:00:00Z"


def record(stream: str, **fields: object) -> str:
    """A Singer RECORD line for an input stream."""
    return json.dumps({"type": "RECORD", "stream": stream, "record": fields})


def track(
    mid: str,
    user: str | None,
    event: str,
    ts: str,
    account: str | None = None,
    anon: str | None = None,
) -> str:
    """A `tracks` RECORD line; the account goes to context.groupId."""
    rec: dict = {"messageId": mid, "type": "track", "event": event, "timestamp": ts}
    if user is not None:
        rec["userId"] = user
    if anon is not None:
        rec["anonymousId"] = anon
    if account is not None:
        rec["context"] = {"groupId": account}
    return json.dumps({"type": "RECORD", "stream": "tracks", "record": rec})


def state(value: dict) -> str:
    """A Singer STATE line."""
    return json.dumps({"type": "STATE", "value": value})


@dataclass
class Output:
    """What one run printed: messages in order, records per stream, and the log."""

    messages: list[dict]
    log: str
    returncode: int
    records: dict[str, list[dict]] = field(default_factory=dict)

    def by_key(self, stream: str) -> dict:
        """Records of a stream keyed by their key (tuple for associations)."""
        out = {}
        for r in self.records.get(stream, []):
            key = (
                (r["user_id"], r["account_id"])
                if stream == "associations"
                else (r["user_id"] if stream == "contacts" else r["account_id"])
            )
            out[key] = r
        return out


@pytest.fixture
def run_transform(tmp_path: Path):
    """Run `plg-transform --config cfg.json < input` with a DuckDB store in tmp_path."""

    def run(lines: list[str], config: dict | None = None, check: bool = True) -> Output:
        cfg = {"store_path": str(tmp_path / "store.duckdb"), "as_of": AS_OF}
        cfg.update(config or {})
        cfg_path = tmp_path / "cfg.json"
        cfg_path.write_text(json.dumps(cfg))
        proc = subprocess.run(
            [CLI, "--config", str(cfg_path)],
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(proc.stderr[-3000:])
        messages = [json.loads(x) for x in proc.stdout.splitlines() if x.strip()]
        out = Output(messages=messages, log=proc.stderr, returncode=proc.returncode)
        for m in messages:
            if m["type"] == "RECORD":
                out.records.setdefault(m["stream"], []).append(m["record"])
        return out

    return run
