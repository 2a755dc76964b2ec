"""Malformed lines are reported with file:line and counted; the rest goes through."""

from __future__ import annotations

from pathlib import Path

BAD_LINES = [
    ("not json at all", "not valid JSON"),
    ('["an", "array"]', "not a JSON object"),
    ('{"messageId": "no-type"}', "no message type"),
    ('{"type": "trak", "messageId": "x"}', "unknown message type 'trak'"),
    ('{"type": "track", "messageId": "y", "userId": true}', "userId must be a string or a number"),
    ('{"type": "track", "messageId": "z", "properties": [1]}', "properties must be a JSON object"),
]


def test_malformed_lines_are_reported_with_file_and_line_and_skipped(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    good = [make_track("ok-1"), make_track("ok-2"), make_track("ok-3")]
    lines = [good[0], *[line for line, _ in BAD_LINES], good[1], "", good[2]]
    path = archive(tmp_path / "events.jsonl", lines)
    other = archive(tmp_path / "more.jsonl", [make_track("ok-4"), "{broken"])

    run = run_tap({"events_paths": [str(tmp_path / "*.jsonl")]})

    assert run.returncode == 0, run.stderr
    assert run.message_ids() == {"ok-1", "ok-2", "ok-3", "ok-4"}
    for number, (_, reason) in enumerate(BAD_LINES, start=2):
        reported = [line for line in run.stderr.splitlines() if f"{path}:{number}:" in line]
        assert reported and reason in reported[0], (number, reason, run.stderr)
    assert f"{other}:2:" in run.stderr
    assert "7 malformed lines in 2 files" in run.stderr
    # The empty line is not malformed.
    assert f"{path}:{len(BAD_LINES) + 3}:" not in run.stderr


def test_strict_mode_stops_at_the_first_malformed_line_naming_it(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    path = archive(tmp_path / "events.jsonl", [make_track("ok-1"), "{oops", make_track("ok-2")])

    run = run_tap({"events_paths": [str(path)], "strict": True})

    assert run.returncode != 0
    assert f"Malformed line at {path}:2: not valid JSON" in run.stderr
    assert run.records() == []
    # Nothing was committed: the next (fixed) run reads the file again.
    assert all("sources" not in state for state in run.states)


def test_a_cut_gzip_archive_is_reported_and_its_readable_lines_go_through(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    path = archive(tmp_path / "events.jsonl.gz", [make_track(f"m{i}") for i in range(2000)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # an upload still in progress

    run = run_tap({"events_paths": [str(path)]})

    assert run.returncode == 0, run.stderr
    assert f"Cannot read {path}: gzip data is damaged or cut" in run.stderr
    assert 0 < len(run.records()) < 2000
    assert str(path) not in run.final_state.get("sources", {}).get("events_files", {}).get(
        "files", {}
    )
