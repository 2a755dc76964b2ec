"""Shared fixtures of the tap tests: write archives, run the real console script."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TAP_EXECUTABLE = Path(sys.executable).with_name("tap-product-events")
FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class TapRun:
    """What one run of `tap-product-events` printed."""

    returncode: int
    messages: list[dict[str, t.Any]]
    stderr: str
    stdout_lines: list[str] = field(default_factory=list)

    def records(self, stream: str | None = None) -> list[dict[str, t.Any]]:
        """The RECORD payloads, of one stream or all, in output order."""
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
        ]

    def message_ids(self) -> set[str]:
        """The messageIds of every record."""
        return {r["messageId"] for r in self.records()}

    @property
    def states(self) -> list[dict[str, t.Any]]:
        """The STATE values, in output order."""
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, t.Any]:
        """The last STATE value: what Meltano stores and passes back next run."""
        return self.states[-1]


def write_archive(path: Path, messages: t.Iterable[object], *, append: bool = False) -> Path:
    """Write messages as JSON lines (gzip when the name ends in .gz); str items are raw lines."""
    lines = "".join(
        (m if isinstance(m, str) else json.dumps(m, ensure_ascii=False)) + "\n" for m in messages
    ).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(lines))
    else:
        with open(path, "ab" if append else "wb") as handle:
            handle.write(lines)
    return path


def track(message_id: str, **fields: t.Any) -> dict[str, t.Any]:
    """A Segment track message with sensible defaults."""
    message = {
        "type": "track",
        "messageId": message_id,
        "userId": "u-1",
        "event": "Report Viewed",
        "properties": {"n": 1},
        "timestamp": "2026-03-01T09:00:00Z",
        "receivedAt": "2026-03-01T09:00:01Z",
    }
    message.update(fields)
    return message


@pytest.fixture
def run_tap(tmp_path: Path) -> t.Callable[..., TapRun]:
    """Run the console script with a config (and state); parse what it printed."""
    counter = iter(range(1_000_000))

    def run(
        config: dict[str, t.Any],
        state: dict[str, t.Any] | None = None,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> TapRun:
        n = next(counter)
        config_path = tmp_path / f"config-{n}.json"
        config_path.write_text(json.dumps(config))
        args = [str(TAP_EXECUTABLE), "--config", str(config_path)]
        if state is not None:
            state_path = tmp_path / f"state-{n}.json"
            state_path.write_text(json.dumps(state))
            args += ["--state", str(state_path)]
        completed = subprocess.run(
            args,
            capture_output=True,
            text=True,
            cwd=cwd or tmp_path,
            env={**os.environ, **(env or {})},
            timeout=120,
        )
        lines = [line for line in completed.stdout.splitlines() if line.strip()]
        return TapRun(
            returncode=completed.returncode,
            messages=[json.loads(line) for line in lines],
            stderr=completed.stderr,
            stdout_lines=lines,
        )

    return run


@pytest.fixture
def archive() -> t.Callable[..., Path]:
    """write_archive, as a fixture (test modules do not import conftest)."""
    return write_archive


@pytest.fixture
def make_track() -> t.Callable[..., dict[str, t.Any]]:
    """track(), as a fixture."""
    return track
