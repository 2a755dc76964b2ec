"""What playbooks remember, in the ledger's SQLite file, per CRM identity.

- `playbook_records`: the last accepted fields of each company (by account id), contact
  and membership (by CRM ids), with `evaluated` = 0 until the playbooks judged them;
- `playbook_state`: per playbook and record, whether `when` held at the last judgement,
  how many crossings were acted on, and the record version last acted on (`while`);
- `playbook_started`: the playbooks that already ran once on this CRM (the first run
  records where records stand without acting);
- `playbook_actions`: one row per task or notification to make, written (with the state
  that decided it) *before* the call: `pending` until the CRM answers, `created`/`sent`
  after, `refused` when the CRM said no. `attempted` says a call went out whose answer
  may be lost: such a task is looked up by its marker before it is sent again.

A dry run works on an in-memory copy, so it writes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from target_plg_crm.ledger import content_hash
from target_plg_crm.property_plan import json_default

_SCHEMA = """
CREATE TABLE IF NOT EXISTS playbook_records (
    crm TEXT NOT NULL,
    object TEXT NOT NULL,
    key TEXT NOT NULL,
    crm_id TEXT NOT NULL,
    account_id TEXT,
    contact_id TEXT,
    fields TEXT NOT NULL,
    hash TEXT NOT NULL,
    evaluated INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (crm, object, key)
);
CREATE INDEX IF NOT EXISTS playbook_members ON playbook_records (crm, object, account_id);
CREATE TABLE IF NOT EXISTS playbook_state (
    crm TEXT NOT NULL,
    playbook TEXT NOT NULL,
    key TEXT NOT NULL,
    active INTEGER NOT NULL,
    crossings INTEGER NOT NULL,
    fired_hash TEXT,
    PRIMARY KEY (crm, playbook, key)
);
CREATE TABLE IF NOT EXISTS playbook_started (
    crm TEXT NOT NULL,
    playbook TEXT NOT NULL,
    started_at TEXT NOT NULL,
    PRIMARY KEY (crm, playbook)
);
CREATE TABLE IF NOT EXISTS playbook_actions (
    crm TEXT NOT NULL,
    marker TEXT NOT NULL,
    playbook TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempted INTEGER NOT NULL DEFAULT 0,
    crm_id TEXT,
    reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (crm, marker)
);
"""

PENDING = "pending"
CREATED = "created"
REFUSED = "refused"
SENT = "sent"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Snapshot:
    """A record as the CRM last accepted it."""

    key: str
    crm_id: str
    fields: dict[str, Any]
    hash: str
    account_id: str | None = None
    contact_id: str | None = None


@dataclass(frozen=True)
class RecordState:
    """Where one record stood for one playbook at its last judgement."""

    active: bool
    crossings: int
    fired_hash: str | None


@dataclass(frozen=True)
class Action:
    """A task or notification to make once (`marker` names it everywhere)."""

    marker: str
    playbook: str
    key: str
    kind: str  # task | webhook
    payload: dict[str, Any]
    attempted: bool = False


def _now() -> str:
    return datetime.now(UTC).isoformat()


class PlaybookState:
    """The playbook tables of one CRM identity in the ledger file."""

    def __init__(self, path: Path | None, crm: str, *, in_memory_copy: bool = False) -> None:
        """Open the tables at `path` (None: empty, in memory); a dry run works on a copy."""
        self.crm = crm
        if path is None or (in_memory_copy and not path.exists()):
            self._db = sqlite3.connect(":memory:")
        elif in_memory_copy:
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            self._db = sqlite3.connect(":memory:")
            source.backup(self._db)
            source.close()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path)
        self._db.executescript(_SCHEMA)
        self._db.commit()

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def forget_all(self) -> None:
        """Forget everything of this CRM (it was found empty)."""
        with self._db:
            for table in ("playbook_records", "playbook_state", "playbook_started"):
                self._db.execute(f"DELETE FROM {table} WHERE crm = ?", (self.crm,))
            self._db.execute("DELETE FROM playbook_actions WHERE crm = ?", (self.crm,))

    # Records

    def note(
        self,
        object_name: str,
        key: str,
        crm_id: str,
        fields: Mapping[str, Any],
        *,
        account_id: str | None = None,
        contact_id: str | None = None,
    ) -> None:
        """Remember a record the CRM accepted (or holds unchanged), to be judged."""
        text = json.dumps(fields, sort_keys=True, default=json_default)
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO playbook_records (crm, object, key, crm_id, account_id, "
                "contact_id, fields, hash, evaluated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
                (
                    self.crm,
                    object_name,
                    key,
                    crm_id,
                    account_id,
                    contact_id,
                    text,
                    content_hash(json.loads(text)),
                ),
            )

    def forget(self, object_name: str, key: str) -> None:
        """Forget one record (a membership that ended)."""
        with self._db:
            self._db.execute(
                "DELETE FROM playbook_records WHERE crm = ? AND object = ? AND key = ?",
                (self.crm, object_name, key),
            )

    def _snapshots(self, where: str, parameters: tuple[Any, ...]) -> list[Snapshot]:
        rows = self._db.execute(
            "SELECT key, crm_id, fields, hash, account_id, contact_id FROM playbook_records "
            f"WHERE crm = ? AND {where} ORDER BY key",
            (self.crm, *parameters),
        ).fetchall()
        return [Snapshot(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5]) for r in rows]

    def unevaluated(self, object_name: str) -> list[Snapshot]:
        """The records of `object_name` accepted since the playbooks last judged them."""
        return self._snapshots("object = ? AND evaluated = 0", (object_name,))

    def get(self, object_name: str, key: str) -> Snapshot | None:
        """One record's snapshot."""
        found = self._snapshots("object = ? AND key = ?", (object_name, key))
        return found[0] if found else None

    def members(self, account_id: str) -> list[Snapshot]:
        """The memberships of a company (by account id)."""
        return self._snapshots("object = 'membership' AND account_id = ?", (account_id,))

    # Judgements and actions

    def started(self, playbook: str) -> bool:
        """Whether the playbook ran on this CRM before."""
        row = self._db.execute(
            "SELECT 1 FROM playbook_started WHERE crm = ? AND playbook = ?", (self.crm, playbook)
        ).fetchone()
        return row is not None

    def states(self, playbook: str, keys: Iterable[str]) -> dict[str, RecordState]:
        """The state of each record among `keys` that has one."""
        found: dict[str, RecordState] = {}
        for key in keys:
            row = self._db.execute(
                "SELECT active, crossings, fired_hash FROM playbook_state "
                "WHERE crm = ? AND playbook = ? AND key = ?",
                (self.crm, playbook, key),
            ).fetchone()
            if row:
                found[key] = RecordState(bool(row[0]), int(row[1]), row[2])
        return found

    def commit_judgement(
        self,
        states: Mapping[tuple[str, str], RecordState],
        started: Iterable[str],
        actions: Iterable[Action],
        evaluated: Mapping[str, Iterable[str]],
    ) -> None:
        """In one transaction: the new states, the actions they decided, records judged."""
        now = _now()
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO playbook_state (crm, playbook, key, active, crossings, "
                "fired_hash) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (self.crm, playbook, key, int(s.active), s.crossings, s.fired_hash)
                    for (playbook, key), s in states.items()
                ],
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO playbook_started (crm, playbook, started_at) "
                "VALUES (?, ?, ?)",
                [(self.crm, name, now) for name in started],
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO playbook_actions (crm, marker, playbook, key, kind, "
                "payload, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        self.crm,
                        a.marker,
                        a.playbook,
                        a.key,
                        a.kind,
                        json.dumps(a.payload),
                        PENDING,
                        now,
                        now,
                    )
                    for a in actions
                ],
            )
            for object_name, keys in evaluated.items():
                self._db.executemany(
                    "UPDATE playbook_records SET evaluated = 1 "
                    "WHERE crm = ? AND object = ? AND key = ?",
                    [(self.crm, object_name, key) for key in keys],
                )

    def pending_actions(self) -> list[Action]:
        """Every action not made yet (this run's and those a crash left behind)."""
        rows = self._db.execute(
            "SELECT marker, playbook, key, kind, payload, attempted FROM playbook_actions "
            "WHERE crm = ? AND status = ? ORDER BY created_at, marker",
            (self.crm, PENDING),
        ).fetchall()
        return [Action(r[0], r[1], r[2], r[3], json.loads(r[4]), bool(r[5])) for r in rows]

    def mark_attempted(self, markers: Iterable[str]) -> None:
        """Calls for these actions are about to go out: their answer may be lost."""
        self._set("attempted = 1", (), markers)

    def reset_attempt(self, marker: str) -> None:
        """The call was answered as not done: sending again is safe."""
        self._set("attempted = 0", (), [marker])

    def settle(self, marker: str, status: str, crm_id: str | None, reason: str | None) -> None:
        """Record the CRM's answer for one action."""
        self._set("status = ?, crm_id = ?, reason = ?", (status, crm_id, reason), [marker])

    def _set(self, assignments: str, values: tuple[Any, ...], markers: Iterable[str]) -> None:
        with self._db:
            self._db.executemany(
                f"UPDATE playbook_actions SET {assignments}, updated_at = ? "
                "WHERE crm = ? AND marker = ?",
                [(*values, _now(), self.crm, m) for m in markers],
            )

    def actions(self, status: str | None = None) -> list[tuple[str, str, str, str | None]]:
        """(marker, kind, status, crm id) of the actions, for reports and tests."""
        rows = self._db.execute(
            "SELECT marker, kind, status, crm_id FROM playbook_actions WHERE crm = ? "
            "AND (? IS NULL OR status = ?) ORDER BY created_at, marker",
            (self.crm, status, status),
        ).fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]
