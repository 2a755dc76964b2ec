"""On HubSpot too, a contact or company that left the model is flagged once (`on_leave`)."""

from __future__ import annotations

from ..target_local.test_target_leavers import FIRST, LATER
from .harness import HubSpotWorkspace, crm_calls
from .hubspot_emulator import HubSpotEmulator


def test_leavers_are_flagged_by_id_once_with_a_boolean_property(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    assert workspace.run(FIRST).returncode == 0

    result = workspace.run(LATER)

    assert result.returncode == 0, result.stderr
    assert hubspot.contacts()["bob@acme.com"]["plg_in_product"] == "false"
    assert "plg_in_product" not in hubspot.contacts()["ann@acme.com"]
    assert hubspot.companies()["a2"]["plg_in_product"] == "false"
    flag = hubspot.properties("contacts")["plg_in_product"]
    assert (flag["type"], flag["fieldType"]) == ("bool", "booleancheckbox")
    assert workspace.rejects() == []
    before = len(hubspot.calls)
    assert workspace.run(LATER).returncode == 0
    assert crm_calls(hubspot.calls[before:]) == []  # flagged once, not on every run
