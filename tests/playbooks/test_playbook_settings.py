"""A broken playbook stops the real CLI before any record is read: one line naming it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..target_local.harness import LocalCRMWorkspace, company, schemas
from .history import PQA_PLAYBOOK

HOOK = "https://hooks.slack.example/services/T000/B000/s3cr3tw3bh00k"
MESSAGES = [*schemas(), company("a1")]


def _playbook(**changes: Any) -> dict[str, Any]:
    playbook = copy.deepcopy(PQA_PLAYBOOK)
    for path, value in changes.items():
        node = playbook
        *parents, name = path.split("__")
        for parent in parents:
            node = node.setdefault(parent, {})
        if value is None:
            node.pop(name, None)
        else:
            node[name] = value
    return playbook


# (the playbook's changes, the setting named, what the line says)
REFUSALS: dict[str, tuple[dict[str, Any], str, str]] = {
    "SQL that does not parse": ({"when": "is_pqa AND"}, "playbooks[0].when", "does not parse"),
    "a query, not an expression": (
        {"when": "1) FROM t WHERE (1"},
        "playbooks[0].when",
        "one SQL expression",
    ),
    "a bad ordering": (
        {"choose__order_by": "score DESC DESC"},
        "playbooks[0].choose.order_by",
        "does not parse",
    ),
    "a template that does not parse": (
        {"task__subject": "Call {{ contact.email "},
        "playbooks[0].task.subject",
        "template does not parse",
    ),
    "a name the playbook lacks": (
        {"choose": None, "task__owner": "company", "task__body": "{{ membership.role }}"},
        "playbooks[0].task.body",
        "template uses ['membership']",
    ),
    "a fixed owner without id": (
        {"task__owner": "fixed"},
        "playbooks[0].task.owner_id",
        "required when `owner` is `fixed`",
    ),
    "an owner e-mail without @": (
        {"task__owner": "email", "task__owner_email": "ada"},
        "playbooks[0].task.owner_email",
        "required when `owner` is `email`",
    ),
    "no action": ({"task": None}, "playbooks[0]", "needs a `task`, a `webhook` or both"),
    "a plain http webhook": (
        {"webhook": {"url": "http://hooks.example.com/x", "text": "hi"}},
        "playbooks[0].webhook.url",
        "plain http",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_broken_playbook_is_refused_in_one_line(tmp_path: Path, case: str) -> None:
    changes, setting, says = REFUSALS[case]
    workspace = LocalCRMWorkspace(tmp_path)

    result = workspace.run(MESSAGES, playbooks=[_playbook(**changes)])

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    naming = [line for line in result.stderr.splitlines() if f"`{setting}`:" in line]
    assert len(naming) == 1, result.stderr
    assert says in naming[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_schema_refusals_name_the_field_and_never_show_the_webhook(tmp_path: Path) -> None:
    workspace = LocalCRMWorkspace(tmp_path)
    playbook = _playbook(on="enters", task__priority="URGENT", task__colour="red")
    playbook["webhook"] = {"url": HOOK, "text": "{{ company.name }}", "channel": "#sales"}
    playbook["webhook"]["url"] = 42

    result = workspace.run(MESSAGES, playbooks=[playbook])

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in ("enters", "URGENT", "colour", "channel"):
        assert word in result.stderr, result.stderr
    assert HOOK not in result.stderr and "s3cr3t" not in result.stderr


def test_an_owner_email_the_crm_lacks_is_refused_at_start_up(tmp_path: Path) -> None:
    workspace = LocalCRMWorkspace(tmp_path)
    playbook = _playbook(task__owner="email", task__owner_email="nobody@seller.example")

    result = workspace.run(MESSAGES, playbooks=[playbook])

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [x for x in result.stderr.splitlines() if "`playbooks[0].task.owner_email`:" in x]
    assert len(lines) == 1 and "no owner with the e-mail nobody@seller.example" in lines[0]


@pytest.mark.parametrize(
    ("changes", "setting", "unknown"),
    [
        ({"when": "is_pqq"}, "playbooks[0].when", "['is_pqq']"),
        ({"choose__where": "rank = 1"}, "playbooks[0].choose.where", "['rank']"),
        ({"task__subject": "Call {{ company.nmae }}"}, "playbooks[0].task.subject", "['nmae']"),
        ({"task__body": "{{ membership.score }}"}, "playbooks[0].task.body", "['score']"),
    ],
)
def test_a_field_the_streams_lack_stops_the_run_when_the_schema_arrives(
    tmp_path: Path, changes: dict[str, Any], setting: str, unknown: str
) -> None:
    workspace = LocalCRMWorkspace(tmp_path)

    result = workspace.run([*schemas(), company("a1")], playbooks=[_playbook(**changes)])

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    naming = [line for line in result.stderr.splitlines() if f"`{setting}`:" in line]
    assert len(naming) == 1, result.stderr
    assert f"unknown field(s) {unknown}" in naming[0]
    assert workspace.query("SELECT count(*) FROM companies") == [(0,)]


def test_an_on_key_a_yaml_1_1_reader_made_true_is_refused_with_the_fix(tmp_path: Path) -> None:
    # PyYAML (YAML 1.1) reads a bare `on:` key as the boolean true.
    read = yaml.safe_load("on: enter\n")
    playbook = _playbook(on=None)
    playbook.update({str(k).lower(): v for k, v in read.items()})
    workspace = LocalCRMWorkspace(tmp_path)

    result = workspace.run(MESSAGES, playbooks=[playbook])

    assert result.returncode == 1, result.stderr
    (line,) = [x for x in result.stderr.splitlines() if "`playbooks[0].true`:" in x]
    assert 'quote it (`"on":`)' in line
