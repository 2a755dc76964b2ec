"""The ledger: what the CRM last accepted for each record, so unchanged records cost nothing.

One row per (CRM identity, object type, key): the hash of the properties (or association
labels) the CRM accepted and the CRM id. Rows change only after the CRM accepted a write,
so a crash never records a write that did not happen; a lost ledger only means every
record is written once more (upserts are idempotent). Contacts also keep their
`user_id` and `primary_account_id`, which is how an association finds its contact and
whether it is the primary one when the contacts stream is not in the run; associations
keep their labels, so that a CRM that removes labels one by one knows which to remove.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger (
    crm TEXT NOT NULL,
    object_type TEXT NOT NULL,
    key TEXT NOT NULL,
    hash TEXT NOT NULL,
    crm_id TEXT NOT NULL,
    user_id TEXT,
    primary_account_id TEXT,
    written_at TEXT NOT NULL,
    labels TEXT,
    PRIMARY KEY (crm, object_type, key)
);
CREATE INDEX IF NOT EXISTS ledger_user ON ledger (crm, object_type, user_id);
"""


def content_hash(value: Any) -> str:
    """SHA-256 of the canonical JSON of `value` (keys sorted)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class LedgerEntry:
    """What the CRM last accepted for one record."""

    hash: str
    crm_id: str
    user_id: str | None = None
    primary_account_id: str | None = None
    labels: tuple[str, ...] | None = None


def _entry(
    hash_: str, crm_id: str, user_id: str | None, primary: str | None, labels: str | None
) -> LedgerEntry:
    return LedgerEntry(
        hash_, crm_id, user_id, primary, tuple(json.loads(labels)) if labels else None
    )


class Ledger:
    """SQLite ledger at `path`, scoped to one CRM instance (`crm`)."""

    def __init__(
        self,
        path: Path | None,
        crm: str,
        *,
        read_only: bool = False,
        lock_wait_seconds: float = 60.0,
    ) -> None:
        """Open or create the ledger at `path` (None: an empty one in memory).

        `read_only` (dry run) never creates nor writes the file. A file another program
        holds locked is waited for up to `lock_wait_seconds` per statement.
        """
        self.crm = crm
        self.read_only = read_only
        if path is None or (read_only and not path.exists()):
            self._db = sqlite3.connect(":memory:")
            self._db.executescript(_SCHEMA)
        elif read_only:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=lock_wait_seconds)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=lock_wait_seconds)
            self._db.executescript(_SCHEMA)
            self._add_labels_column()
            self._db.commit()
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(ledger)")}
        # A ledger written by an older version, opened read-only, has no labels column.
        self._labels_column = "labels" if "labels" in columns else "NULL"

    def _add_labels_column(self) -> None:
        """Ledgers of older versions lack `labels`: add it (their rows keep NULL)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(ledger)")}
        if "labels" not in columns:
            self._db.execute("ALTER TABLE ledger ADD COLUMN labels TEXT")

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def get(self, object_type: str, key: str) -> LedgerEntry | None:
        """The entry of one record, if the CRM accepted it before."""
        row = self._db.execute(
            f"SELECT hash, crm_id, user_id, primary_account_id, {self._labels_column} "
            "FROM ledger WHERE crm = ? AND object_type = ? AND key = ?",
            (self.crm, object_type, key),
        ).fetchone()
        return _entry(*row) if row else None

    def find_by_user(self, object_type: str, user_id: str) -> tuple[str, LedgerEntry] | None:
        """(key, entry) of the contact last written for `user_id`."""
        row = self._db.execute(
            f"SELECT key, hash, crm_id, user_id, primary_account_id, {self._labels_column} "
            "FROM ledger WHERE crm = ? AND object_type = ? AND user_id = ? "
            "ORDER BY written_at DESC LIMIT 1",
            (self.crm, object_type, user_id),
        ).fetchone()
        return (row[0], _entry(*row[1:])) if row else None

    def entries(self, object_type: str) -> dict[str, LedgerEntry]:
        """Every entry of one object type, by key."""
        rows = self._db.execute(
            f"SELECT key, hash, crm_id, user_id, primary_account_id, {self._labels_column} "
            "FROM ledger WHERE crm = ? AND object_type = ?",
            (self.crm, object_type),
        ).fetchall()
        return {row[0]: _entry(*row[1:]) for row in rows}

    def remember(self, object_type: str, entries: Mapping[str, LedgerEntry]) -> None:
        """Record writes the CRM accepted, keyed by record key, in one transaction."""
        if self.read_only or not entries:
            return
        now = datetime.now(UTC).isoformat()
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO ledger (crm, object_type, key, hash, crm_id, user_id, "
                "primary_account_id, written_at, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        self.crm,
                        object_type,
                        key,
                        e.hash,
                        e.crm_id,
                        e.user_id,
                        e.primary_account_id,
                        now,
                        json.dumps(sorted(e.labels)) if e.labels is not None else None,
                    )
                    for key, e in entries.items()
                ],
            )

    def forget_crm_id(self, object_type: str, crm_id: str) -> None:
        """Drop entries whose CRM object is gone, so the next run writes them again."""
        if self.read_only:
            return
        with self._db:
            self._db.execute(
                "DELETE FROM ledger WHERE crm = ? AND object_type = ? AND crm_id = ?",
                (self.crm, object_type, crm_id),
            )

    def forget_all(self) -> int:
        """Drop every entry of this CRM (it was found empty); returns how many."""
        if self.read_only:
            return 0
        with self._db:
            cursor = self._db.execute("DELETE FROM ledger WHERE crm = ?", (self.crm,))
        return cursor.rowcount
