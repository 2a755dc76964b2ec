"""Per-day aggregates of track messages: folded in on ingest, migrated, rebuilt, exact.

Scoring reads tracks through the store's `track_days` table (store_aggregates.py); these
runs go through the real CLI and compare with a run on a fresh store, which is what the
records must stay equal to.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
from plg_transform import store_aggregates
from plg_transform.store import Store

from .conftest import CLI, record, state, track

CONFIG = {
    "events": {"Run": {"weight": 2, "feature": "f1"}, "Walk": {"weight": 1}},
    "user_traits": ["plan"],
    "activation": {"milestones": [{"name": "m", "event": "Run", "count": 2}]},
}
MORE_MILESTONES = {
    **CONFIG,
    "activation": {
        "milestones": [
            {"name": "m", "event": "Run", "count": 2},
            {"name": "walker", "event": "Walk", "count": 4},
        ]
    },
}


def _history() -> list[str]:
    """Bursts of tracks over Feb 24 - Mar 1 (the last day straddles T, 12:00), late links."""
    lines = []
    for i in range(120):
        user = f"u{i % 4}"
        day = 24 + (i // 3) % 6
        ts = (
            f"2026-{'02' if day <= 28 else '03'}-{(day - 1) % 28 + 1:02d}T{(i * 7) % 24:02d}:00:00Z"
        )
        account = f"acc{i % 2}"
        if i % 17 == 0:
            lines.append(
                record(
                    "identifies",
                    messageId=f"i{i}",
                    userId=user,
                    anonymousId=f"anon{i % 3}",
                    timestamp=ts,
                    traits={"plan": f"p{i}"},
                )
            )
        elif i % 5 == 0:
            lines.append(track(f"t{i}", None, "Run", ts, account, anon=f"anon{i % 3}"))
        else:
            lines.append(track(f"t{i}", user, ["Run", "Walk"][i % 2], ts, account))
    return lines


def _fresh(run_transform, tmp_path: Path, lines: list[str], config: dict) -> dict:
    (tmp_path / "store.duckdb").unlink(missing_ok=True)
    return run_transform(lines, config).records


def _kept(tmp_path: Path) -> dict | None:
    with duckdb.connect(str(tmp_path / "store.duckdb"), read_only=True) as con:
        row = con.execute("SELECT value FROM meta WHERE key = 'track_days'").fetchone()
    return None if row is None else json.loads(row[0])


def test_a_store_of_an_older_version_gets_its_aggregates_on_its_next_run(run_transform, tmp_path):
    lines = _history()
    run_transform(lines[:70], CONFIG)
    with duckdb.connect(str(tmp_path / "store.duckdb")) as con:  # as an older version left it
        con.execute("DROP TABLE track_days; DELETE FROM meta WHERE key = 'track_days'")
    migrated = run_transform(lines[60:], CONFIG).records
    assert _kept(tmp_path) == {"version": 1, "events": ["Run"], "count": 2}
    assert migrated == _fresh(run_transform, tmp_path, lines, CONFIG)


def test_milestones_needing_more_first_events_rebuild_the_aggregates(run_transform, tmp_path):
    lines = _history()
    run_transform(lines, CONFIG)
    rebuilt = run_transform([state({"run": 2})], MORE_MILESTONES).records
    assert _kept(tmp_path) == {"version": 1, "events": ["Run", "Walk"], "count": 4}
    assert any(r["activation_steps_completed"] == 2 for r in rebuilt["contacts"])
    assert rebuilt == _fresh(run_transform, tmp_path, lines, MORE_MILESTONES)


def test_fewer_milestones_keep_the_stored_aggregates(run_transform, tmp_path):
    lines = _history()
    run_transform(lines[:50], MORE_MILESTONES)
    fewer = run_transform(lines[50:], CONFIG).records
    assert _kept(tmp_path) == {"version": 1, "events": ["Run", "Walk"], "count": 4}
    assert fewer == _fresh(run_transform, tmp_path, lines, CONFIG)


def test_aggregates_hold_one_row_per_key_and_day_and_redeliveries_count_once(
    run_transform, tmp_path
):
    burst = [track(f"b{i}", "u", "Run", f"2026-02-27T{10 + i}:00:00Z", "acc") for i in range(5)]
    run_transform(burst[:3] + burst[:1], CONFIG)
    out = run_transform(burst + burst[1:2], CONFIG)
    assert out.by_key("contacts")["u"]["score_reasons"] == "Run x5"
    with duckdb.connect(str(tmp_path / "store.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT user_id, event, CAST(day AS VARCHAR), n, "
            "[e.id FOR e IN first_events] FROM track_days"
        ).fetchall()
    assert rows == [("u", "Run", "2026-02-27", 5, ["b0", "b1"])]


def test_explain_reads_a_store_of_an_older_version_without_writing_to_it(run_transform, tmp_path):
    run_transform(_history(), CONFIG)
    store = tmp_path / "store.duckdb"
    with duckdb.connect(str(store)) as con:
        con.execute("DROP TABLE track_days; DELETE FROM meta WHERE key = 'track_days'")
    config = tmp_path / "cfg.json"  # written by the run above
    shown = subprocess.run(
        [CLI, "explain", "--config", str(config), "--user", "u0", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    milestone = json.loads(shown.stdout)["milestones"][0]
    assert milestone["event"] == "Run" and milestone["occurrences"] > 2
    assert _kept(tmp_path) is None


def _build_with_parts(tmp_path: Path, name: str, per_part: int, monkeypatch) -> list[tuple]:
    """track_days built from the same messages, gathering first events `per_part` at once."""
    monkeypatch.setattr(store_aggregates, "FIRSTS_PER_PART", per_part)
    store = Store(tmp_path / f"{name}.duckdb", "256MB")
    rows = [
        (
            i,
            f"m{i}",
            "track",
            f"u{i % 5}" if i % 4 else None,
            f"a{i % 3}",
            f"g{i % 2}",
            ["Run", "Walk"][i % 2],
            1_772_000_000_000_000 + (i * 7919 % 50) * 3_600_000_000,
        )
        for i in range(400)
    ]
    store.append("messages", rows)
    store.merge_incoming()
    need = store_aggregates.FirstEvents(("Run",), 3)
    table = store_aggregates.track_days_for(store.con, need)
    found = store.con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
    store.close()
    return found


def test_first_events_gathered_in_parts_are_those_gathered_at_once(tmp_path, monkeypatch):
    at_once = _build_with_parts(tmp_path, "once", 1_000_000, monkeypatch)
    in_parts = _build_with_parts(tmp_path, "parts", 7, monkeypatch)
    assert in_parts == at_once
    assert any(row[-1] is not None and len(row[-1]) == 3 for row in at_once)
