"""`meltano run` into the strict HubSpot emulator: the PQL flags arrive, a bad token stops it.

The emulator refuses what HubSpot refuses (booleans without their two options
included), so the flags sales acts on (`plg_is_pql`, `plg_is_pqa`, `plg_activated`)
reach the records only if the target provisions them as HubSpot accepts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from demo.generate_demo import generate
from tests.e2e.conftest import MeltanoProject
from tests.target_hubspot.harness import TOKEN
from tests.target_hubspot.hubspot_emulator import HubSpotEmulator

SMALL_DEMO = {"seed": 11, "accounts": 14, "users": 45, "days": 50}


@pytest.fixture
def hubspot(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubSpotEmulator]:
    """An empty portal; the dev environment's target points at it through the environment."""
    with HubSpotEmulator(TOKEN, rate_interval_ms=2000, watchdog_seconds=600) as emulator:
        monkeypatch.setenv("TARGET_PLG_CRM_CRM", "hubspot")
        monkeypatch.setenv("TARGET_PLG_CRM_HUBSPOT_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("TARGET_PLG_CRM_HUBSPOT_BASE_URL", emulator.base_url)
        yield emulator


def test_the_pql_flags_reach_hubspot_records(
    meltano_project: MeltanoProject, hubspot: HubSpotEmulator
) -> None:
    generate(meltano_project.events_dir, **SMALL_DEMO)

    meltano_project.run_pipeline()

    contacts, companies = hubspot.properties("contacts"), hubspot.properties("companies")
    for definition in (contacts["plg_is_pql"], contacts["plg_activated"], companies["plg_is_pqa"]):
        assert (definition["type"], definition["fieldType"]) == ("bool", "booleancheckbox")
        assert {o["value"] for o in definition["options"]} == {"true", "false"}
    records = hubspot.contacts()
    assert records and all(c["plg_is_pql"] in ("true", "false") for c in records.values())
    assert all(c["plg_activated"] in ("true", "false") for c in records.values())
    assert all(c["plg_is_pqa"] in ("true", "false") for c in hubspot.companies().values())
    assert any(c["plg_is_pql"] == "true" for c in records.values())
    history = [
        json.loads(line)
        for line in (meltano_project.root / "output" / "run-history.jsonl").read_text().splitlines()
    ]
    assert [(h["status"], h["crm"]) for h in history] == [("succeeded", "hubspot")]
    assert history[0]["calls"]["total"] == len(hubspot.calls)


def test_a_wrong_token_stops_meltano_run_at_once_in_one_line(
    meltano_project: MeltanoProject,
    hubspot: HubSpotEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generate(meltano_project.events_dir, **SMALL_DEMO)
    monkeypatch.setenv("TARGET_PLG_CRM_HUBSPOT_ACCESS_TOKEN", "pat-na1-wrong0000-0000")
    started = time.monotonic()

    run = meltano_project.run_pipeline(check=False)

    assert run.returncode != 0
    refusals = [
        line
        for line in run.stderr.splitlines()
        if "`hubspot_access_token`: HubSpot refused the token (401)" in line
    ]
    assert len(refusals) == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert "pat-na1-wrong0000-0000" not in run.stderr
    assert [c.path for c in hubspot.calls] == ["/oauth/v2/private-apps/get/access-token-info"]
    assert not (meltano_project.root / "output" / "rejects.jsonl").exists()
    assert time.monotonic() - started < 120
