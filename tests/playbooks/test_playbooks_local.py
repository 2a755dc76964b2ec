"""Playbooks on the local CRM: a hidden history of PQA crossings, run after run."""

from __future__ import annotations

import json
from pathlib import Path

from ..target_local.harness import LocalCRMWorkspace, company, schemas
from .history import PQA_BY_RUN, PQA_PLAYBOOK, exited, expected_tasks, messages
from .webhook_server import WebhookServer


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


def test_exits_notify_once_each_and_a_5xx_is_sent_again_next_run(tmp_path: Path) -> None:
    with WebhookServer() as hook:
        playbook = {
            "name": "pqa_lost",
            "object": "company",
            "when": "is_pqa",
            "on": "exit",
            "webhook": {"url": hook.url, "text": "{{ company.name }} is no longer a PQA"},
        }
        workspace = LocalCRMWorkspace(tmp_path, overrides={"playbooks": [playbook]})
        expected: list[str] = []
        for run in range(len(PQA_BY_RUN)):
            if run == 3:
                hook.statuses.append(500)  # a1's exit: not posted, sent again next run
            result = workspace.run(messages(run))
            assert result.returncode == 0, result.stderr
            if run != 3:
                expected += sorted(f"Acme {a} is no longer a PQA" for a in exited(run) | late(run))
            assert [m["text"] for m in hook.messages] == expected, f"run {run}"
            assert hook.url not in result.stderr
    assert expected == ["Acme a1 is no longer a PQA"]


def late(run: int) -> set[str]:
    """Exits of the run before whose post failed: sent at this run."""
    return exited(3) if run == 4 else set()


def test_while_acts_on_every_change_while_the_line_holds(tmp_path: Path) -> None:
    playbook = {
        "name": "pqa_update",
        "object": "company",
        "when": "is_pqa",
        "on": "while",
        "task": {"subject": "{{ company.name }} has {{ company.active_users }} users"},
    }
    workspace = LocalCRMWorkspace(tmp_path, overrides={"playbooks": [playbook]})
    users_by_run = [3, 3, 4, 4, 4]  # a1's users change at run 2
    pqa_by_run = [True, True, True, False, True]  # a1 is not a PQA at run 3
    for users, is_pqa in zip(users_by_run, pqa_by_run, strict=True):
        result = workspace.run([schemas()[0], company("a1", active_users=users, is_pqa=is_pqa)])
        assert result.returncode == 0, result.stderr
    subjects = [row[0] for row in workspace.query("SELECT subject FROM tasks ORDER BY id")]
    # Run 0 records without acting; run 1 is unchanged; run 3 is not a PQA; run 4 is
    # the same version as run 2 but a new stretch.
    assert subjects == ["Company a1 has 4 users", "Company a1 has 4 users"]


def test_a_dry_run_lists_the_tasks_and_leaves_the_crossing_to_the_real_run(
    tmp_path: Path,
) -> None:
    workspace = LocalCRMWorkspace(tmp_path, overrides={"playbooks": [PQA_PLAYBOOK]})
    assert workspace.run(messages(0)).returncode == 0

    dry = workspace.run(messages(1), dry_run=True)

    assert dry.returncode == 0, dry.stderr
    plan = json.loads((tmp_path / "plan.json").read_text())
    planned = [(p["kind"], p["subject"]) for p in plan["playbooks"]]
    assert planned == [("task", subject) for _, subject, _ in expected_tasks(1)]
    assert "plan: playbook pqa_call would create a task" in dry.stderr
    assert _tasks(workspace) == []
    history = [json.loads(line) for line in (tmp_path / "run-history.jsonl").open()]
    assert history[-1]["dry_run"] and history[-1]["objects"]["tasks"]["created"] == 1

    real = workspace.run(messages(1))

    assert real.returncode == 0, real.stderr
    assert _tasks(workspace) == expected_tasks(1)


def test_a_task_the_crm_refuses_is_a_reject_and_is_not_retried(tmp_path: Path) -> None:
    playbook = {**PQA_PLAYBOOK, "task": {**PQA_PLAYBOOK["task"], "owner": "fixed"}}
    playbook["task"]["owner_id"] = "999"  # no such owner in the CRM
    workspace = LocalCRMWorkspace(tmp_path, overrides={"playbooks": [playbook]})
    assert workspace.run(messages(0)).returncode == 0

    result = workspace.run(messages(1))

    assert result.returncode == 0, result.stderr
    rejects = [json.loads(line) for line in (tmp_path / "rejects.jsonl").open()]
    assert [(r["stream"], r["code"]) for r in rejects] == [
        ("playbook:pqa_call", "INVALID_OWNER_ID")
    ]
    assert _tasks(workspace) == []
    assert workspace.run(messages(2)).returncode == 0
    assert not (tmp_path / "rejects.jsonl").read_text().strip()
