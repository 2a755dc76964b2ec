"""Incremental on arrival: each run reads what arrived since the STATE of the last one."""

from __future__ import annotations

import os
from pathlib import Path

OLD = {"timestamp": "2019-05-01T00:00:00Z", "receivedAt": "2019-05-01T00:00:05Z"}


def test_next_run_reads_only_appended_lines_and_new_files_however_old_their_timestamps(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    config = {"events_paths": [str(tmp_path / "in" / "**" / "*")]}
    log = archive(tmp_path / "in" / "app.jsonl", [make_track("a1"), make_track("a2")])
    archive(tmp_path / "in" / "old.jsonl.gz", [make_track("g1")])
    first = run_tap(config)
    assert first.returncode == 0, first.stderr
    assert first.message_ids() == {"a1", "a2", "g1"}

    archive(log, [make_track("a3", **OLD)], append=True)
    archive(tmp_path / "in" / "late" / "new.jsonl.gz", [make_track("late-1", **OLD)])
    archive(tmp_path / "in" / "late.jsonl", [{"type": "identify", "userId": "u", **OLD}])
    second = run_tap(config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    assert [r["messageId"] for r in second.records("tracks")] == ["a3", "late-1"]
    assert len(second.records("identifies")) == 1


def test_run_with_nothing_new_emits_no_records(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    config = {"events_paths": [str(tmp_path / "*.jsonl"), str(tmp_path / "*.gz")]}
    archive(tmp_path / "a.jsonl", [make_track("a1")])
    archive(tmp_path / "b.jsonl.gz", [make_track("b1")])
    first = run_tap(config)
    second = run_tap(config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    assert second.records() == []
    assert second.final_state["sources"] == first.final_state["sources"]


def test_the_bookmark_is_emitted_only_after_every_record_it_covers(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    archive(
        tmp_path / "a.jsonl",
        [{"type": "alias", "userId": "u", "previousId": "p"}, make_track("t1"), make_track("t2")],
    )
    run = run_tap({"events_paths": [str(tmp_path / "a.jsonl")]})

    kinds = [m["type"] for m in run.messages]
    last_record = max(i for i, kind in enumerate(kinds) if kind == "RECORD")
    first_bookmark = min(
        i for i, m in enumerate(run.messages) if m["type"] == "STATE" and "sources" in m["value"]
    )
    assert first_bookmark > last_record


def test_start_date_skips_earlier_arrivals_on_the_first_run_only(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    config = {"events_paths": [str(tmp_path / "*.jsonl")], "start_date": "2026-01-01"}
    archive(
        tmp_path / "a.jsonl",
        [
            # Arrival decides, not the event's own time:
            make_track("before", timestamp="2026-02-01T00:00Z", receivedAt="2025-12-31T23:59Z"),
            make_track("after", timestamp="2025-06-01T00:00Z", receivedAt="2026-01-01T00:00Z"),
            {k: v for k, v in make_track("ts-only").items() if k != "receivedAt"}
            | {"timestamp": "2025-12-01T00:00:00Z"},
        ],
    )
    first = run_tap(config)
    assert first.message_ids() == {"after"}

    archive(tmp_path / "b.jsonl", [make_track("late", **OLD)])
    second = run_tap(config, state=first.final_state)
    assert second.message_ids() == {"late"}


def test_state_records_file_offsets_and_the_latest_arrival(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    log = archive(
        tmp_path / "a.jsonl",
        [
            make_track("x", receivedAt="2026-03-02T10:00:00.250+01:00"),
            make_track("y", receivedAt="2026-03-01T23:00:00Z"),
        ],
    )
    state = run_tap({"events_paths": [str(log)]}).final_state["sources"]["events_files"]

    assert state["max_received_at"] == "2026-03-02T09:00:00.250000Z"
    assert state["files"][str(log)]["offset"] == log.stat().st_size
    assert state["files"][str(log)]["lines"] == 2


def test_a_changed_gzip_archive_is_read_again_wholly(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    config = {"events_paths": [str(tmp_path / "*.gz")]}
    gz = archive(tmp_path / "a.jsonl.gz", [make_track("g1")])
    first = run_tap(config)

    archive(gz, [make_track("g1"), make_track("g2")])
    os.utime(gz, ns=(gz.stat().st_atime_ns, gz.stat().st_mtime_ns + 10**9))
    second = run_tap(config, state=first.final_state)

    # g1 is delivered again: harmless, the transform counts a messageId once.
    assert [r["messageId"] for r in second.records()] == ["g1", "g2"]


def test_a_replaced_log_file_is_read_from_its_start(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    config = {"events_paths": [str(tmp_path / "*.jsonl")]}
    log = archive(tmp_path / "app.jsonl", [make_track("old-1"), make_track("old-2")])
    first = run_tap(config)

    replacement = archive(tmp_path / "next.tmp", [make_track("new-1")])
    os.replace(replacement, log)  # log rotation: a new file under the same name
    second = run_tap(config, state=first.final_state)

    assert second.message_ids() == {"new-1"}


def test_a_line_still_being_written_is_read_next_run_once_complete(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    config = {"events_paths": [str(tmp_path / "*.jsonl")]}
    log = archive(tmp_path / "app.jsonl", [make_track("done")])
    with open(log, "a") as handle:
        handle.write('{"type":"track","messageId":"half","ev')
    first = run_tap(config)
    assert first.message_ids() == {"done"}
    assert "malformed line" not in first.stderr.lower().replace("0 malformed lines", "")

    with open(log, "a") as handle:
        handle.write('ent":"E"}\n')
    second = run_tap(config, state=first.final_state)
    assert second.message_ids() == {"half"}


def test_state_keys_of_downstream_plugins_are_passed_through(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    config = {"events_paths": [str(tmp_path / "*.jsonl")]}
    archive(tmp_path / "a.jsonl", [make_track("a1")])
    first = run_tap(config)
    handed_back = {**first.final_state, "plg_transform": {"store_id": "store-1"}}
    archive(tmp_path / "b.jsonl", [make_track("b1")])
    second = run_tap(config, state=handed_back)

    assert second.returncode == 0, second.stderr
    assert [r["messageId"] for r in second.records("tracks")] == ["b1"]
    assert second.final_state["plg_transform"] == {"store_id": "store-1"}
