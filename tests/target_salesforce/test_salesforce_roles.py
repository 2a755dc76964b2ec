"""New roles: added to the Roles value set through the Metadata API (SOAP), or rejected."""

from __future__ import annotations

from ..target_local.harness import association
from .harness import SalesforceWorkspace
from .salesforce_emulator import ROLES, SalesforceEmulator
from .test_salesforce_target_writes import pipeline

SOAP = "/services/Soap/m/"


def _with_roles(*roles: str) -> list[dict]:
    messages = pipeline()
    messages[-3] = association("u1", "a2", role=roles[0])
    messages[-2] = association("u2", "a2", role=";".join(roles[1:]) or None)
    return messages


def _active_roles(salesforce: SalesforceEmulator) -> list[str]:
    entry = salesforce.fields("AccountContactRelation")["Roles"]
    return [p["value"] for p in entry["picklistValues"] if p["active"]]


def test_new_roles_are_added_to_the_value_set_keeping_every_value_it_had(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    result = workspace.run(_with_roles("Billing Owner", "Viewer", "Evaluator"))

    assert result.returncode == 0, result.stderr
    assert workspace.rejects() == []
    assert _active_roles(salesforce) == [*ROLES, "Billing Owner", "Viewer"]
    relations = salesforce.relations()
    assert relations[("u1", "a2")]["Roles"] == "Billing Owner"
    assert relations[("u2", "a2")]["Roles"] == "Viewer;Evaluator"
    # One read, one update, each a SOAP call.
    assert [c.query for c in salesforce.calls_to(SOAP)] == ["readMetadata", "updateMetadata"]
    assert salesforce.role_updates == 1

    again = workspace.run(_with_roles("Billing Owner", "Viewer", "Evaluator"))

    assert again.returncode == 0, again.stderr
    assert len(salesforce.calls_to(SOAP)) == 2  # nothing new: no Metadata API call


def test_a_role_an_admin_added_meanwhile_is_kept_and_not_added_twice(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    entry = salesforce._org.fields["AccountContactRelation"]["Roles"]  # noqa: SLF001
    entry["picklistValues"].append(
        {"value": "Champion", "label": "Champion", "active": True, "defaultValue": False}
    )

    result = workspace.run(_with_roles("Billing Owner", "Champion"))

    assert result.returncode == 0, result.stderr
    assert _active_roles(salesforce) == [*ROLES, "Champion", "Billing Owner"]
    assert workspace.rejects() == []


def test_with_the_setting_off_a_new_role_is_a_reject_naming_it_and_nothing_is_changed(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    result = workspace.run(_with_roles("Billing Owner"), salesforce_add_role_values=False)

    assert result.returncode == 0, result.stderr
    assert salesforce.calls_to(SOAP) == []
    (reject,) = workspace.rejects()
    assert reject["code"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert "Billing Owner" in reject["reason"]


def test_metadata_faults_and_an_expired_session_are_retried(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    salesforce.inject("500", "expire", "timeout", path_contains=SOAP)

    result = workspace.run(_with_roles("Billing Owner", "Viewer"), salesforce_timeout_seconds=0.5)

    assert result.returncode == 0, result.stderr
    assert list(salesforce.faults) == []
    assert workspace.rejects() == []
    assert _active_roles(salesforce) == [*ROLES, "Billing Owner", "Viewer"]
    assert salesforce.relations()[("u1", "a2")]["Roles"] == "Billing Owner"


def test_an_update_applied_but_unanswered_is_sent_again_and_leaves_the_same_set(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    salesforce.inject("timeout", path_contains="#updateMetadata")

    result = workspace.run(_with_roles("Billing Owner", "Viewer"), salesforce_timeout_seconds=0.5)

    assert result.returncode == 0, result.stderr
    assert list(salesforce.faults) == []
    assert salesforce.role_updates == 2  # applied, unanswered, applied again: same set
    assert _active_roles(salesforce) == [*ROLES, "Billing Owner", "Viewer"]
    assert workspace.rejects() == []
