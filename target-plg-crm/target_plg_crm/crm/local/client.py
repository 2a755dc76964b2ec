"""The local CRM's SQLite file: its tables, and opening it to write or only to read.

properties(object_type, name, label, type, field_type, group_name, options JSON list,
           has_unique_value)
contacts(id, email lower-case unique, properties JSON, created_at, updated_at)
companies(id, account_key unique (value of the company id property), properties JSON,
          created_at, updated_at)
associations(contact_id, company_id, labels JSON sorted list, created_at, updated_at)
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from target_plg_crm.crm.errors import CRMError

SCHEMA = """
CREATE TABLE IF NOT EXISTS properties (
    object_type TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT,
    type TEXT,
    field_type TEXT,
    group_name TEXT,
    options TEXT,
    has_unique_value INTEGER,
    PRIMARY KEY (object_type, name)
);
CREATE TABLE IF NOT EXISTS contacts (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    properties TEXT,
    created_at TEXT,
    updated_at TEXT
);
CREATE TABLE IF NOT EXISTS companies (
    id INTEGER PRIMARY KEY,
    account_key TEXT NOT NULL UNIQUE,
    properties TEXT,
    created_at TEXT,
    updated_at TEXT
);
CREATE TABLE IF NOT EXISTS associations (
    contact_id INTEGER,
    company_id INTEGER,
    labels TEXT,
    created_at TEXT,
    updated_at TEXT,
    PRIMARY KEY (contact_id, company_id)
);
"""


def now() -> str:
    """Current time as HubSpot writes it: ISO 8601 UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def open_crm_file(
    path: Path, *, read_only: bool, lock_wait_seconds: float = 60.0
) -> sqlite3.Connection:
    """The CRM file at `path`, created when missing; `read_only` never creates nor writes it.

    A dry run reads the existing CRM or, if there is none, an empty one in memory, so
    that it writes nothing at all. While another program holds a lock on the file, a
    statement waits up to `lock_wait_seconds` (SQLite's busy timeout) before failing.
    """
    if read_only:
        if path.exists():
            return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=lock_wait_seconds)
        db = sqlite3.connect(":memory:")
        db.executescript(SCHEMA)
        return db
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=lock_wait_seconds)
    with locked_file_as_crm_error(path, lock_wait_seconds):
        db.executescript(SCHEMA)
        db.commit()
    return db


@contextlib.contextmanager
def locked_file_as_crm_error(path: Path, lock_wait_seconds: float) -> Iterator[None]:
    """Turn SQLite's `database is locked` (after the wait) into a one-line CRMError."""
    try:
        yield
    except sqlite3.OperationalError as error:
        if "locked" not in str(error) and "busy" not in str(error):
            raise
        raise CRMError(
            f"The local CRM file {path} stayed locked by another program for "
            f"{lock_wait_seconds:g} s: close it there, or raise `local_lock_wait_seconds`"
        ) from error
