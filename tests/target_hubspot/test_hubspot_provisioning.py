"""Properties the target creates are ones HubSpot accepts (the emulator refuses the rest)."""

from __future__ import annotations

from typing import Any

from ..target_local.harness import contact, record, schema, schemas
from .harness import HubSpotWorkspace
from .hubspot_emulator import HubSpotEmulator


def test_booleans_carry_yes_and_no_and_their_values_arrive(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    messages = [
        *schemas(),
        contact("u1", "ann@acme.com", is_pql=True),
        contact("u2", "bob@acme.com", is_pql=False),
    ]

    result = workspace.run(messages)

    assert result.returncode == 0, result.stderr
    options = hubspot.properties("contacts")["plg_is_pql"]["options"]
    assert [(o["label"], o["value"]) for o in options] == [("Yes", "true"), ("No", "false")]
    assert hubspot.contacts()["ann@acme.com"]["plg_is_pql"] == "true"
    assert hubspot.contacts()["bob@acme.com"]["plg_is_pql"] == "false"
    assert workspace.rejects() == []


def test_an_enumeration_is_created_with_its_first_value(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    before = [*schemas(), contact("u1", "ann@acme.com", lifecycle_stage=None, segments="")]
    after = [*schemas(), contact("u1", "ann@acme.com", lifecycle_stage="pql", segments="a;b")]

    first = workspace.run(before)

    assert first.returncode == 0, first.stderr
    assert workspace.rejects() == []
    assert "plg_lifecycle_stage" not in hubspot.properties("contacts")
    assert "plg_segments" not in hubspot.properties("contacts")
    assert hubspot.contacts()["ann@acme.com"]["plg_user_id"] == "u1"

    second = workspace.run(after)

    assert second.returncode == 0, second.stderr
    properties = hubspot.properties("contacts")
    assert [o["value"] for o in properties["plg_lifecycle_stage"]["options"]] == ["pql"]
    assert sorted(o["value"] for o in properties["plg_segments"]["options"]) == ["a", "b"]
    assert hubspot.contacts()["ann@acme.com"]["plg_segments"] == "a;b"


def test_a_single_choice_value_with_a_semicolon_is_rejected_alone(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    messages = [
        *schemas(),
        contact("u1", "ann@acme.com", lifecycle_stage="pql"),
        contact("u2", "bob@acme.com", lifecycle_stage="pql;customer"),
    ]

    result = workspace.run(messages)

    assert result.returncode == 0, result.stderr
    assert sorted(hubspot.contacts()) == ["ann@acme.com"]
    assert [(r["record"]["user_id"], r["code"]) for r in workspace.rejects()] == [
        ("u2", "INVALID_VALUE")
    ]


def test_dates_are_written_as_epoch_ms_at_utc_midnight(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    contacts = schema("contacts")
    contacts["schema"]["properties"]["trial_ends_on"] = {"type": "string", "format": "date"}

    result = workspace.run(
        [contacts, record("contacts", user_id="u1", email="a@acme.com", trial_ends_on="2026-03-01")]
    )

    assert result.returncode == 0, result.stderr
    assert hubspot.properties("contacts")["plg_trial_ends_on"]["type"] == "date"
    assert hubspot.contacts()["a@acme.com"]["plg_trial_ends_on"] == "1772323200000"


def test_a_field_whose_property_name_hubspot_refuses_is_left_out_with_a_warning(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    long_field = "x" * 120
    contacts: dict[str, Any] = {
        "type": "SCHEMA",
        "stream": "contacts",
        "key_properties": ["email"],
        "schema": {
            "type": "object",
            "properties": {
                "email": {"type": "string"},
                "s_score": {"type": "integer"},
                long_field: {"type": "string"},
                "plan": {"type": "string"},
            },
        },
    }
    row = record("contacts", email="a@acme.com", s_score=3, plan="pro", **{long_field: "y"})

    result = workspace.run([contacts, row], property_prefix="h")

    assert result.returncode == 0, result.stderr
    assert "'hs_score'" in result.stderr and "belong to HubSpot" in result.stderr
    assert "HubSpot takes fewer than 100" in result.stderr
    assert hubspot.contacts()["a@acme.com"] == {"email": "a@acme.com", "hplan": "pro"}
