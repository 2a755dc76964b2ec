"""STATE leaves the target only after every record before it was accepted or rejected."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from pathlib import Path

import pytest
from target_plg_crm.target import TargetPLGCRM

from .harness import association, company, contact, schemas, state


class _StateWatcher(io.StringIO):
    """Stdout that looks at the CRM and the ledger the moment a STATE line is written."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.seen: list[tuple[dict, int, int, int]] = []

    def write(self, text: str) -> int:
        if text.strip():
            with sqlite3.connect(self.folder / "crm.sqlite") as crm:
                contacts = crm.execute("SELECT COUNT(*) FROM contacts").fetchone()[0]
                links = crm.execute("SELECT COUNT(*) FROM associations").fetchone()[0]
            with sqlite3.connect(self.folder / "ledger.sqlite") as ledger:
                entries = ledger.execute("SELECT COUNT(*) FROM ledger").fetchone()[0]
            self.seen.append((json.loads(text), contacts, links, entries))
        return super().write(text)


def test_state_is_emitted_after_the_records_before_it_are_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = [
        *schemas(),
        company("a1"),
        contact("u1", "u1@acme.com", primary_account_id="a1"),
        state({"bookmarks": {"n": 1}}),
        contact("u2", "u2@acme.com"),
        contact("u3", "bad-email"),
        association("u1", "a1", role="admin"),
        association("u2", "a1"),
        state({"bookmarks": {"n": 2}}),
    ]
    config = {
        "local_path": str(tmp_path / "crm.sqlite"),
        "ledger_path": str(tmp_path / "ledger.sqlite"),
        "rejects_path": str(tmp_path / "rejects.jsonl"),
        "run_history_path": "",
        "summary_path": "",
        "batch_size_rows": 1,  # sinks drain record by record: STATE must still wait
    }
    watcher = _StateWatcher(tmp_path)
    monkeypatch.setattr(sys, "stdout", watcher)
    target = TargetPLGCRM(config=config)
    target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))

    # One STATE, the latest, written when all 3 companies+contacts and 2 associations
    # were in the CRM and the ledger (the rejected contact is in neither).
    assert watcher.seen == [({"bookmarks": {"n": 2}}, 2, 2, 5)]
    assert len((tmp_path / "rejects.jsonl").read_text().splitlines()) == 1
