"""Faults and limits: retried until Salesforce's final state is that of a clean run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..target_local.harness import association, company, contact, state
from .harness import SalesforceWorkspace, new_emulator
from .salesforce_emulator import SalesforceEmulator
from .test_salesforce_target_writes import salesforce_schemas

SHORT_TIMEOUT = {"salesforce_timeout_seconds": 0.5}


def _pipeline(users: int = 30) -> list[dict[str, Any]]:
    return [
        *salesforce_schemas(),
        *[company(f"a{i}", segments="hot" if i % 2 else "cold") for i in range(5)],
        *[
            contact(f"u{i}", f"user{i}@acme.com", primary_account_id=f"a{i % 5}", lastName=f"L{i}")
            for i in range(users)
        ],
        *[
            association(f"u{i}", f"a{(i + i // 5) % 5}", role="Evaluator" if i % 3 else "Other")
            for i in range(users)
        ],
        state({"bookmarks": {"tracks": "2026-03-02"}}),
    ]


def _final_state(emulator: SalesforceEmulator) -> dict[str, Any]:
    """Records by their keys (Salesforce ids replaced), and the custom fields."""
    accounts = emulator.accounts()
    account_keys = {r["Id"]: k for k, r in accounts.items()}
    contacts = emulator.contacts()

    def strip(record: dict[str, Any]) -> dict[str, Any]:
        shown = {k: v for k, v in record.items() if k not in ("Id", "ContactId")}
        if shown.get("AccountId"):
            shown["AccountId"] = account_keys[shown["AccountId"]]
        return shown

    return {
        "fields": {
            sobject: {n: f["type"] for n, f in emulator.fields(sobject).items()}
            for sobject in ("Account", "Contact", "AccountContactRelation")
        },
        "accounts": {k: strip(r) for k, r in accounts.items()},
        "contacts": {k: strip(r) for k, r in contacts.items()},
        "relations": {k: strip(r) for k, r in emulator.relations().items()},
    }


@pytest.fixture
def clean_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The org's state after a clean run of `_pipeline()` on a fresh org."""
    with new_emulator(watchdog_seconds=120) as emulator:
        workspace = SalesforceWorkspace(tmp_path_factory.mktemp("clean"), emulator=emulator)
        result = workspace.run(_pipeline())
        assert result.returncode == 0, result.stderr
        yield _final_state(emulator)


def test_injected_faults_end_in_the_same_state_as_a_clean_run(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator, clean_state: dict[str, Any]
) -> None:
    salesforce.inject("500", "timeout", path_contains="/tooling/")
    salesforce.inject("timeout", path_contains="/sobjects/PermissionSet")
    salesforce.inject("timeout", path_contains="/sobjects/PermissionSetAssignment")
    salesforce.inject("500", path_contains="/query")
    salesforce.inject("timeout", "lock", path_contains="/composite/sobjects/Account")
    salesforce.inject("lock", "500", "timeout", path_contains="/composite/sobjects/Contact")
    # A relation created but unanswered: the retry meets DUPLICATE_VALUE and updates it.
    salesforce.inject("timeout", "lock", method="POST", sobject="FieldPermissions")
    salesforce.inject("timeout", "lock", method="POST", sobject="AccountContactRelation")
    salesforce.inject("lock", "timeout", method="PATCH", sobject="AccountContactRelation")
    salesforce.inject("expire", path_contains="/composite/sobjects", method="PATCH")

    result = workspace.run(_pipeline(), **SHORT_TIMEOUT)

    assert result.returncode == 0, result.stderr
    assert list(salesforce.faults) == []  # every fault was met
    assert _final_state(salesforce) == clean_state
    assert workspace.rejects() == []
    assert result.states == [{"bookmarks": {"tracks": "2026-03-02"}}]
    assert "retry 1 of 5" in result.stderr


def test_the_run_stops_cleanly_at_its_share_of_the_daily_limit(
    tmp_path: Path, clean_state: dict[str, Any]
) -> None:
    with new_emulator(daily_max=40) as emulator:
        workspace = SalesforceWorkspace(tmp_path, emulator=emulator)
        stopped = workspace.run(_pipeline(), salesforce_daily_limit_share=0.5)
        used = emulator.daily_used
        emulator.daily_max = 1000
        resumed = workspace.run(_pipeline())
        final = _final_state(emulator)

    assert stopped.returncode == 1
    assert "Traceback" not in stopped.stderr
    assert stopped.states == []  # STATE never ran ahead of what Salesforce accepted
    assert "at salesforce_daily_limit_share 0.5 of the limit" in stopped.stderr
    assert used <= 20
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.states == [{"bookmarks": {"tracks": "2026-03-02"}}]
    assert final == clean_state


def test_fields_granted_but_not_yet_visible_are_waited_for(
    tmp_path: Path, clean_state: dict[str, Any]
) -> None:
    with new_emulator(grant_delay_requests=3) as emulator:
        workspace = SalesforceWorkspace(tmp_path, emulator=emulator)
        result = workspace.run(_pipeline())
        final = _final_state(emulator)

    assert result.returncode == 0, result.stderr
    assert workspace.rejects() == []
    assert final == clean_state
    assert result.states == [{"bookmarks": {"tracks": "2026-03-02"}}]


def test_above_the_bulk_threshold_one_ingest_job_per_object_gives_the_same_state(
    tmp_path: Path, clean_state: dict[str, Any]
) -> None:
    with new_emulator() as emulator:
        workspace = SalesforceWorkspace(tmp_path, emulator=emulator)
        emulator.inject("lock", path_contains="/jobs/ingest/", method="PATCH")
        result = workspace.run(_pipeline(), salesforce_bulk_threshold=3)
        final = _final_state(emulator)
        jobs = emulator.calls_to("/jobs/ingest", method="POST")
        collections = emulator.writes("Account") + emulator.writes("Contact")

    assert result.returncode == 0, result.stderr
    assert final == clean_state
    assert workspace.rejects() == []
    assert len(jobs) == 2  # Accounts, Contacts
    # The one record the job found locked went through a collection call.
    assert len(collections) == 1
    assert "Bulk API job upserted 4 Account records (1 left for collections)" in result.stderr
    assert "Bulk API job upserted 30 Contact records (0 left for collections)" in result.stderr


def test_a_bulk_row_salesforce_refuses_is_a_reject_with_its_code(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    messages = _pipeline(users=6)
    messages[9] = contact("u1", "ann@localhost", primary_account_id="a1")  # no TLD

    result = workspace.run(messages, salesforce_bulk_threshold=2)

    assert result.returncode == 0, result.stderr
    rejects = [(r["key"], r["code"]) for r in workspace.rejects()]
    assert ("u1", "INVALID_EMAIL_ADDRESS") in rejects
    assert len(salesforce.contacts()) == 5


def test_bulk_requests_applied_but_unanswered_end_in_the_clean_state(
    tmp_path: Path, clean_state: dict[str, Any]
) -> None:
    with new_emulator(timeout_delay_seconds=0.8) as emulator:
        workspace = SalesforceWorkspace(tmp_path, emulator=emulator)
        # The job is made, its CSV stored, its close applied: each answer comes too late.
        emulator.inject("timeout", path_contains="/jobs/ingest", method="POST")
        emulator.inject("timeout", path_contains="/batches", method="PUT")
        emulator.inject("timeout", path_contains="/jobs/ingest/", method="PATCH")
        result = workspace.run(_pipeline(), salesforce_bulk_threshold=3, **SHORT_TIMEOUT)
        final = _final_state(emulator)
        faults = list(emulator.faults)

    assert result.returncode == 0, result.stderr
    assert faults == []
    assert final == clean_state
    assert workspace.rejects() == []
    assert result.states == [{"bookmarks": {"tracks": "2026-03-02"}}]


def test_a_bulk_upload_failing_every_retry_stops_the_run_and_the_next_run_completes(
    tmp_path: Path, clean_state: dict[str, Any]
) -> None:
    with new_emulator() as emulator:
        workspace = SalesforceWorkspace(tmp_path, emulator=emulator)
        for _ in range(6):  # every attempt of the Accounts' upload fails
            emulator.inject("500", path_contains="/batches", method="PUT")
        stopped = workspace.run(_pipeline(), salesforce_bulk_threshold=3)
        resumed = workspace.run(_pipeline(), salesforce_bulk_threshold=3)
        final = _final_state(emulator)

    assert stopped.returncode == 1
    assert "Traceback" not in stopped.stderr
    assert stopped.states == []
    assert "failed after 5 retries: 500 UNKNOWN_EXCEPTION" in stopped.stderr
    assert resumed.returncode == 0, resumed.stderr
    assert final == clean_state
    assert workspace.rejects() == []


def test_fields_invisible_for_a_while_after_their_grant_are_waited_for_then_written(
    tmp_path: Path, clean_state: dict[str, Any]
) -> None:
    with new_emulator(grant_delay_seconds=1.5) as emulator:
        workspace = SalesforceWorkspace(tmp_path, emulator=emulator)
        result = workspace.run(_pipeline())
        final = _final_state(emulator)
        refused = [c for c in emulator.calls if c.status == 400]

    assert result.returncode == 0, result.stderr
    assert "new Account fields not visible yet; describing again" in result.stderr
    assert refused == []  # nothing was sent before the fields showed
    assert final == clean_state
    assert workspace.rejects() == []


def test_fields_that_stay_invisible_stop_the_run_before_writing_naming_the_setting(
    tmp_path: Path,
) -> None:
    with new_emulator(grant_delay_seconds=60) as emulator:
        workspace = SalesforceWorkspace(tmp_path, emulator=emulator)
        result = workspace.run(_pipeline(), salesforce_field_visibility_timeout_seconds=0.5)
        written = emulator.writes("Account") + emulator.writes("Contact")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.states == []
    assert written == []
    assert "salesforce_field_visibility_timeout_seconds 0.5" in result.stderr


def test_writes_applied_but_answered_by_a_dropped_connection_end_in_the_clean_state(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator, clean_state: dict[str, Any]
) -> None:
    salesforce.inject("drop", path_contains="/composite/sobjects/Account")
    salesforce.inject("drop", path_contains="/composite/sobjects/Contact")
    salesforce.inject("drop", method="POST", sobject="AccountContactRelation")
    salesforce.inject("drop", method="PATCH", sobject="AccountContactRelation")
    salesforce.inject("drop", path_contains="/tooling/")

    result = workspace.run(_pipeline())

    assert result.returncode == 0, result.stderr
    assert result.stderr.count("connection failed") == 5
    assert list(salesforce.faults) == []
    assert _final_state(salesforce) == clean_state
    assert workspace.rejects() == []
    assert result.states == [{"bookmarks": {"tracks": "2026-03-02"}}]


@pytest.mark.parametrize("bulk", [False, True], ids=["collections", "bulk"])
def test_fields_described_before_writes_may_use_them_are_retried_until_they_can(
    tmp_path: Path, clean_state: dict[str, Any], bulk: bool
) -> None:
    settings = {"salesforce_bulk_threshold": 3} if bulk else {}
    with new_emulator(grant_delay_seconds=2.0, describe_ahead=True) as emulator:
        workspace = SalesforceWorkspace(tmp_path, emulator=emulator)
        result = workspace.run(_pipeline(), salesforce_backoff_base_seconds=0.2, **settings)
        final = _final_state(emulator)
        refused = [c for c in emulator.calls if c.status == 400]

    assert result.returncode == 0, result.stderr
    assert refused  # queries or writes met INVALID_FIELD for a while
    assert final == clean_state
    assert workspace.rejects() == []
