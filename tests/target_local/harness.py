"""Runs the real `target-plg-crm` console script and reads what it left behind."""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TARGET = Path(sys.executable).parent / "target-plg-crm"

COMPANY_SCHEMA = {
    "type": "object",
    "properties": {
        "account_id": {"type": "string"},
        "name": {"type": ["string", "null"]},
        "domain": {"type": ["string", "null"]},
        "engagement_score": {"type": "integer"},
        "activation_rate": {"type": ["number", "null"]},
        "active_users": {"type": "integer"},
        "is_pqa": {"type": "boolean"},
        "last_active_at": {"type": ["string", "null"], "format": "date-time"},
        "segments": {"type": "string"},
        "lifecycle_stage": {"type": ["string", "null"]},
        "metric_plan": {"type": ["string", "number", "boolean", "null"]},
        "as_of": {"type": "string", "format": "date-time"},
    },
}
CONTACT_SCHEMA = {
    "type": "object",
    "properties": {
        "user_id": {"type": "string"},
        "email": {"type": ["string", "null"]},
        "primary_account_id": {"type": ["string", "null"]},
        "engagement_score": {"type": "integer"},
        "is_pql": {"type": "boolean"},
        "last_active_at": {"type": ["string", "null"], "format": "date-time"},
        "segments": {"type": "string"},
        "lifecycle_stage": {"type": ["string", "null"]},
        "as_of": {"type": "string", "format": "date-time"},
    },
}
ASSOCIATION_SCHEMA = {
    "type": "object",
    "properties": {
        "user_id": {"type": "string"},
        "account_id": {"type": "string"},
        "email": {"type": ["string", "null"]},
        "role": {"type": ["string", "null"]},
        "is_champion": {"type": "boolean"},
        "segments": {"type": "string"},
        "engagement_score": {"type": "integer"},
        "as_of": {"type": "string", "format": "date-time"},
    },
}
AS_OF = "2026-03-02T00:00:00Z"


def schema(stream: str) -> dict[str, Any]:
    """The SCHEMA message of one of the transform's streams."""
    schemas = {
        "companies": (COMPANY_SCHEMA, ["account_id"]),
        "contacts": (CONTACT_SCHEMA, ["user_id"]),
        "associations": (ASSOCIATION_SCHEMA, ["user_id", "account_id"]),
    }
    body, key = schemas[stream]
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": copy.deepcopy(body),
        "key_properties": key,
    }


def schemas() -> list[dict[str, Any]]:
    """SCHEMA messages in the transform's order: companies, contacts, associations."""
    return [schema("companies"), schema("contacts"), schema("associations")]


def record(stream: str, **fields: Any) -> dict[str, Any]:
    """A RECORD message."""
    return {"type": "RECORD", "stream": stream, "record": fields}


def company(account_id: str, **fields: Any) -> dict[str, Any]:
    """A companies record with plausible defaults."""
    base = {
        "account_id": account_id,
        "name": f"Company {account_id}",
        "domain": f"{account_id}.example.com",
        "engagement_score": 50,
        "activation_rate": 0.5,
        "active_users": 3,
        "is_pqa": False,
        "last_active_at": "2026-03-01T12:30:05Z",
        "segments": "",
        "lifecycle_stage": None,
        "metric_plan": "pro",
        "as_of": AS_OF,
    }
    return record("companies", **{**base, **fields})


def contact(user_id: str, email: str | None, **fields: Any) -> dict[str, Any]:
    """A contacts record with plausible defaults."""
    base = {
        "user_id": user_id,
        "email": email,
        "primary_account_id": None,
        "engagement_score": 40,
        "is_pql": False,
        "last_active_at": None,
        "segments": "",
        "lifecycle_stage": None,
        "as_of": AS_OF,
    }
    return record("contacts", **{**base, **fields})


def association(user_id: str, account_id: str, **fields: Any) -> dict[str, Any]:
    """An associations record with plausible defaults."""
    base = {
        "user_id": user_id,
        "account_id": account_id,
        "email": None,
        "role": None,
        "is_champion": False,
        "segments": "",
        "engagement_score": 10,
        "as_of": AS_OF,
    }
    return record("associations", **{**base, **fields})


def state(value: dict[str, Any]) -> dict[str, Any]:
    """A STATE message."""
    return {"type": "STATE", "value": value}


@dataclass
class RunResult:
    """What one run of the console script printed."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def states(self) -> list[dict[str, Any]]:
        """The STATE values the target emitted (its stdout lines)."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


@dataclass
class LocalCRMWorkspace:
    """A config pointing every file of the target into one folder, and readers for them."""

    folder: Path
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        """The target config (paths inside `folder`) with `overrides` applied."""
        return {
            "local_path": str(self.folder / "crm.sqlite"),
            "ledger_path": str(self.folder / "ledger.sqlite"),
            "rejects_path": str(self.folder / "rejects.jsonl"),
            "run_history_path": str(self.folder / "run-history.jsonl"),
            "summary_path": str(self.folder / "summary.json"),
            "plan_path": str(self.folder / "plan.json"),
            **self.overrides,
        }

    def run(self, messages: list[dict[str, Any]], **overrides: Any) -> RunResult:
        """Run `target-plg-crm --config ...` fed `messages`; returns its output."""
        config_path = self.folder / "config.json"
        config_path.write_text(json.dumps({**self.config, **overrides}))
        stdin = "".join(json.dumps(m) + "\n" for m in messages)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_PLG_CRM_")}
        done = subprocess.run(
            [str(TARGET), "--config", str(config_path)],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        return RunResult(done.returncode, done.stdout, done.stderr)

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of a query on the local CRM file."""
        with sqlite3.connect(self.folder / "crm.sqlite") as db:
            return db.execute(sql, args).fetchall()

    def contacts(self) -> dict[str, dict[str, str]]:
        """Contacts' properties by e-mail."""
        return {e: json.loads(p) for e, p in self.query("SELECT email, properties FROM contacts")}

    def companies(self) -> dict[str, dict[str, str]]:
        """Companies' properties by account key."""
        rows = self.query("SELECT account_key, properties FROM companies")
        return {k: json.loads(p) for k, p in rows}

    def properties(self, object_type: str) -> dict[str, dict[str, Any]]:
        """Property definitions of an object type by name."""
        rows = self.query(
            "SELECT name, label, type, field_type, group_name, options, has_unique_value "
            "FROM properties WHERE object_type = ?",
            object_type,
        )
        return {
            r[0]: {
                "label": r[1],
                "type": r[2],
                "field_type": r[3],
                "group_name": r[4],
                "options": json.loads(r[5]),
                "has_unique_value": r[6],
            }
            for r in rows
        }

    def associations(self) -> dict[tuple[str, str], list[str]]:
        """Labels by (contact e-mail, company account key)."""
        rows = self.query(
            "SELECT c.email, co.account_key, a.labels FROM associations a "
            "JOIN contacts c ON c.id = a.contact_id JOIN companies co ON co.id = a.company_id"
        )
        return {(e, k): json.loads(labels) for e, k, labels in rows}

    def rejects(self) -> list[dict[str, Any]]:
        """The rejects file's lines."""
        path = self.folder / "rejects.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def plan(self) -> dict[str, Any]:
        """The last dry run's plan file."""
        return json.loads((self.folder / "plan.json").read_text())

    def run_history(self) -> list[dict[str, Any]]:
        """The run history's lines, oldest first."""
        path = self.folder / "run-history.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def summary(self) -> dict[str, Any]:
        """The last run's summary file."""
        return json.loads((self.folder / "summary.json").read_text())
