"""A store restored from an older backup of itself is never scored on partial history.

The store records the STATEs whose messages it absorbed; the marker the transform adds to
the STATE names the latest one. A run whose incoming marker names a bookmark the store
never absorbed scores nothing and forwards the last STATE the store did absorb, so the
next run re-reads what the store lacks. These tests play a tap that resumes from a
bookmark (a position in a fixed history) and passes our marker through, as the real tap
does, through the real CLI.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .conftest import state, track

HISTORY = [
    track(f"m{i}", f"u{i % 3}", "Run" if i % 2 else "Login", f"2026-02-{1 + i:02d}T10:00:00Z")
    for i in range(12)
]
RUN_ENDS = [3, 5, 8, 10, 12]  # the history arrives in five incremental runs


def _tap(saved: dict | None, end: int) -> list[str]:
    """What the tap sends: the messages after the saved bookmark, then its STATE."""
    start = saved["bookmarks"]["position"] if saved else 0
    value = {key: v for key, v in (saved or {}).items() if key != "bookmarks"}
    return [*HISTORY[start:end], state({**value, "bookmarks": {"position": end}})]


def _records(out) -> dict:
    return {stream: out.by_key(stream) for stream in ("contacts", "companies", "associations")}


def test_a_store_restored_from_any_earlier_backup_rewinds_then_matches_the_clean_run(
    run_transform, tmp_path: Path
):
    store = tmp_path / "store.duckdb"
    saved: dict | None = None
    backups: list[Path] = []
    for end in RUN_ENDS:
        out = run_transform(_tap(saved, end))
        saved = out.messages[-1]["value"]
        backup = tmp_path / f"backup-{end}.duckdb"
        shutil.copyfile(store, backup)
        backups.append(backup)
    clean = _records(out)
    latest = saved
    assert latest is not None
    for backup in backups[:-1]:  # every backup but the latest is behind the state
        shutil.copyfile(backup, store)
        behind = run_transform(_tap(latest, RUN_ENDS[-1]))
        assert behind.returncode == 0
        assert behind.records == {}  # nothing scored on partial history
        assert "has not absorbed the bookmark" in behind.log
        assert "meltano run --full-refresh" in behind.log
        rewound = behind.messages[-1]["value"]
        assert rewound["bookmarks"]["position"] < RUN_ENDS[-1]
        again = run_transform(_tap(rewound, RUN_ENDS[-1]))  # the scheduler's next run
        assert _records(again) == clean
        assert again.messages[-1]["value"]["bookmarks"] == latest["bookmarks"]
        # and from then on the state and the store agree
        steady = run_transform(_tap(again.messages[-1]["value"], RUN_ENDS[-1]))
        assert _records(steady) == clean


def test_the_latest_backup_and_a_store_ahead_of_the_state_are_scored(run_transform):
    first = run_transform(_tap(None, 5))
    older = first.messages[-1]["value"]
    second = run_transform(_tap(older, 9))
    # the target failed after the transform committed: the pipeline kept the older state
    ahead = run_transform(_tap(older, 12))
    assert ahead.returncode == 0 and "has not absorbed" not in ahead.log
    full = run_transform(_tap(second.messages[-1]["value"], 12))
    assert _records(ahead) == _records(full)


def test_the_marker_names_the_store_and_the_bookmark_it_covers(run_transform):
    out = run_transform(_tap(None, 4))
    marker = out.messages[-1]["value"]["plg_transform"]
    assert set(marker) == {"store_id", "covers"}
    assert marker["covers"].startswith("sha256:")
    # the same bookmark again gives the same marker (nothing new absorbed)
    again = run_transform(_tap(out.messages[-1]["value"], 4))
    assert again.messages[-1]["value"] == out.messages[-1]["value"]
