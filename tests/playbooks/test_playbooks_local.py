"""Playbooks on the local CRM: a hidden history of PQA crossings, run after run."""

from __future__ import annotations

import json
from pathlib import Path

from ..target_local.harness import LocalCRMWorkspace
from .history import PQA_BY_RUN, PQA_PLAYBOOK, expected_tasks, messages


def _tasks(workspace: LocalCRMWorkspace) -> list[tuple[str, str, str]]:
    rows = workspace.query(
        "SELECT c.email, t.subject, t.body FROM tasks t JOIN contacts c ON c.id = t.contact_id"
    )
    return sorted(
        (email, subject, body.split("\n\n[plg-playbook")[0]) for email, subject, body in rows
    )


def test_each_crossing_makes_one_task_for_the_chosen_member(tmp_path: Path) -> None:
    workspace = LocalCRMWorkspace(tmp_path, overrides={"playbooks": [PQA_PLAYBOOK]})
    expected: list[tuple[str, str, str]] = []
    for run in range(len(PQA_BY_RUN)):
        result = workspace.run(messages(run))
        assert result.returncode == 0, result.stderr
        expected = sorted(expected + expected_tasks(run))
        assert _tasks(workspace) == expected, f"run {run}"
        history = [json.loads(line) for line in (tmp_path / "run-history.jsonl").open()]
        created = history[-1]["objects"].get("tasks", {}).get("created", 0)
        assert created == len(expected_tasks(run)), f"run {run}"
    assert len(expected) == 4
