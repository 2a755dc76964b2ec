"""A local CRM file another program holds locked is waited for, within `local_lock_wait_seconds`.

The report, a SQLite browser or a backup may hold the file for a few seconds: the run
waits for it instead of failing with `database is locked`; a lock held longer than the
setting stops the run in one line naming the setting, with no STATE.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from .harness import LocalCRMWorkspace, RunResult, company, contact, schemas, state


def _messages(score: int) -> list[dict]:
    return [
        *schemas(),
        company("a1", engagement_score=score),
        contact("u1", "ann@acme.com", primary_account_id="a1", engagement_score=score),
        state({"bookmarks": {"score": score}}),
    ]


def _hold_lock(
    path: Path, seconds: float, locked: threading.Event, release: threading.Event
) -> None:
    """Another program: an exclusive transaction on the file, for `seconds` at most."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    locked.set()
    release.wait(seconds)
    db.execute("COMMIT")
    db.close()


def _run_while_locked(
    workspace: LocalCRMWorkspace, seconds: float, **overrides: object
) -> RunResult:
    """A run started while the file is locked; the lock goes after `seconds` or the run."""
    locked, release = threading.Event(), threading.Event()
    holder = threading.Thread(
        target=_hold_lock, args=(workspace.folder / "crm.sqlite", seconds, locked, release)
    )
    holder.start()
    assert locked.wait(10)
    try:
        return workspace.run(_messages(70), **overrides)
    finally:
        release.set()
        holder.join()


def test_a_file_locked_for_a_few_seconds_is_waited_for(tmp_path: Path) -> None:
    workspace = LocalCRMWorkspace(tmp_path)
    assert workspace.run(_messages(50)).returncode == 0

    # Longer than the target's start-up: it meets the lock and waits it out.
    result = _run_while_locked(workspace, 8.0)

    assert result.returncode == 0, result.stderr
    assert result.states == [{"bookmarks": {"score": 70}}]
    scores = workspace.query(
        "SELECT json_extract(properties, '$.plg_engagement_score') FROM contacts"
    )
    assert scores == [("70",)]


def test_a_lock_held_longer_than_the_setting_fails_in_one_line_without_state(
    tmp_path: Path,
) -> None:
    workspace = LocalCRMWorkspace(tmp_path)
    assert workspace.run(_messages(50)).returncode == 0

    result = _run_while_locked(workspace, 60.0, local_lock_wait_seconds=0.3)

    assert result.returncode != 0
    assert result.states == []
    assert "Traceback" not in result.stderr
    assert "stayed locked by another program for 0.3 s" in result.stderr
    assert "`local_lock_wait_seconds`" in result.stderr
