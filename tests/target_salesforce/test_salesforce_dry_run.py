"""The dry run's plan counts Salesforce requests; the real run right after sends exactly them."""

from __future__ import annotations

from typing import Any

import pytest

from ..target_local.harness import association, company, contact
from .harness import SalesforceWorkspace
from .salesforce_emulator import SalesforceEmulator
from .test_salesforce_target_writes import pipeline


def _plan_then_run(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator, messages: list, **settings: Any
) -> tuple[dict[str, Any], dict[str, int]]:
    """The dry run's plan, and the calls of the real run made right after it."""
    before = len(salesforce.calls)
    dry = workspace.run(messages, dry_run=True, **settings)
    assert dry.returncode == 0, dry.stderr
    assert all(c.method == "GET" or "oauth2" in c.path for c in salesforce.calls[before:])
    plan = workspace.plan()
    real = workspace.run(messages, **settings)
    assert real.returncode == 0, real.stderr
    history = workspace.run_history()[-1]
    assert history["dry_run"] is False
    return plan, history["calls"]["by_endpoint"]


def _bigger() -> list[dict[str, Any]]:
    messages = pipeline()
    extra = [
        *[company(f"b{i}", domain=f"b{i}.com") for i in range(12)],
        *[
            contact(f"v{i}", f"v{i}@b{i % 12}.com", primary_account_id=f"b{i % 12}", lastName="V")
            for i in range(30)
        ],
        *[association(f"v{i}", f"b{(i + 1) % 12}", role="Billing Owner") for i in range(30)],
    ]
    return [
        *messages[:4],
        *extra[:12],
        *messages[4:6],
        *extra[12:42],
        *messages[6:-1],
        *extra[42:],
        messages[-1],
    ]


@pytest.mark.parametrize("bulk", [False, True], ids=["collections", "bulk"])
def test_on_a_fresh_org_the_real_run_makes_exactly_the_planned_calls(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator, bulk: bool
) -> None:
    settings = {"salesforce_bulk_threshold": 5} if bulk else {}

    plan, real = _plan_then_run(workspace, salesforce, _bigger(), **settings)

    planned = plan["calls"]["by_endpoint"]
    assert plan["calls"]["total"] == sum(planned.values())
    assert real == planned
    assert planned["POST /services/Soap/m"] == 2  # Billing Owner: read, then update
    # Once, then again until the fields it just created show (at once here).
    assert planned["GET /sobjects/Contact/describe"] == 2
    if bulk:
        assert planned["POST /jobs/ingest"] == 2
    else:
        assert planned["PATCH /composite/sobjects/Contact/PLG_User_Id__c"] == 1
    roles = plan["properties"]["associations"]["add_options"]
    assert roles == {"Roles (AccountContactMultiRoles)": ["Billing Owner"]}


def test_on_an_org_with_data_the_plan_adopts_and_the_real_run_matches_it(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    assert workspace.run(pipeline()).returncode == 0
    salesforce.add_record("Contact", LastName="Sales", Email="v3@b3.com")
    salesforce.add_record("Account", Name="B5 (sales)", Website="https://b5.com")
    messages = _bigger()
    messages[5] = company("a2", is_pqa=False, activation_rate=0.5)  # changed

    plan, real = _plan_then_run(workspace, salesforce, messages)

    assert real == plan["calls"]["by_endpoint"]
    companies = {r["key"]: r for r in plan["records"]["companies"]}
    assert companies["b5"]["action"] == "adopt"
    assert companies["a2"]["action"] == "update"
    assert "a1" not in companies  # unchanged (ledger)
    assert "PATCH /composite/sobjects" in real  # the adopted Account (and Contact)
    assert salesforce.accounts()["b5"]["Name"] == "B5 (sales)"
    assert salesforce.contacts()["v3"]["LastName"] == "Sales"


def test_an_unchanged_rerun_plans_no_call_and_makes_none(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    assert workspace.run(pipeline()).returncode == 0

    plan, real = _plan_then_run(workspace, salesforce, pipeline())

    assert plan["calls"]["by_endpoint"] == real == {}


def test_with_field_creation_off_the_plan_names_the_stop_and_the_real_run_meets_it(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    off = {"salesforce_create_fields": False}
    dry = workspace.run(pipeline(), dry_run=True, **off)
    assert dry.returncode == 0, dry.stderr
    plan = workspace.plan()

    real = workspace.run(pipeline(), **off)

    assert real.returncode == 1
    assert plan["stops"]  # one per object type that lacks fields
    assert all("salesforce_create_fields is false" in stop for stop in plan["stops"])
    history = workspace.run_history()[-1]
    assert history["status"] != "succeeded"
    # The real run describes the three objects, then stops before any write.
    assert history["calls"]["by_endpoint"] == plan["calls"]["by_endpoint"]
    assert set(plan["calls"]["by_endpoint"]) == {
        "GET /sobjects/Account/describe",
        "GET /sobjects/Contact/describe",
        "GET /sobjects/AccountContactRelation/describe",
    }
