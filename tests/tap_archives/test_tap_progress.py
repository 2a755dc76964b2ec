"""Long reads log their progress naming where they are; short runs log one summary line."""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

from ..tap_warehouse.segment_warehouse import load_messages
from .conftest import TapRun, track, write_archive

SUMMARY = re.compile(
    r"Read (\d+) messages from (\d+) files/tables in [\d.]+ s \((\d+) messages/s\)"
)
PROGRESS = re.compile(
    r"Progress: (\d+) files/tables, (\d+) messages \((\d+) messages/s\); reading (.+)"
)


def _archives(folder: Path, files: int, per_file: int) -> list[Path]:
    return [
        write_archive(
            folder / f"day-{f}.jsonl.gz" if f % 2 else folder / f"day-{f}.jsonl",
            [track(f"m-{f}-{i}") for i in range(per_file)],
        )
        for f in range(files)
    ]


def _lines(run: TapRun, pattern: re.Pattern[str]) -> list[re.Match[str]]:
    assert run.returncode == 0, run.stderr[-3000:]
    return [m for m in map(pattern.search, run.stderr.splitlines()) if m]


def test_a_long_read_logs_progress_naming_each_file_and_ends_with_a_summary(
    tmp_path: Path, run_tap: t.Callable[..., TapRun]
) -> None:
    paths = _archives(tmp_path / "events", files=4, per_file=1_500)
    run = run_tap(
        {"events_paths": [str(tmp_path / "events" / "*")], "progress_interval_seconds": 0}
    )
    progress = _lines(run, PROGRESS)
    assert {m.group(4) for m in progress} == {str(p) for p in paths}
    counts = [int(m.group(2)) for m in progress]
    assert counts == sorted(counts) and counts[-1] >= 5_000
    assert [int(m.group(1)) for m in progress][-1] == 4
    summary = _lines(run, SUMMARY)
    assert len(summary) == 1 and summary[0].group(1, 2) == ("6000", "4")


def test_a_short_run_logs_only_its_summary_line(
    tmp_path: Path, run_tap: t.Callable[..., TapRun]
) -> None:
    _archives(tmp_path / "events", files=2, per_file=300)
    run = run_tap({"events_paths": [str(tmp_path / "events" / "*")]})  # default: 10 s
    assert _lines(run, PROGRESS) == []
    summary = _lines(run, SUMMARY)
    assert len(summary) == 1 and summary[0].group(1, 2) == ("600", "2")


def test_warehouse_progress_names_the_table_and_the_rollup(
    tmp_path: Path, run_tap: t.Callable[..., TapRun]
) -> None:
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    load_messages(url, [track(f"t-{i}", receivedAt="2026-03-01T09:00:01Z") for i in range(600)])
    raw = run_tap({"events_sql": {"url": url}, "progress_interval_seconds": 0})
    assert {m.group(4) for m in _lines(raw, PROGRESS)} == {"table tracks"}
    rolled = run_tap({"events_sql": {"url": url, "rollup": True}, "progress_interval_seconds": 0})
    assert {m.group(4) for m in _lines(rolled, PROGRESS)} == {"daily_rollups (tracks)"}
    assert _lines(rolled, SUMMARY)[0].group(2) == "1"
