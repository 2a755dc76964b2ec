"""The HubSpot emulator takes tasks and owners as the contract says, and refuses the rest.

Each request goes straight to the emulator: a playbook test proves something only if
the emulator is as strict as HubSpot (docs/crm-contract.md, "Owners and tasks").
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from ..target_hubspot.harness import TOKEN
from ..target_hubspot.hubspot_emulator import HubSpotEmulator

CREATE = "/crm/v3/objects/tasks/batch/create"


def _send(emulator: HubSpotEmulator, method: str, path: str, body: Any = None) -> Any:
    return requests.request(
        method,
        emulator.base_url + path,
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )


def _task(contact: str, company: str, **properties: str) -> dict[str, Any]:
    base = {
        "hs_timestamp": "2026-03-04T09:00:00Z",
        "hs_task_subject": "Call",
        "hs_task_priority": "HIGH",
        "hs_task_type": "CALL",
        "hs_task_status": "NOT_STARTED",
    }
    return {
        "properties": {k: v for k, v in {**base, **properties}.items() if v != "-"},
        "associations": [
            {"to": {"id": contact}, "types": [_type(204)]},
            {"to": {"id": company}, "types": [_type(192)]},
        ],
        "objectWriteTraceId": "t1",
    }


def _type(type_id: int) -> dict[str, Any]:
    return {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}


@pytest.fixture
def portal(hubspot: HubSpotEmulator) -> tuple[HubSpotEmulator, str, str, str]:
    """The emulator with one owner, contact and company: (emulator, owner, contact, company)."""
    owner = hubspot.add_owner("ada@seller.example")
    contact = hubspot.add_object("contacts", {"email": "ann@acme.example"})
    company = hubspot.add_object("companies", {"domain": "acme.example"})
    return hubspot, owner, contact, company


def test_a_valid_task_is_created_with_its_associations_and_read_back(portal: Any) -> None:
    emulator, owner, contact, company = portal
    answer = _send(
        emulator, "POST", CREATE, {"inputs": [_task(contact, company, hubspot_owner_id=owner)]}
    )
    assert answer.status_code == 201, answer.text
    task_id = answer.json()["results"][0]["id"]
    links = _send(
        emulator,
        "POST",
        "/crm/v4/associations/companies/tasks/batch/read",
        {"inputs": [{"id": company}]},
    ).json()
    assert [t["toObjectId"] for t in links["results"][0]["to"]] == [int(task_id)]
    owners = _send(emulator, "GET", "/crm/v3/owners?limit=100").json()
    assert [(o["id"], o["email"]) for o in owners["results"]] == [(owner, "ada@seller.example")]


REFUSED = {
    "no hs_timestamp": ({"hs_timestamp": "-"}, "REQUIRED_PROPERTY"),
    "a bad hs_timestamp": ({"hs_timestamp": "next tuesday"}, "INVALID_DATE"),
    "an unknown owner": ({"hubspot_owner_id": "31337"}, "INVALID_OPTION"),
    "a bad priority": ({"hs_task_priority": "URGENT"}, "INVALID_OPTION"),
    "a bad type": ({"hs_task_type": "MEETING"}, "INVALID_OPTION"),
    "a bad status": ({"hs_task_status": "DONE"}, "INVALID_OPTION"),
    "an unknown property": ({"plg_score": "3"}, "PROPERTY_DOESNT_EXIST"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_bad_task_is_refused_by_its_trace_id(portal: Any, case: str) -> None:
    emulator, _owner, contact, company = portal
    changes, code = REFUSED[case]
    answer = _send(emulator, "POST", CREATE, {"inputs": [_task(contact, company, **changes)]})
    assert answer.status_code == 207, answer.text
    error = answer.json()["errors"][0]
    assert error["context"]["objectWriteTraceId"] == ["t1"]
    assert error["errors"][0]["code"] == code
    assert emulator.tasks() == []


def test_wrong_association_types_missing_objects_and_big_batches_are_refused(
    portal: Any,
) -> None:
    emulator, _owner, contact, company = portal
    swapped = _task(contact, company)
    swapped["associations"][0]["types"] = [_type(192)]  # a contact as a company
    user_defined = _task(contact, company)
    user_defined["associations"][1]["types"] = [
        {**_type(192), "associationCategory": "USER_DEFINED"}
    ]
    label_type = _task(contact, company)
    label_type["associations"][0]["types"] = [_type(279)]  # contact->company's, not a task's
    for task, code in (
        (swapped, "OBJECT_NOT_FOUND"),
        (user_defined, "INVALID_ASSOCIATION_TYPE"),
        (label_type, "INVALID_ASSOCIATION_TYPE"),
    ):
        answer = _send(emulator, "POST", CREATE, {"inputs": [task]})
        assert answer.status_code == 207 and answer.json()["errors"][0]["errors"][0]["code"] == code
    untraced = _task(contact, company, hs_timestamp="-")
    del untraced["objectWriteTraceId"]
    assert _send(emulator, "POST", CREATE, {"inputs": [untraced]}).status_code == 400
    too_many = [{**_task(contact, company), "objectWriteTraceId": f"t{i}"} for i in range(101)]
    assert _send(emulator, "POST", CREATE, {"inputs": too_many}).status_code == 400
    assert emulator.tasks() == []


def test_owners_need_their_scope(hubspot: HubSpotEmulator) -> None:
    hubspot.scopes = hubspot.scopes - {"crm.objects.owners.read"}
    answer = _send(hubspot, "GET", "/crm/v3/owners")
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["context"]["requiredScopes"] == ["crm.objects.owners.read"]


def _sf_task(contact: str, account: str, **fields: Any) -> dict[str, Any]:
    base = {
        "Subject": "Call",
        "ActivityDate": "2026-03-04",
        "Priority": "High",
        "Status": "Not Started",
        "TaskSubtype": "Call",
        "WhoId": contact,
        "WhatId": account,
    }
    return {
        "attributes": {"type": "Task"},
        **{k: v for k, v in {**base, **fields}.items() if v != "-"},
    }


SF_REFUSED = {
    "a bad priority": ({"Priority": "Urgent"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
    "a bad status": ({"Status": "Done"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
    "a bad subtype": ({"TaskSubtype": "Meeting"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
    "a malformed WhoId": ({"WhoId": "nope"}, "MALFORMED_ID"),
    "an Account as WhoId": ({"WhoId": "ACCOUNT"}, "FIELD_INTEGRITY_EXCEPTION"),
    "a missing WhatId": ({"WhatId": "001000000009999AAA"}, "INVALID_CROSS_REFERENCE_KEY"),
    "an unknown owner": ({"OwnerId": "005000000009999AAA"}, "INVALID_CROSS_REFERENCE_KEY"),
    "an inactive owner": ({"OwnerId": "INACTIVE"}, "INVALID_CROSS_REFERENCE_KEY"),
}


@pytest.mark.parametrize("case", list(SF_REFUSED))
def test_salesforce_refuses_a_bad_task_per_record(salesforce: Any, case: str) -> None:
    from ..target_salesforce.test_salesforce_emulator_refusals import Org

    org = Org(salesforce)
    account = salesforce.add_record("Account", Name="Acme")
    contact = salesforce.add_record("Contact", LastName="Ann", AccountId=account)
    inactive = salesforce.add_user("gone@seller.example", active=False)
    changes, code = SF_REFUSED[case]
    names = {"ACCOUNT": account, "INACTIVE": inactive}
    changes = {k: names.get(v, v) for k, v in changes.items()}
    good = _sf_task(contact, account, OwnerId=salesforce.add_user("ada@seller.example"))
    body = {"allOrNone": False, "records": [good, _sf_task(contact, account, **changes)]}

    answer = org.call("POST", "/composite/sobjects", body)

    assert answer.status_code == 200, answer.text
    first, second = answer.json()
    assert first["success"] and not second["success"]
    assert second["errors"][0]["statusCode"] == code
    assert len(salesforce.records("Task")) == 1
