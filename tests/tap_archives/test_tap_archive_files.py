"""Which files are read: globs, folders, gzip, `~` and relative paths, settings errors."""

from __future__ import annotations

from pathlib import Path


def test_gzip_and_plain_archives_are_both_read(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    archive(tmp_path / "a.jsonl", [make_track("plain")])
    archive(tmp_path / "b.jsonl.gz", [make_track("gz-1"), {"type": "identify", "userId": 1}])
    archive(tmp_path / "c.gz", [make_track("gz-2")])
    archive(tmp_path / "d.json", [make_track("json")])

    run = run_tap({"events_paths": [str(tmp_path / "*")]})

    assert run.returncode == 0, run.stderr
    assert {r["messageId"] for r in run.records("tracks")} == {"plain", "gz-1", "gz-2", "json"}
    assert [r["userId"] for r in run.records("identifies")] == ["1"]


def test_recursive_glob_reads_nested_folders_and_each_file_once(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    archive(tmp_path / "segment" / "2026" / "03" / "01" / "x.jsonl.gz", [make_track("deep")])
    archive(tmp_path / "segment" / "top.jsonl", [make_track("top")])
    archive(tmp_path / "segment" / "notes.txt", ["not an archive"])

    run = run_tap(
        {
            "events_paths": [
                str(tmp_path / "segment" / "**" / "*.gz"),
                str(tmp_path / "segment" / "**" / "*"),  # overlaps the first glob
            ]
        }
    )

    assert run.returncode == 0, run.stderr
    assert sorted(r["messageId"] for r in run.records()) == ["deep", "top"]
    assert "malformed" not in run.stderr.replace("0 malformed lines", "")


def test_relative_and_home_paths_resolve_against_working_directory_and_home(
    tmp_path: Path, run_tap, archive, make_track
) -> None:
    project = tmp_path / "project"
    home = tmp_path / "home"
    archive(project / "data" / "rel.jsonl", [make_track("relative")])
    archive(home / "exports" / "home.jsonl", [make_track("home")])
    archive(project / "folder" / "sub" / "in-folder.jsonl", [make_track("folder")])

    run = run_tap(
        {"events_paths": ["data/*.jsonl", "~/exports/*.jsonl", "folder"]},
        cwd=project,
        env={"HOME": str(home)},
    )

    assert run.returncode == 0, run.stderr
    assert run.message_ids() == {"relative", "home", "folder"}
    files = run.final_state["sources"]["events_files"]["files"]
    assert str(project / "data" / "rel.jsonl") in files  # bookmarks use absolute paths


def test_a_glob_matching_nothing_is_a_warning_not_a_failure(tmp_path: Path, run_tap) -> None:
    run = run_tap({"events_paths": [str(tmp_path / "nothing-yet" / "*.jsonl")]})

    assert run.returncode == 0, run.stderr
    assert "matches no file" in run.stderr
    assert run.records() == []


def test_invalid_settings_fail_at_start_naming_the_setting(tmp_path: Path, run_tap) -> None:
    run = run_tap({"events_paths": [str(tmp_path)], "start_date": "last tuesday"})
    assert run.returncode == 1
    assert '`start_date`: "last tuesday" is not an ISO 8601 date-time' in run.stderr

    run = run_tap({"events_paths": []})
    assert run.returncode == 1
    assert "`events_paths`: needs at least 1 item, got an empty list" in run.stderr
