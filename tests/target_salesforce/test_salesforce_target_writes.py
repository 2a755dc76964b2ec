"""What the target writes to Salesforce (the emulator), through the real console script."""

from __future__ import annotations

import copy
from typing import Any

from ..target_local.harness import CONTACT_SCHEMA, association, company, contact, schemas, state
from .harness import SalesforceWorkspace
from .salesforce_emulator import SalesforceEmulator


def salesforce_schemas() -> list[dict[str, Any]]:
    """The transform's schemas, contacts carrying the demo's name and title traits."""
    messages = schemas()
    contacts = messages[1]
    contacts["schema"] = copy.deepcopy(CONTACT_SCHEMA)
    for trait in ("firstName", "lastName", "title"):
        contacts["schema"]["properties"][trait] = {"type": ["string", "null"]}
    return messages


def pipeline() -> list[dict[str, Any]]:
    """Transform-shaped input: companies, contacts, associations, then STATE."""
    return [
        *salesforce_schemas(),
        company("a1", segments="hot;expansion", lifecycle_stage="customer", engagement_score=72),
        company("a2", is_pqa=True, activation_rate=0.125),
        contact(
            "u1",
            "Ann@Acme.com",
            primary_account_id="a1",
            segments="power_user",
            firstName="Ann",
            lastName="Lee",
            title="CTO",
        ),
        contact("u2", "bob@acme.com", primary_account_id="a2", lifecycle_stage="pql"),
        association("u1", "a1", role="Decision Maker", is_champion=True, engagement_score=80),
        association("u1", "a2", role="Evaluator"),
        association("u2", "a2"),
        state({"bookmarks": {"tracks": "2026-03-02"}}),
    ]


def test_a_clean_run_writes_accounts_contacts_and_relations(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    result = workspace.run(pipeline())

    assert result.returncode == 0, result.stderr
    assert result.states == [{"bookmarks": {"tracks": "2026-03-02"}}]
    accounts = salesforce.accounts()
    assert accounts["a1"]["Name"] == "Company a1"
    assert accounts["a1"]["PLG_Engagement_Score__c"] == 72
    assert accounts["a1"]["PLG_Segments__c"] == "hot;expansion"
    assert accounts["a2"]["PLG_Is_Pqa__c"] is True
    assert accounts["a2"]["PLG_Activation_Rate__c"] == 0.125
    contacts = salesforce.contacts()
    ann = contacts["u1"]
    assert (ann["Email"], ann["FirstName"], ann["LastName"], ann["Title"]) == (
        "ann@acme.com",
        "Ann",
        "Lee",
        "CTO",
    )
    assert ann["AccountId"] == accounts["a1"]["Id"]
    assert contacts["u2"]["LastName"] == "[not provided]"
    relations = salesforce.relations()
    assert set(relations) == {("u1", "a1"), ("u1", "a2"), ("u2", "a2")}
    direct = relations[("u1", "a1")]
    assert direct["IsDirect"] is True and direct["Roles"] == "Decision Maker"
    assert direct["PLG_Is_Champion__c"] is True and direct["PLG_Engagement_Score__c"] == 80
    assert relations[("u1", "a2")]["IsDirect"] is False
    assert relations[("u1", "a2")]["Roles"] == "Evaluator"
    assert workspace.rejects() == []
