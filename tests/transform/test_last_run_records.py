"""The records of the last run, kept next to the store for `plg-report` (any CRM)."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import AS_OF, record, track


def kept(tmp_path: Path) -> list[dict]:
    path = tmp_path / "store.duckdb.last-run.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_file_next_to_the_store_holds_what_the_target_received(run_transform, tmp_path):
    out = run_transform(
        [
            record("identifies", messageId="i1", userId="u1", traits={"email": "a@x.io"}),
            track("t1", "u1", "Run", "2026-02-27T10:00:00Z", "acc"),
            track("t2", "u2", "Run", "2026-02-28T10:00:00Z", "acc"),
        ],
        {"membership_traits": ["role"]},
    )
    header, *messages = kept(tmp_path)
    assert header["type"] == "PLG_LAST_RUN" and header["version"] == 1
    assert header["as_of"] == AS_OF
    assert set(header["score_references"]) == {"user", "account", "membership"}
    assert all(isinstance(v, float) for v in header["score_references"].values())
    assert messages == [m for m in out.messages if m["type"] != "STATE"]
    assert {m["stream"] for m in messages} == {"contacts", "companies", "associations"}
    assert not list(tmp_path.glob("*.partial"))


def test_a_failed_run_keeps_the_previous_runs_file(run_transform, tmp_path):
    run_transform([track("t1", "u1", "Run", "2026-02-27T10:00:00Z", "acc")])
    before = (tmp_path / "store.duckdb.last-run.jsonl").read_bytes()
    failed = run_transform(
        [track("t2", "u2", "Run", "2026-02-28T10:00:00Z", "acc"), "{not json"],
        {"strict": True},
        check=False,
    )
    assert failed.returncode != 0
    assert (tmp_path / "store.duckdb.last-run.jsonl").read_bytes() == before
    assert not list(tmp_path.glob("*.partial"))
    later = run_transform([track("t3", "u3", "Run", "2026-02-28T11:00:00Z", "acc")])
    records = [m for m in kept(tmp_path) if m["type"] == "RECORD"]
    contacts = {m["record"]["user_id"] for m in records if m["stream"] == "contacts"}
    assert contacts == set(later.by_key("contacts")) == {"u1", "u3"}
