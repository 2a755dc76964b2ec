"""The demo report: what a RevOps person reads from the local CRM after `make demo`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import DEMO_DIR

SCHEMA = """
CREATE TABLE properties (object_type TEXT, name TEXT, label TEXT, type TEXT, field_type TEXT,
    group_name TEXT, options TEXT, has_unique_value INTEGER);
CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT UNIQUE, properties TEXT,
    created_at TEXT, updated_at TEXT);
CREATE TABLE companies (id INTEGER PRIMARY KEY, account_key TEXT UNIQUE, properties TEXT,
    created_at TEXT, updated_at TEXT);
CREATE TABLE associations (contact_id INTEGER, company_id INTEGER, labels TEXT,
    created_at TEXT, updated_at TEXT);
"""
AS_OF = "2026-07-01T00:00:00Z"
LONG_REASON = (
    "user_id=usr_00085 has no valid email, so it has no CRM contact to associate "
    "(see that contact's reject); fix the email in the product's identify calls"
)


def company(
    key: str,
    name: str,
    score: int,
    trend: int,
    label: str,
    active: int,
    total: int,
    pqa: bool,
    stage: str,
    plan: str,
    segments: str = "",
) -> tuple[str, str]:
    props = {
        "plg_account_id": key,
        "plg_name": name,
        "plg_engagement_score": str(score),
        "plg_engagement_trend": str(trend),
        "plg_engagement_trend_label": label,
        "plg_active_users": str(active),
        "plg_total_users": str(total),
        "plg_is_pqa": "true" if pqa else "false",
        "plg_lifecycle_stage": stage,
        "plg_plan": plan,
        "plg_as_of": AS_OF,
    }
    if segments:
        props["plg_segments"] = segments
    return key, json.dumps(props)


def contact(
    email: str, score: int, pql: bool, stage: str, segments: str, account: str
) -> tuple[str, str]:
    props = {
        "plg_user_id": email.split("@")[0],
        "plg_engagement_score": str(score),
        "plg_active_days": "12",
        "plg_is_pql": "true" if pql else "false",
        "plg_lifecycle_stage": stage,
        "plg_primary_account_id": account,
        "plg_as_of": AS_OF,
    }
    if segments:
        props["plg_segments"] = segments
    return email, json.dumps(props)


@pytest.fixture
def crm_file(tmp_path: Path) -> Path:
    """A small CRM: 12 companies (so the top 10 cuts two), 4 contacts, 3 associations."""
    path = tmp_path / "crm.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        companies = [
            company(
                "acct_0001",
                "Northwind Labs",
                97,
                4,
                "steady",
                14,
                20,
                False,
                "customer",
                "enterprise",
                "expansion-ready",
            ),
            company(
                "acct_0002",
                "Cedar Health",
                88,
                -22,
                "falling",
                3,
                6,
                False,
                "customer",
                "pro",
                "at-risk",
            ),
            company("acct_0003", "Pixel Foods", 71, 15, "rising", 4, 4, True, "engaged", "trial"),
        ]
        companies += [
            company(
                f"acct_01{i:02d}", f"Quiet Co {i}", i, 0, "steady", 1, 1, False, "dormant", "free"
            )
            for i in range(9)
        ]
        db.executemany("INSERT INTO companies (account_key, properties) VALUES (?, ?)", companies)
        db.executemany(
            "INSERT INTO contacts (email, properties) VALUES (?, ?)",
            [
                contact("ada@northwind.io", 95, True, "engaged", "power-users", "acct_0001"),
                contact("ben@pixelfoods.com", 81, True, "engaged", "", "acct_0003"),
                contact("cy@cedar.health", 40, False, "activated", "", "acct_0002"),
                contact("dee@quiet.co", 0, False, "signed-up", "dormant", "acct_0100"),
            ],
        )
        db.executemany(
            "INSERT INTO associations (contact_id, company_id, labels) VALUES (?, ?, ?)",
            [(1, 1, '["admin", "primary"]'), (2, 3, '["owner"]'), (3, 2, '["member", "primary"]')],
        )
    return path


@pytest.fixture
def rejects_file(tmp_path: Path) -> Path:
    path = tmp_path / "rejects.jsonl"
    lines = [
        {
            "stream": "contacts",
            "key": f"usr_{i}",
            "code": "INVALID_EMAIL",
            "reason": f"email 'user{i}@' is not a valid address",
            "record": {},
        }
        for i in range(3)
    ]
    lines.append(
        {
            "stream": "contacts",
            "key": "usr_9",
            "code": "MISSING_EMAIL",
            "reason": "contact has no email",
            "record": {},
        }
    )
    lines.append(
        {
            "stream": "associations",
            "key": None,
            "code": "CONTACT_NOT_FOUND",
            "reason": LONG_REASON,
            "record": {"user_id": "usr_7", "account_id": "acct_0003"},
        }
    )
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def run_report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEMO_DIR / "report.py"), *args], capture_output=True, text=True
    )


def test_report_counts_records_and_ranks_accounts(crm_file: Path, rejects_file: Path) -> None:
    result = run_report("--crm", str(crm_file), "--rejects", str(rejects_file))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"(scored as of {AS_OF})" in out
    assert "  contacts            4" in out
    assert "  companies          12" in out
    assert "  associations        3   labels: primary 2, admin 1, member 1, owner 1" in out
    ranking = out.split("Top 10 accounts by engagement score")[1].split("Product-qualified")[0]
    rows = [line.split() for line in ranking.strip().splitlines()[1:]]
    assert len(rows) == 10
    assert rows[0][:6] == ["1", "Northwind", "Labs", "(acct_0001)", "enterprise", "97"]
    assert "+4 steady" in ranking and "-22 falling" in ranking and "+15 rising" in ranking
    assert rows[0][-3:] == ["14/20", "no", "customer"]
    assert rows[2][-3:] == ["4/4", "yes", "engaged"]
    assert "Quiet Co 0 " not in ranking  # the two lowest scores fall off the top 10
    assert "Quiet Co 8 " in ranking


def test_report_lists_pqls_segments_lifecycle_and_rejects(
    crm_file: Path, rejects_file: Path
) -> None:
    out = run_report("--crm", str(crm_file), "--rejects", str(rejects_file)).stdout
    assert "Product-qualified leads: 2 (top 2 by score)" in out
    pqls = out.split("Product-qualified leads")[1].split("Segments")[0]
    assert pqls.index("ada@northwind.io") < pqls.index("ben@pixelfoods.com")
    assert "cy@cedar.health" not in pqls
    assert "Pixel Foods" in pqls.splitlines()[3]  # primary account shown by name
    assert "  contacts   dormant 1, power-users 1" in out
    assert "  companies  at-risk 1, expansion-ready 1" in out
    assert "  contacts   engaged 2, activated 1, signed-up 1" in out
    assert "  companies  dormant 9, customer 2, engaged 1" in out
    assert f"Rejects: 5 in {rejects_file}" in out
    assert "3  contacts     INVALID_EMAIL" in out
    assert "1  contacts     MISSING_EMAIL" in out


def test_report_without_rejects_file_says_none(crm_file: Path, tmp_path: Path) -> None:
    result = run_report("--crm", str(crm_file), "--rejects", str(tmp_path / "missing.jsonl"))
    assert result.returncode == 0
    assert "Rejects: none (no rejects file)" in result.stdout


def test_report_without_crm_file_explains_what_to_run(tmp_path: Path) -> None:
    result = run_report("--crm", str(tmp_path / "nothing.sqlite"))
    assert result.returncode == 1
    assert "no local CRM file" in result.stderr and "make demo" in result.stderr


def test_report_does_not_change_the_crm_file(crm_file: Path, report: ModuleType) -> None:
    before = crm_file.read_bytes()
    text = report.render_report(crm_file, None)
    assert "Northwind Labs" in text
    assert crm_file.read_bytes() == before


def test_report_lists_qualified_accounts_with_their_best_contact(
    crm_file: Path, rejects_file: Path
) -> None:
    out = run_report("--crm", str(crm_file), "--rejects", str(rejects_file)).stdout
    section = out.split("Product-qualified accounts: 1 (by score)")[1].split("Segments")[0]
    rows = section.strip().splitlines()
    assert rows[0].split() == ["account", "plan", "score", "active/total", "best", "contact"]
    assert rows[1].split() == [
        "Pixel",
        "Foods",
        "(acct_0003)",
        "trial",
        "71",
        "4/4",
        "ben@pixelfoods.com",
        "(owner,",
        "score",
        "81)",
    ]
    assert len(rows) == 2


def test_report_prints_reject_reasons_whole(crm_file: Path, rejects_file: Path) -> None:
    out = run_report("--crm", str(crm_file), "--rejects", str(rejects_file)).stdout
    rejects = out.split("Rejects:")[1]
    assert "1  associations CONTACT_NOT_FOUND" in rejects
    # Wrapped between words, never cut: joining the lines gives the reason back.
    assert LONG_REASON in " ".join(rejects.split())
    reason_lines = rejects.splitlines()[1:]  # the first names the (temporary) file
    assert max(len(line) for line in reason_lines) <= 90


def test_report_lists_the_playbooks_tasks(crm_file: Path, rejects_file: Path) -> None:
    from target_plg_crm.crm.local.tasks import TASKS_SCHEMA

    with sqlite3.connect(crm_file) as db:
        db.executescript(TASKS_SCHEMA)
        contact_id = db.execute("SELECT id FROM contacts ORDER BY id").fetchone()[0]
        db.execute(
            "INSERT INTO tasks (subject, body, due, priority, type, contact_id) "
            "VALUES ('Call ben', 'ben is owner', '2026-07-03', 'HIGH', 'CALL', ?)",
            (contact_id,),
        )
    out = run_report("--crm", str(crm_file), "--rejects", str(rejects_file)).stdout
    section = out.split("Playbook tasks: 1 (first 1)")[1].split("Rejects:")[0]
    rows = section.strip().splitlines()
    assert rows[0].split() == ["subject", "due", "priority", "contact"]
    assert rows[1].split()[:5] == ["Call", "ben", "2026-07-03", "HIGH", "CALL"]
