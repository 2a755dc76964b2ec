"""Playbooks on HubSpot (the emulator): one task per crossing, whatever goes wrong.

The hidden history of `history` runs against the emulator with faults injected on the
task creation: answers lost after the tasks were made (timeouts, 5xx after the work),
5xx before the work, and the target killed while its creation call hangs. Every
crossing must make exactly one task, for the chosen member, owned by the company's
owner, with the expected text; none on the first run or on unchanged re-runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from ..target_hubspot.harness import HubSpotWorkspace
from ..target_hubspot.hubspot_emulator import HubSpotEmulator
from ..target_local.harness import TARGET
from .history import ACCOUNTS, PQA_BY_RUN, PQA_PLAYBOOK, expected_tasks, messages

CREATE = "/crm/v3/objects/tasks/batch/create"


def _portal(hubspot: HubSpotEmulator) -> dict[str, str]:
    """Companies people created, each with an owner (adopted by domain): account -> owner."""
    first = hubspot.add_owner("ada@seller.example")
    second = hubspot.add_owner("bob@seller.example")
    owners = {}
    for number, account in enumerate(ACCOUNTS):
        owner = first if number % 2 == 0 else second
        hubspot.add_object(
            "companies", {"domain": f"{account}.example.com", "hubspot_owner_id": owner}
        )
        owners[account] = owner
    return owners


def _tasks(hubspot: HubSpotEmulator) -> list[tuple[str, str, str]]:
    emails = {v.get("hs_object_id", ""): k for k, v in _contacts_by_id(hubspot).items()}
    found = []
    for task in hubspot.tasks():
        contact = next(emails[str(i)] for kind, i in task["links"] if kind == "contacts")
        body = task["hs_task_body"].split("\n\n[plg-playbook")[0]
        found.append((contact, task["hs_task_subject"], body))
    return sorted(found)


def _objects(hubspot: HubSpotEmulator, object_type: str) -> list[dict[str, str]]:
    """Every object of a type with its id (`hs_object_id`)."""
    with hubspot._lock:  # noqa: SLF001 - the test reads the portal's ids
        return [dict(p) for p in hubspot._store.objects[object_type].values()]  # noqa: SLF001


def _contacts_by_id(hubspot: HubSpotEmulator) -> dict[str, dict[str, str]]:
    return {props["email"]: props for props in _objects(hubspot, "contacts")}


def _history(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / "run-history.jsonl").open()]


def _kill_during_create(workspace: HubSpotWorkspace, hubspot: HubSpotEmulator, run: int) -> None:
    """Run the target and kill it while its task creation hangs (the tasks exist)."""
    hubspot.timeout_delay = 30.0
    hubspot.inject("timeout", path_contains=CREATE)
    config_path = workspace.folder / "config.json"
    config_path.write_text(json.dumps({**workspace.config, "hubspot_timeout_seconds": 60}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_PLG_CRM_")}
    process = subprocess.Popen(
        [str(TARGET), "--config", str(config_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    assert process.stdin is not None
    process.stdin.write("".join(json.dumps(m) + "\n" for m in messages(run)))
    process.stdin.close()
    deadline = time.monotonic() + 90
    while not hubspot.calls_to(CREATE) and not _created_since(hubspot, run):
        assert time.monotonic() < deadline, "the target never created its tasks"
        assert process.poll() is None, "the target ended before creating its tasks"
        time.sleep(0.1)
    while len(hubspot.tasks()) < len(expected_tasks(run)) + _earlier(run):
        time.sleep(0.05)
    process.kill()
    process.wait(timeout=30)
    hubspot.timeout_delay = 0.8
    hubspot.faults.clear()


def _earlier(run: int) -> int:
    return sum(len(expected_tasks(r)) for r in range(run))


def _created_since(hubspot: HubSpotEmulator, run: int) -> bool:
    return len(hubspot.tasks()) > _earlier(run)


#: The fault of each run's task creation (None: none).
FAULTS = [None, "timeout", None, "500-after-work", "500", None]


def test_each_crossing_makes_exactly_one_task_despite_faults(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    owners = _portal(hubspot)
    workspace.overrides = {"playbooks": [PQA_PLAYBOOK], "hubspot_timeout_seconds": 0.5}
    expected: list[tuple[str, str, str]] = []
    for run in range(len(PQA_BY_RUN)):
        fault = FAULTS[run]
        if fault is not None:
            hubspot.inject(fault, path_contains=CREATE)
        result = workspace.run(messages(run))
        assert result.returncode == 0, result.stderr
        expected = sorted(expected + expected_tasks(run))
        assert _tasks(hubspot) == expected, f"run {run}"
        created = _history(tmp_path)[-1]["objects"].get("tasks", {}).get("created", 0)
        assert created == len(expected_tasks(run)), f"run {run}"
    accounts = {
        props["hs_object_id"]: props["plg_account_id"] for props in _objects(hubspot, "companies")
    }
    for task in hubspot.tasks():
        company = next(str(i) for kind, i in task["links"] if kind == "companies")
        assert task["hubspot_owner_id"] == owners[accounts[company]]
        assert task["hs_task_priority"] == "HIGH" and task["hs_task_type"] == "CALL"
    # The lost answers were resolved by reading the tasks back, not by creating again.
    assert hubspot.calls_to("/tasks/batch/read")
    assert len(expected) == 4


def test_a_run_killed_during_the_creation_makes_no_second_task(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    _portal(hubspot)
    workspace.overrides = {"playbooks": [PQA_PLAYBOOK]}
    assert workspace.run(messages(0)).returncode == 0
    _kill_during_create(workspace, hubspot, 1)
    assert len(hubspot.tasks()) == len(expected_tasks(1))
    # The next run carries the same records (the killed run's STATE never came out).
    result = workspace.run(messages(1))
    assert result.returncode == 0, result.stderr
    assert _tasks(hubspot) == expected_tasks(1)
    result = workspace.run(messages(2))
    assert result.returncode == 0, result.stderr
    assert _tasks(hubspot) == expected_tasks(1)


def test_an_owner_by_email_needs_the_owners_scope_and_an_owner(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    ada = hubspot.add_owner("ada@seller.example")
    playbook = {**PQA_PLAYBOOK, "task": {**PQA_PLAYBOOK["task"], "owner": "email"}}
    playbook["task"]["owner_email"] = "Ada@Seller.example"
    workspace.overrides = {"playbooks": [playbook]}
    assert workspace.run(messages(0)).returncode == 0
    result = workspace.run(messages(1))
    assert result.returncode == 0, result.stderr
    assert [t["hubspot_owner_id"] for t in hubspot.tasks()] == [ada]

    hubspot.scopes = hubspot.scopes - {"crm.objects.owners.read"}
    result = workspace.run(messages(2))

    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = [x for x in result.stderr.splitlines() if "`playbooks[0].task.owner_email`:" in x]
    assert len(lines) == 1 and "crm.objects.owners.read" in lines[0], result.stderr
