"""Shared fixtures of the tap tests: write archives, run the real console script."""

from __future__ import annotations

import functools
import gzip
import json
import typing as t
from pathlib import Path

import pytest

from ..tap_runs import TapRun, run_tap_cli

FIXTURES = Path(__file__).parent / "fixtures"


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
    return functools.partial(run_tap_cli, tmp_path)


@pytest.fixture
def archive() -> t.Callable[..., Path]:
    """write_archive, as a fixture (test modules do not import conftest)."""
    return write_archive


@pytest.fixture
def make_track() -> t.Callable[..., dict[str, t.Any]]:
    """track(), as a fixture."""
    return track
