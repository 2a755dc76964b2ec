"""What a run leaves for an admin to follow: the latest rejects and one history line per run."""

from __future__ import annotations

import json

from .harness import LocalCRMWorkspace, association, company, contact, schemas, state

MESSAGES = [
    *schemas(),
    company("a1"),
    contact("u1", "ann@acme.com", primary_account_id="a1"),
    contact("u2", "not-an-email"),
    contact("u3", None),
    association("u1", "a1", role="admin"),
    state({"bookmarks": {"tracks": "2026-03-02"}}),
]


def test_the_rejects_file_holds_the_latest_run_only(workspace: LocalCRMWorkspace) -> None:
    first = workspace.run(MESSAGES)
    again = workspace.run(MESSAGES)
    fixed = workspace.run([m for m in MESSAGES if m.get("record", {}).get("user_id") != "u3"])

    assert (first.returncode, again.returncode, fixed.returncode) == (0, 0, 0)
    assert [r["record"]["user_id"] for r in workspace.rejects()] == ["u2"]
    assert not (workspace.folder / "rejects.jsonl.partial").exists()


def test_a_run_without_rejects_leaves_an_empty_rejects_file(workspace: LocalCRMWorkspace) -> None:
    workspace.run(MESSAGES)

    workspace.run([*schemas(), company("a1")])

    assert (workspace.folder / "rejects.jsonl").read_text() == ""


def test_a_failed_run_keeps_the_previous_rejects_and_records_its_failure(
    workspace: LocalCRMWorkspace,
) -> None:
    workspace.run(MESSAGES)
    before = (workspace.folder / "rejects.jsonl").read_text()
    # A record of a stream that never had a SCHEMA stops the run half-way.
    orphan = {"type": "RECORD", "stream": "nowhere", "record": {"id": 1}}

    failed = workspace.run([*schemas(), contact("u9", "bad@"), company("a9"), orphan])

    assert failed.returncode != 0
    assert (workspace.folder / "rejects.jsonl").read_text() == before
    assert not (workspace.folder / "rejects.jsonl.partial").exists()
    history = workspace.run_history()
    assert [line["status"] for line in history] == ["succeeded", "failed"]
    assert history[1]["exit_code"] == 1 and history[1]["error"]


def test_each_run_appends_one_history_line(workspace: LocalCRMWorkspace) -> None:
    workspace.run(MESSAGES)
    workspace.run(MESSAGES)
    workspace.run(MESSAGES, dry_run=True)

    history = workspace.run_history()
    assert len(history) == 3
    first, second, dry = history
    assert first["status"] == "succeeded" and first["exit_code"] == 0 and first["error"] is None
    assert first["crm"] == "local" and first["dry_run"] is False and dry["dry_run"] is True
    assert first["started_at"] <= first["finished_at"] <= second["started_at"]
    assert first["objects"]["contacts"] == {
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "rejected": 2,
        "skipped": 0,
    }
    assert second["objects"]["companies"]["unchanged"] == 1
    assert first["rejects"] == second["rejects"] == 2
    assert first["calls"]["total"] == 0  # the local CRM has no API
    assert set(first["calls"]["rate_limit_waits"]) == {"count", "seconds"}
    json.dumps(history)  # plain JSON


def test_an_empty_run_history_path_writes_no_history(workspace: LocalCRMWorkspace) -> None:
    result = workspace.run(MESSAGES, run_history_path="")

    assert result.returncode == 0, result.stderr
    assert workspace.run_history() == []
