"""The run history of a HubSpot run: calls per endpoint, waits, and unpaced associations."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..target_local.harness import association, company, contact, schemas, state
from .harness import TOKEN, HubSpotWorkspace
from .hubspot_emulator import HubSpotEmulator


def _pipeline(companies: int, contacts: int) -> list[dict]:
    """Every contact belongs to every company: contacts x companies associations."""
    return [
        *schemas(),
        *[company(f"a{i}", is_pqa=i % 2 == 0) for i in range(companies)],
        *[
            contact(f"u{i}", f"user{i}@acme.com", primary_account_id="a0", is_pql=i % 3 == 0)
            for i in range(contacts)
        ],
        *[
            association(f"u{i}", f"a{j}", role="admin" if i % 2 else "user")
            for i in range(contacts)
            for j in range(companies)
        ],
        state({"bookmarks": {"tracks": "2026-03-02"}}),
    ]


def test_the_history_line_counts_the_calls_of_each_endpoint(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    assert workspace.run(_pipeline(3, 40)).returncode == 0
    assert workspace.run(_pipeline(3, 40)).returncode == 0

    first, again = workspace.run_history()
    sent = Counter(f"{c.method} {c.path}" for c in hubspot.calls)
    assert first["status"] == "succeeded" and first["crm"] == "hubspot"
    assert first["objects"]["associations"]["created"] == 120
    assert first["objects"]["contacts"]["created"] == 40
    assert again["objects"]["associations"]["unchanged"] == 120
    assert first["calls"]["total"] + again["calls"]["total"] == len(hubspot.calls)
    merged = Counter(first["calls"]["by_endpoint"]) + Counter(again["calls"]["by_endpoint"])
    assert merged == sent
    assert again["calls"]["by_endpoint"] == {"POST /oauth/v2/private-apps/get/access-token-info": 1}
    assert first["calls"]["rate_limit_waits"] == {"count": 0, "seconds": 0.0}


def test_associations_are_not_paced_by_the_ten_secondly_budget(tmp_path: Path) -> None:
    # 9 paced calls (token, 2 property lists, 2 groups, 2 property batches, 2 upserts)
    # fit a budget of 12 (10 usable); the 12 association calls would not.
    with HubSpotEmulator(TOKEN, rate_max=12, rate_interval_ms=10_000) as emulator:
        workspace = HubSpotWorkspace(tmp_path, emulator=emulator)
        result = workspace.run(_pipeline(10, 100))

        assert result.returncode == 0, result.stderr
        assert len(emulator.calls_to("associations/contacts/companies/batch/create")) == 10
        assert [c for c in emulator.calls if c.status == 429] == []
    (line,) = workspace.run_history()
    assert line["calls"]["rate_limit_waits"]["count"] == 0
    assert line["calls"]["total"] > 12
    assert emulator.companies()["a0"]["plg_is_pqa"] == "true"
