"""A message over `max_message_bytes` is a malformed line: reported, skipped, never held.

Segment refuses messages over 32 KB; the tap's default limit (64 KiB) leaves room for the
fields Segment adds on arrival. A longer line (e.g. 10 MB of garbage in an archive) is
reported as `path:line`, counted and skipped, and the lines around it go through.
"""

from __future__ import annotations

import gzip
import resource
from pathlib import Path

import pytest
from tap_product_events.message_limits import OversizeLine, bounded_lines

HUGE = 10 * 1024 * 1024


@pytest.mark.parametrize("name", ["events.jsonl", "events.jsonl.gz"])
def test_a_10_mb_line_is_reported_with_file_and_line_and_the_rest_goes_through(
    tmp_path: Path, run_tap, archive, make_track, name: str
) -> None:
    huge = make_track("huge", properties={"blob": "x" * HUGE})
    near = make_track("near", properties={"blob": "y" * 40_000})  # over 32 KB, under 64 KiB
    path = archive(tmp_path / name, [make_track("ok-1"), huge, near, make_track("ok-2")])

    run = run_tap({"events_paths": [str(path)]})

    assert run.returncode == 0, run.stderr
    assert run.message_ids() == {"ok-1", "near", "ok-2"}
    reported = [line for line in run.stderr.splitlines() if f"{path}:2:" in line]
    assert reported and "is over max_message_bytes (65536)" in reported[0]
    assert "1 malformed line in 1 file" in run.stderr


def test_the_limit_is_a_setting_and_strict_makes_it_fatal(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    big = make_track("big", properties={"blob": "z" * 5000})
    path = archive(tmp_path / "events.jsonl", [make_track("ok-1"), big])

    lenient = run_tap({"events_paths": [str(path)], "max_message_bytes": 4096})
    assert lenient.message_ids() == {"ok-1"}
    strict = run_tap({"events_paths": [str(path)], "max_message_bytes": 4096, "strict": True})
    assert strict.returncode != 0
    assert f"Malformed line at {path}:2: message of" in strict.stderr


def test_an_unfinished_huge_line_is_read_again_when_complete(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    path = archive(tmp_path / "events.jsonl", [make_track("ok-1")])
    with path.open("ab") as out:
        out.write(b'{"type": "track", "blob": "' + b"w" * 100_000)  # still being written
    first = run_tap({"events_paths": [str(path)]})
    assert first.message_ids() == {"ok-1"}
    assert f"{path}:2:" not in first.stderr  # not reported while it may still be written
    with path.open("ab") as out:
        out.write(b'"}\n')
    archive(path, [make_track("ok-2")], append=True)
    second = run_tap({"events_paths": [str(path)]}, first.final_state)
    assert second.message_ids() == {"ok-2"}
    assert f"{path}:2:" in second.stderr and "over max_message_bytes" in second.stderr


def test_reading_past_a_huge_line_holds_a_bounded_amount(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl.gz"
    with gzip.open(path, "wb") as out:
        out.write(b"a" * (200 * 1024 * 1024) + b"\n{}\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with gzip.open(path, "rb") as handle:
        lines = list(bounded_lines(handle, 65_536))
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert lines == [OversizeLine(size=200 * 1024 * 1024, complete=True), b"{}\n"]
    assert grown_kb < 50 * 1024  # far less than the 200 MB line
