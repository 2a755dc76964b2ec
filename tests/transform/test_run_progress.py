"""A long run tells its log how far it got; a short run says one summary line.

The real CLI reads from a pipe fed the way a slow tap feeds it (blocks of records with
pauses), so the run lasts several seconds whatever the machine's speed, with a short
`progress_interval_seconds`.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

from plg_settings.progress import ProgressPace

from .conftest import AS_OF, CLI, track

# Lines the SDK itself logs at start and end of every run (not ours to shorten).
SDK_LINES = ("plg-transform v", "Skipping parse of env var settings", "Reader 'plg-transform'")
SUMMARY = "run summary: "


def _info_lines(log: str) -> list[str]:
    """The messages of our INFO lines (`time | INFO | logger | message`)."""
    messages = [line.split("|", 3)[3].strip() for line in log.splitlines() if "| INFO" in line]
    return [m for m in messages if not m.startswith(SDK_LINES)]


def _tracks(first: int, count: int) -> list[str]:
    return [
        track(f"m{i}", f"u{i % 500}", "Run", f"2026-02-{1 + i % 28:02d}T10:00:00Z", f"a{i % 40}")
        for i in range(first, first + count)
    ]


def _run_fed_slowly(tmp_path: Path, config: dict, blocks: int, per_block: int, pause: float):
    cfg = {"store_path": str(tmp_path / "store.duckdb"), "as_of": AS_OF, **config}
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg))
    proc = subprocess.Popen(
        [CLI, "--config", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stderr is not None
    for block in range(blocks):
        proc.stdin.write("\n".join(_tracks(block * per_block, per_block)) + "\n")
        proc.stdin.flush()
        time.sleep(pause)
    proc.stdin.close()
    log = proc.stderr.read()
    assert proc.wait(timeout=300) == 0, log[-3000:]
    return log


def test_a_long_run_logs_reading_progress_phases_and_one_summary(tmp_path: Path) -> None:
    # Each block is more than the reader's 4 MB read; 500 users x 40 accounts make 1000 pairs.
    blocks, per_block = 6, 25_000
    log = _run_fed_slowly(
        tmp_path, {"progress_interval_seconds": 0.5}, blocks, per_block, pause=0.7
    )
    lines = _info_lines(log)
    reading = [
        int(m.group(1))
        for line in lines
        if (m := re.match(r"reading input: (\d+) records so far in \d+ s \(\d+ records/s\)", line))
    ]
    assert len(reading) >= 3, lines
    assert reading == sorted(reading) and reading[-1] <= blocks * per_block
    total = blocks * per_block
    phases = [
        f"read and staged {total} input records in ",
        f"stored {total} new of {total} received messages (0 re-delivered ignored)",
        "scored 500 users, 40 accounts, 1000 memberships as of 2026-03-01T12:00:00Z",
        "emitted 40 companies records in ",
        "emitted 500 contacts records in ",
        "emitted 1000 associations records in ",
    ]
    for phase in phases:
        assert any(line.startswith(phase) for line in lines), (phase, lines)
    summaries = [line for line in lines if line.startswith(SUMMARY)]
    assert len(summaries) == 1, lines
    assert f"read and staged {total} input records" in summaries[0]
    assert "emitted 40 companies, 500 contacts, 1000 associations" in summaries[0]
    assert lines[-1] == summaries[0]


def test_a_short_run_logs_exactly_one_summary_line(run_transform) -> None:
    lines = [
        track("m1", "u1", "Run", "2026-02-25T10:00:00Z", "a1"),
        track("m2", "u2", "Run", "2026-02-26T10:00:00Z", "a1"),
    ]
    out = run_transform(lines, {"progress_interval_seconds": 60})
    info = _info_lines(out.log)
    assert len(info) == 1, info
    assert info[0].startswith("run summary: read and staged 2 input records in ") and info[
        0
    ].endswith(" s")
    assert "stored 2 new of 2 received messages" in info[0]
    assert "scored 2 users, 1 accounts, 2 memberships as of 2026-03-01T12:00:00Z" in info[0]
    assert "emitted 1 companies, 2 contacts, 2 associations" in info[0]


def test_progress_pace_is_due_at_most_every_interval() -> None:
    """The shared pace (plg_settings.progress) of the tap's, transform's and target's lines."""
    now = [100.0]
    pace = ProgressPace(5, clock=lambda: now[0])
    due = []
    for moment in (101, 104.9, 105, 107, 110.5, 111):
        now[0] = moment
        due.append(pace.due())
    assert due == [False, False, True, False, True, False]
    assert pace.elapsed() == 11 and pace.per_second(22) == 2
    waits = ProgressPace(5, clock=lambda: now[0], from_first_check=True)
    now[0] = 200
    assert (waits.due(), waits.per_second(0)) == (False, 0)
    now[0] = 205
    assert waits.due()
