"""Writes whose outcome is unknown, and memory the ledger lost, end as a clean run would.

A timeout in the emulator is "applied, then never answered": the portal changed, the
target did not hear it. For every kind of write the target sends, such a write must be
resolved (retried idempotently, or read back) before the run goes on, so that a run
exiting 0 with its STATE has written everything; when it cannot be resolved, the run
fails in one line and emits no STATE. A lost ledger must cost calls, never wrong labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..target_local.harness import association, company, contact, schemas, state
from .harness import SHORT_TIMEOUT, TOKEN, HubSpotWorkspace, crm_calls
from .hubspot_emulator import HubSpotEmulator

ADOPTED_DOMAIN = "adopt.example.com"
ASSOCIATIONS = "/crm/v4/associations/contacts/companies"


def _run_one() -> list[dict[str, Any]]:
    """First run: a company adopted by domain, roles, a segment, primaries."""
    return [
        *schemas(),
        company("a0", domain=ADOPTED_DOMAIN, segments="cold"),
        *[company(f"a{i}", segments="cold") for i in (1, 2)],
        *[contact(f"u{i}", f"user{i}@acme.com", primary_account_id=f"a{i % 3}") for i in range(6)],
        *[association(f"u{i}", f"a{i % 3}", role="member" if i % 2 else "admin") for i in range(6)],
        state({"bookmarks": {"run": 1}}),
    ]


def _run_two() -> list[dict[str, Any]]:
    """Second run: a new segment option, a role changed, a new role (a new label)."""
    roles = {0: "member", 1: "admin", 2: "owner"}
    return [
        *schemas(),
        company("a0", domain=ADOPTED_DOMAIN, segments="cold;hot"),
        *[company(f"a{i}", segments="cold") for i in (1, 2)],
        *[contact(f"u{i}", f"user{i}@acme.com", primary_account_id=f"a{i % 3}") for i in range(6)],
        *[
            association(f"u{i}", f"a{i % 3}", role=roles.get(i, "member" if i % 2 else "admin"))
            for i in range(6)
        ],
        state({"bookmarks": {"run": 2}}),
    ]


def _portal(emulator: HubSpotEmulator) -> dict[str, Any]:
    """What a person sees in the portal: properties with options, objects, labels."""
    properties = {
        object_type: {
            n: (p["type"], p["fieldType"], sorted(o["value"] for o in p["options"]))
            for n, p in emulator.properties(object_type).items()
        }
        for object_type in ("contacts", "companies")
    }
    strip = ("createdate", "lastmodifieddate", "hs_object_id")

    def objects(found: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        return {k: {n: v for n, v in o.items() if n not in strip} for k, o in found.items()}

    return {
        "properties": properties,
        "contacts": objects(emulator.contacts()),
        "companies": objects(emulator.companies()),
        "associations": emulator.associations(),
        "labels": sorted(emulator.label_names().values()),
    }


def _new_portal() -> HubSpotEmulator:
    emulator = HubSpotEmulator(
        TOKEN, rate_interval_ms=2000, timeout_delay_seconds=0.8, watchdog_seconds=120
    )
    emulator.start()
    emulator.add_object("companies", {"name": "Adopt Inc", "domain": ADOPTED_DOMAIN})
    return emulator


@pytest.fixture(scope="module")
def clean_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal after the two runs without any fault."""
    emulator = _new_portal()
    try:
        workspace = HubSpotWorkspace(tmp_path_factory.mktemp("clean"), emulator=emulator)
        for messages in (_run_one(), _run_two()):
            result = workspace.run(messages)
            assert result.returncode == 0, result.stderr
        yield _portal(emulator)
    finally:
        emulator.stop()


@pytest.fixture
def portal() -> Iterator[HubSpotEmulator]:
    """A portal holding one company people made (adopted by its domain)."""
    emulator = _new_portal()
    try:
        yield emulator
    finally:
        emulator.stop()


#: (run, method, path) of every kind of write the target sends to HubSpot.
WRITES = [
    (1, "POST", "/crm/v3/properties/companies/groups"),
    (1, "POST", "/crm/v3/properties/companies/batch/create"),
    (1, "POST", "/crm/v3/properties/contacts/batch/create"),
    (1, "POST", "/crm/v3/objects/companies/batch/update"),
    (1, "POST", "/crm/v3/objects/companies/batch/upsert"),
    (1, "POST", "/crm/v3/objects/contacts/batch/upsert"),
    (1, "POST", f"{ASSOCIATIONS}/labels"),
    (1, "POST", f"{ASSOCIATIONS}/batch/create"),
    (2, "PATCH", "/crm/v3/properties/companies/plg_segments"),
    (2, "POST", f"{ASSOCIATIONS}/labels"),
    (2, "POST", f"{ASSOCIATIONS}/batch/create"),
    (2, "POST", f"{ASSOCIATIONS}/batch/labels/archive"),
]


@pytest.mark.parametrize(("run", "method", "path"), WRITES, ids=[f"{m} {p}" for _, m, p in WRITES])
def test_a_write_applied_but_never_answered_ends_as_the_clean_run(
    tmp_path: Path,
    portal: HubSpotEmulator,
    clean_portal: dict[str, Any],
    run: int,
    method: str,
    path: str,
) -> None:
    workspace = HubSpotWorkspace(tmp_path, emulator=portal)
    for number, messages in enumerate((_run_one(), _run_two()), start=1):
        if number == run:
            portal.inject("timeout", path_contains=path, method=method)
        result = workspace.run(messages, **SHORT_TIMEOUT)
        assert result.returncode == 0, result.stderr
        assert result.states == [{"bookmarks": {"run": number}}]
        assert workspace.rejects() == []
    assert not portal.faults, "the fault was never met"
    assert _portal(portal) == clean_portal


def test_property_creation_applied_but_unanswered_is_read_back_not_skipped(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    """The known failure: every retry answers "already exists"; the field was then lost."""
    hubspot.inject("timeout", path_contains="/properties/contacts/batch/create", method="POST")

    result = workspace.run(_run_one(), **SHORT_TIMEOUT)

    assert result.returncode == 0, result.stderr
    assert "was not created" not in result.stderr
    assert all(c["plg_engagement_score"] == "40" for c in hubspot.contacts().values())
    assert "created by an attempt whose answer was lost" in result.stderr


def test_a_write_never_answered_after_every_retry_fails_the_run_without_state(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    hubspot.inject("timeout", "timeout", path_contains=f"{ASSOCIATIONS}/batch/create")

    result = workspace.run(_run_one(), hubspot_max_retries=1, **SHORT_TIMEOUT)

    assert result.returncode != 0
    assert result.states == []
    assert "Traceback" not in result.stderr
    assert "failed after 1 retries: no answer within 0.5 s" in result.stderr
    # The scheduler's next run finishes the job.
    again = workspace.run(_run_one())
    assert again.returncode == 0, again.stderr
    assert again.states == [{"bookmarks": {"run": 1}}]
    assert len(hubspot.associations()) == 6


def test_a_lost_ledger_removes_labels_that_no_longer_apply(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator, clean_portal: dict[str, Any]
) -> None:
    hubspot.add_object("companies", {"name": "Adopt Inc", "domain": ADOPTED_DOMAIN})
    assert workspace.run(_run_one()).returncode == 0
    assert hubspot.associations()[("user0@acme.com", "a0")] == {"", "Admin", "Primary"}
    (workspace.folder / "ledger.sqlite").unlink()

    result = workspace.run(_run_two())

    assert result.returncode == 0, result.stderr
    # u0 was admin, is member now: the Admin label went, though no ledger remembered it.
    assert hubspot.associations()[("user0@acme.com", "a0")] == {"", "Member", "Primary"}
    assert _portal(hubspot)["associations"] == clean_portal["associations"]
    reads = hubspot.calls_to(f"{ASSOCIATIONS}/batch/read")
    assert len(reads) == 1 and len(reads[0].body["inputs"]) == 6


def test_labels_a_person_added_are_kept_and_a_new_portal_costs_no_read(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    hubspot.add_object("companies", {"name": "Adopt Inc", "domain": ADOPTED_DOMAIN})
    assert workspace.run(_run_one()).returncode == 0
    assert hubspot.calls_to(f"{ASSOCIATIONS}/batch/read") == []  # every contact was new
    hubspot.create_label({"name": "decision_maker", "label": "Decision maker"})
    hubspot.set_association_labels("user1@acme.com", "a1", {"Member", "Decision maker"})
    (workspace.folder / "ledger.sqlite").unlink()

    assert workspace.run(_run_two()).returncode == 0

    assert hubspot.associations()[("user1@acme.com", "a1")] == {
        "",
        "Admin",
        "Decision maker",
        "Primary",
    }
    before = len(hubspot.calls)
    assert workspace.run(_run_two()).returncode == 0
    assert crm_calls(hubspot.calls[before:]) == []  # the ledger knows it all again
