"""Rate limits and faults: retried until HubSpot's final state is that of a clean run."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from target_plg_crm.target import TargetPLGCRM

from ..target_local.harness import association, company, contact, schemas, state
from .harness import SHORT_TIMEOUT, TOKEN, HubSpotWorkspace, crm_calls
from .hubspot_emulator import HubSpotEmulator


def _pipeline(contacts: int = 120) -> list[dict]:
    """Enough records for two upsert batches of contacts, with roles and primaries."""
    return [
        *schemas(),
        *[company(f"a{i}", segments="hot" if i % 2 else "cold") for i in range(5)],
        *[
            contact(f"u{i}", f"user{i}@acme.com", primary_account_id=f"a{i % 5}")
            for i in range(contacts)
        ],
        *[
            association(f"u{i}", f"a{i % 5}", role="admin" if i % 3 else "billing")
            for i in range(contacts)
        ],
        state({"bookmarks": {"tracks": "2026-03-02"}}),
    ]


def _final_state(emulator: HubSpotEmulator) -> dict[str, Any]:
    properties = {
        object_type: {
            n: (p["type"], p["fieldType"], sorted(o["value"] for o in p["options"]))
            for n, p in emulator.properties(object_type).items()
        }
        for object_type in ("contacts", "companies")
    }
    return {
        "properties": properties,
        "contacts": emulator.contacts(),
        "companies": emulator.companies(),
        "associations": emulator.associations(),
    }


@pytest.fixture
def clean_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """HubSpot's state after a clean run of `_pipeline()` on a fresh portal."""
    with HubSpotEmulator(TOKEN, watchdog_seconds=120) as emulator:
        workspace = HubSpotWorkspace(tmp_path_factory.mktemp("clean"), emulator=emulator)
        result = workspace.run(_pipeline())
        assert result.returncode == 0, result.stderr
        yield _final_state(emulator)


def test_injected_faults_end_in_the_same_state_as_a_clean_run(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator, clean_state: dict[str, Any]
) -> None:
    hubspot.inject("500", "timeout", path_contains="/crm/v3/properties/")
    hubspot.inject("423", "429-retry-after", "timeout", path_contains="contacts/batch/upsert")
    hubspot.inject("500", path_contains="companies/batch/upsert")
    hubspot.inject("429", "timeout", path_contains="/labels")
    hubspot.inject("423", "500", path_contains="associations/contacts/companies/batch/create")

    result = workspace.run(_pipeline(), **SHORT_TIMEOUT)

    assert result.returncode == 0, result.stderr
    assert hubspot.faults == type(hubspot.faults)()  # every fault was met
    assert _final_state(hubspot) == clean_state
    assert workspace.rejects() == []
    assert result.states == [{"bookmarks": {"tracks": "2026-03-02"}}]
    assert "retry 1 of 5" in result.stderr
    # A second run knows everything from the ledger, faults or not.
    before = len(hubspot.calls)
    assert workspace.run(_pipeline()).returncode == 0
    assert crm_calls(hubspot.calls[before:]) == []


def test_the_limiter_keeps_the_run_under_a_small_budget(
    tmp_path: Path, clean_state: dict[str, Any]
) -> None:
    with HubSpotEmulator(TOKEN, rate_max=10, rate_interval_ms=1000) as emulator:
        workspace = HubSpotWorkspace(tmp_path, emulator=emulator)

        result = workspace.run(_pipeline())

        assert result.returncode == 0, result.stderr
        assert len(emulator.calls) > 10  # more calls than one window allows
        assert [c for c in emulator.calls if c.status == 429] == []
        assert _final_state(emulator) == clean_state


def test_a_budget_spent_by_another_app_is_waited_out(
    tmp_path: Path, clean_state: dict[str, Any]
) -> None:
    with HubSpotEmulator(TOKEN, rate_max=10, rate_interval_ms=1000) as emulator:
        emulator.consume(10)
        workspace = HubSpotWorkspace(tmp_path, emulator=emulator)

        result = workspace.run(_pipeline())

        assert result.returncode == 0, result.stderr
        assert emulator.calls[0].status == 429
        assert _final_state(emulator) == clean_state


def test_the_run_fails_when_hubspot_keeps_failing_and_emits_no_state(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    hubspot.inject(*["500"] * 6, path_contains="contacts/batch/upsert")

    result = workspace.run(_pipeline(contacts=3))

    assert result.returncode != 0
    assert "failed after 5 retries: 500 server error" in result.stderr
    assert "Traceback" not in result.stderr  # one line says it all
    assert result.states == []
    (failed,) = workspace.run_history()
    assert (failed["status"], failed["exit_code"]) == ("failed", 1)
    assert "failed after 5 retries" in failed["error"]
    assert failed["calls"]["by_endpoint"]["POST /crm/v3/objects/contacts/batch/upsert"] == 6
    with sqlite3.connect(workspace.folder / "ledger.sqlite") as ledger:
        kinds = {row[0] for row in ledger.execute("SELECT object_type FROM ledger")}
    assert kinds == {"companies"}  # written before the failure; contacts never accepted

    # The next run, HubSpot healthy again, writes what was left.
    again = workspace.run(_pipeline(contacts=3))
    assert again.returncode == 0, again.stderr
    assert len(hubspot.contacts()) == 3 and len(hubspot.associations()) == 3
    assert len(hubspot.calls_to("companies/batch/upsert")) == 1


def test_an_unreachable_hubspot_fails_the_run_with_a_clear_message(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    url = hubspot.base_url
    hubspot.stop()

    result = workspace.run(_pipeline(contacts=1), hubspot_base_url=url)

    assert result.returncode != 0
    assert "connection failed" in result.stderr
    assert result.states == []


class _StateWatcher(io.StringIO):
    """Stdout that counts what HubSpot holds the moment a STATE line is written."""

    def __init__(self, emulator: HubSpotEmulator) -> None:
        super().__init__()
        self.emulator = emulator
        self.seen: list[tuple[dict, int, int]] = []

    def write(self, text: str) -> int:
        if text.strip():
            self.seen.append(
                (
                    json.loads(text),
                    len(self.emulator.contacts()),
                    len(self.emulator.associations()),
                )
            )
        return super().write(text)


def test_state_is_emitted_only_after_the_records_before_it_were_accepted_or_rejected(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = [
        *schemas(),
        company("a1"),
        contact("u1", "u1@acme.com", primary_account_id="a1"),
        state({"bookmarks": {"n": 1}}),
        contact("u2", "u2@acme.com"),
        contact("u3", "u3@acme..com"),
        association("u1", "a1", role="admin"),
        association("u2", "a1"),
        state({"bookmarks": {"n": 2}}),
    ]
    hubspot.inject("500", "423", path_contains="batch/")
    watcher = _StateWatcher(hubspot)
    monkeypatch.setattr(sys, "stdout", watcher)
    config = {**workspace.config, "summary_path": "", "batch_size_rows": 1}

    target = TargetPLGCRM(config=config)
    target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))

    assert watcher.seen == [({"bookmarks": {"n": 2}}, 2, 2)]
    assert [r["record"]["user_id"] for r in workspace.rejects()] == ["u3"]
