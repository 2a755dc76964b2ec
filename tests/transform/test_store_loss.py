"""A lost or foreign store while the tap resumes from a bookmark stops the run.

The transform adds `plg_transform.store_id` to the STATE it forwards; Meltano saves it,
hands it back to the tap on the next run, and the tap re-emits it. These tests play the
tap's part with hand-made STATE lines, through the real CLI.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .conftest import state, track

BOOKMARK = {"bookmarks": {"tracks": {"replication_key_value": "2026-02-25T10:00:00Z"}}}


def _first_run(run_transform) -> dict:
    out = run_transform([track("t1", "u", "Run", "2026-02-25T10:00:00Z"), state(BOOKMARK)])
    forwarded = out.messages[-1]
    assert forwarded["type"] == "STATE"
    return forwarded["value"]


def test_forwarded_state_keeps_the_taps_keys_and_adds_the_store_id(run_transform):
    value = _first_run(run_transform)
    assert value["bookmarks"] == BOOKMARK["bookmarks"]
    assert set(value) == {"bookmarks", "plg_transform"}
    assert len(value["plg_transform"]["store_id"]) == 32


def test_resuming_with_the_same_store_passes_and_keeps_its_id(run_transform):
    value = _first_run(run_transform)
    out = run_transform([state(value), track("t2", "u", "Run", "2026-02-26T10:00:00Z")])
    assert out.by_key("contacts")["u"]["score_reasons"] == "Run x2"
    assert out.messages[-1]["value"] == value


def test_resuming_after_the_store_was_deleted_stops_naming_full_refresh(
    run_transform, tmp_path: Path
):
    value = _first_run(run_transform)
    store = tmp_path / "store.duckdb"
    store.unlink()
    out = run_transform(
        [state(value), track("t2", "u", "Run", "2026-02-26T10:00:00Z"), state(value)],
        check=False,
    )
    assert out.returncode != 0
    assert out.messages == []  # no RECORD, no STATE: the CRM and the bookmark stay as they were
    assert "meltano run --full-refresh" in out.log
    assert str(store) in out.log and "was just created" in out.log
    assert value["plg_transform"]["store_id"] in out.log
    assert not store.exists()  # nothing left that would look like a real store next time


def test_a_foreign_store_stops_the_run_the_same_way(run_transform, tmp_path: Path):
    value = _first_run(run_transform)
    ours = tmp_path / "store.duckdb"
    other_pipeline = tmp_path / "other.duckdb"
    run_transform(
        [track("x1", "v", "Run", "2026-02-20T10:00:00Z")], {"store_path": str(other_pipeline)}
    )
    shutil.copyfile(other_pipeline, ours)  # e.g. a store file copied from elsewhere
    out = run_transform(
        [state(value), track("t2", "u", "Run", "2026-02-26T10:00:00Z")], check=False
    )
    assert out.returncode != 0
    assert out.messages == []
    assert "meltano run --full-refresh" in out.log and "is a different store" in out.log
    assert ours.exists()  # someone's data: never deleted


def test_full_refresh_without_state_works_on_a_new_store(run_transform, tmp_path: Path):
    _first_run(run_transform)
    (tmp_path / "store.duckdb").unlink()
    # --full-refresh: the tap gets no state, so its STATE does not carry our key.
    out = run_transform(
        [
            track("t1", "u", "Run", "2026-02-25T10:00:00Z"),
            track("t2", "u", "Run", "2026-02-26T10:00:00Z"),
            state(BOOKMARK),
        ]
    )
    assert out.by_key("contacts")["u"]["score_reasons"] == "Run x2"
    new_id = out.messages[-1]["value"]["plg_transform"]["store_id"]
    # and the next incremental run resumes with the new store's id
    again = run_transform([state(out.messages[-1]["value"])])
    assert again.messages[-1]["value"]["plg_transform"]["store_id"] == new_id


def test_a_tap_that_drops_unknown_state_keys_is_not_an_error(run_transform):
    _first_run(run_transform)
    out = run_transform([state(BOOKMARK), track("t2", "u", "Run", "2026-02-26T10:00:00Z")])
    assert out.by_key("contacts")["u"]["score_reasons"] == "Run x2"
