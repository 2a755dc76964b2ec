"""The emulator refuses what Salesforce refuses: each refusal by a direct request to it.

The target's tests are only worth what the emulator refuses, so every rule the contract
names is checked here with plain HTTP: status, error code and the shape of the answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .harness import CLIENT_ID, CLIENT_SECRET, USERNAME, key_pair, new_emulator
from .salesforce_emulator import SalesforceEmulator

DATA = "/services/data/v62.0"


class Org:
    """A logged-in session on the emulator."""

    def __init__(self, emulator: SalesforceEmulator) -> None:
        self.emulator = emulator
        self.token = self.login()["access_token"]

    def login(self, **form: str) -> dict[str, Any]:
        data = {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            **form,
        }
        response = requests.post(f"{self.emulator.base_url}/services/oauth2/token", data=data)
        return {"status": response.status_code, **response.json()}

    def call(self, method: str, path: str, body: Any = None, **params: str) -> requests.Response:
        return requests.request(
            method,
            f"{self.emulator.base_url}{DATA}{path}",
            json=body,
            params=params or None,
            headers={"Authorization": f"Bearer {self.token}"},
        )

    def upsert(self, sobject: str, field: str, *records: dict[str, Any]) -> requests.Response:
        body = {
            "allOrNone": False,
            "records": [{"attributes": {"type": sobject}, **r} for r in records],
        }
        return self.call("PATCH", f"/composite/sobjects/{sobject}/{field}", body)

    def create_field(self, full_name: str, **metadata: Any) -> requests.Response:
        return self.call(
            "POST", "/tooling/sobjects/CustomField", {"FullName": full_name, "Metadata": metadata}
        )

    def grant(self, *fields: str) -> None:
        name = f"P{len(self.emulator.records('PermissionSet'))}"
        made = self.call("POST", "/sobjects/PermissionSet", {"Name": name, "Label": name})
        ps = made.json()["id"]
        rows = [
            {
                "attributes": {"type": "FieldPermissions"},
                "ParentId": ps,
                "SobjectType": f.split(".")[0],
                "Field": f,
                "PermissionsRead": True,
                "PermissionsEdit": True,
            }
            for f in fields
        ]
        assert self.call("POST", "/composite/sobjects", {"records": rows}).status_code == 200
        user = self.login()["id"].rsplit("/", 1)[-1]
        assigned = self.call(
            "POST", "/sobjects/PermissionSetAssignment", {"PermissionSetId": ps, "AssigneeId": user}
        )
        assert assigned.status_code == 201


@pytest.fixture
def org() -> Iterator[Org]:
    with new_emulator(daily_max=1000) as emulator:
        session = Org(emulator)
        text = {
            "type": "Text",
            "label": "User id",
            "length": 255,
            "externalId": True,
            "unique": True,
        }
        assert session.create_field("Contact.PLG_User_Id__c", **text).status_code == 201
        text["label"] = "Account id"
        assert session.create_field("Account.PLG_Account_Id__c", **text).status_code == 201
        session.grant("Contact.PLG_User_Id__c", "Account.PLG_Account_Id__c")
        yield session


def _codes(response: requests.Response) -> list[str]:
    body = response.json()
    if isinstance(body, list) and body and "errorCode" in body[0]:
        return [e["errorCode"] for e in body]
    return [e["statusCode"] for r in body for e in r.get("errors") or []]


def _assertion(**claims: Any) -> str:
    base = {"iss": CLIENT_ID, "sub": USERNAME, "exp": int(time.time()) + 120, **claims}
    return jwt.encode(base, key_pair()[0], algorithm="RS256")


def test_the_token_endpoint_refuses_a_wrong_secret_and_a_bad_assertion(org: Org) -> None:
    aud = org.emulator.base_url
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    foreign_pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    foreign = jwt.encode(
        {"iss": CLIENT_ID, "sub": USERNAME, "aud": aud, "exp": int(time.time()) + 60},
        foreign_pem,
        algorithm="RS256",
    )

    assert org.login(client_secret="wrong")["error"] == "invalid_client"
    good = org.login(grant_type=grant, assertion=_assertion(aud=aud))
    assert good["status"] == 200 and good["instance_url"] == aud and "expires_in" not in good
    for assertion in (
        foreign,
        _assertion(aud="https://login.salesforce.com"),
        _assertion(aud=aud, exp=int(time.time()) + 3600),
        _assertion(aud=aud, exp=int(time.time()) - 10),
        _assertion(aud=aud, sub="someone@else.com"),
    ):
        answer = org.login(grant_type=grant, assertion=assertion)
        assert (answer["status"], answer["error"]) == (400, "invalid_grant"), answer


def test_an_expired_session_answers_401_invalid_session_id(org: Org) -> None:
    org.emulator.expire_sessions()

    response = org.call("GET", "/sobjects/Contact/describe")

    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}
    ]


def test_a_collection_of_more_than_200_records_is_refused(org: Org) -> None:
    records = [{"PLG_Account_Id__c": f"a{i}", "Name": "x"} for i in range(201)]

    response = org.upsert("Account", "PLG_Account_Id__c", *records)

    assert response.status_code == 400 and _codes(response) == ["EXCEEDED_ID_LIMIT"]


def test_records_are_answered_one_by_one_in_request_order(org: Org) -> None:
    response = org.upsert(
        "Contact",
        "PLG_User_Id__c",
        {"PLG_User_Id__c": "u1", "LastName": "Lee", "Email": "Ann@Acme.COM"},
        {"PLG_User_Id__c": "u2", "Email": "bob@acme.com"},
        {"PLG_User_Id__c": "u3", "LastName": "X", "Email": "not-an-email"},
        {"PLG_User_Id__c": "u1", "LastName": "Twice"},
    )

    assert response.status_code == 200
    results = response.json()
    assert results[0]["success"] is False  # u1 twice in one call: both refused
    assert [e["statusCode"] for e in results[0]["errors"]] == ["DUPLICATE_EXTERNAL_ID"]
    assert results[1]["errors"] == [
        {
            "statusCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [LastName]",
            "fields": ["LastName"],
        }
    ]
    assert results[2]["errors"][0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    again = org.upsert(
        "Contact",
        "PLG_User_Id__c",
        {"PLG_User_Id__c": "u1", "LastName": "L", "Email": "Ann@Acme.COM"},
    )
    assert again.json()[0]["created"] is True
    assert org.emulator.contacts()["u1"]["Email"] == "ann@acme.com"
    updated = org.upsert("Contact", "PLG_User_Id__c", {"PLG_User_Id__c": "u1", "Title": "CTO"})
    assert updated.json()[0] == {
        "id": again.json()[0]["id"],
        "success": True,
        "errors": [],
        "created": False,
    }


def test_unknown_fields_datetimes_without_t_and_non_external_keys_fail_the_whole_request(
    org: Org,
) -> None:
    unknown = org.upsert("Account", "PLG_Account_Id__c", {"PLG_Account_Id__c": "a1", "Nope__c": 1})
    org.create_field("Account.PLG_Seen__c", type="DateTime", label="Seen")
    hidden = org.upsert(
        "Account", "PLG_Account_Id__c", {"PLG_Account_Id__c": "a1", "PLG_Seen__c": None}
    )
    org.grant("Account.PLG_Seen__c")
    no_t = org.upsert(
        "Account",
        "PLG_Account_Id__c",
        {"PLG_Account_Id__c": "a1", "Name": "A", "PLG_Seen__c": "2026-03-01 12:00:00"},
    )
    with_t = org.upsert(
        "Account",
        "PLG_Account_Id__c",
        {"PLG_Account_Id__c": "a1", "Name": "A", "PLG_Seen__c": "2026-03-01T12:00:00Z"},
    )
    by_name = org.upsert("Account", "Name", {"Name": "A"})

    assert (unknown.status_code, _codes(unknown)) == (400, ["INVALID_FIELD"])
    assert (hidden.status_code, _codes(hidden)) == (400, ["INVALID_FIELD"])  # not granted yet
    assert (no_t.status_code, _codes(no_t)) == (400, ["JSON_PARSER_ERROR"])
    assert with_t.status_code == 200 and with_t.json()[0]["success"] is True
    assert (by_name.status_code, _codes(by_name)) == (400, ["INVALID_FIELD"])


def test_custom_fields_need_their_attributes_and_cannot_be_created_twice(org: Org) -> None:
    checkbox = org.create_field("Contact.PLG_Flag__c", type="Checkbox", label="Flag")
    number = org.create_field("Contact.PLG_N__c", type="Number", label="N")
    picklist = org.create_field("Contact.PLG_P__c", type="Picklist", label="P", valueSet={})
    first = org.create_field(
        "Contact.PLG_Flag__c", type="Checkbox", label="Flag", defaultValue="false"
    )
    again = org.create_field(
        "Contact.PLG_Flag__c", type="Checkbox", label="Flag", defaultValue="false"
    )

    assert _codes(checkbox) == ["FIELD_INTEGRITY_EXCEPTION"]
    assert _codes(number) == ["FIELD_INTEGRITY_EXCEPTION"]
    assert _codes(picklist) == ["FIELD_INTEGRITY_EXCEPTION"]
    assert first.status_code == 201
    assert (again.status_code, _codes(again)) == (400, ["DUPLICATE_DEVELOPER_NAME"])
    assert not org.emulator.visible("Contact", "PLG_Flag__c")
    described = org.call("GET", "/sobjects/Contact/describe").json()["fields"]
    assert "PLG_Flag__c" not in {f["name"] for f in described}


def test_roles_is_a_restricted_picklist_and_one_relation_per_pair(org: Org) -> None:
    org.upsert("Account", "PLG_Account_Id__c", {"PLG_Account_Id__c": "a1", "Name": "A"})
    org.upsert("Account", "PLG_Account_Id__c", {"PLG_Account_Id__c": "a2", "Name": "B"})
    made = org.upsert(
        "Contact",
        "PLG_User_Id__c",
        {"PLG_User_Id__c": "u1", "LastName": "L", "Account": {"PLG_Account_Id__c": "a1"}},
        {"PLG_User_Id__c": "u2", "LastName": "L", "Account": {"PLG_Account_Id__c": "a9"}},
    ).json()
    contact = made[0]["id"]
    accounts = {k: v["Id"] for k, v in org.emulator.accounts().items()}
    relation = {"attributes": {"type": "AccountContactRelation"}, "ContactId": contact}

    created = org.call(
        "POST",
        "/composite/sobjects",
        {
            "records": [
                {**relation, "AccountId": accounts["a1"]},  # the direct one exists already
                {**relation, "AccountId": accounts["a2"], "Roles": "Billing Owner"},
                {**relation, "AccountId": accounts["a2"], "Roles": "Evaluator;Influencer"},
                {**relation, "AccountId": accounts["a2"], "IsDirect": True},
            ]
        },
    ).json()

    assert made[1]["errors"][0]["statusCode"] == "INVALID_FIELD"  # no account a9
    assert created[0]["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
    assert created[1]["errors"][0] == {
        "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "message": "Roles: bad value for restricted picklist field: Billing Owner",
        "fields": ["Roles"],
    }
    assert created[2]["success"] is True
    assert created[3]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    moved = org.call(
        "PATCH",
        "/composite/sobjects",
        {"records": [{**relation, "Id": created[2]["id"], "AccountId": accounts["a1"]}]},
    ).json()
    assert moved[0]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    direct = org.emulator.relations()[("u1", "a1")]
    assert direct["IsDirect"] is True


def test_relations_do_not_exist_without_contacts_to_multiple_accounts() -> None:
    with new_emulator(acr_enabled=False) as emulator:
        org = Org(emulator)
        described = org.call("GET", "/sobjects/AccountContactRelation/describe")
        queried = org.call("GET", "/query", q="SELECT Id FROM AccountContactRelation")

    assert (described.status_code, _codes(described)) == (404, ["NOT_FOUND"])
    assert (queried.status_code, _codes(queried)) == (400, ["INVALID_TYPE"])


def test_soql_matches_emails_case_insensitively_and_refuses_unknown_columns(org: Org) -> None:
    org.emulator.add_record("Contact", LastName="Sales", Email="Ann@Acme.com")
    org.emulator.add_record("Contact", LastName="Other", Email="bob@acme.com")

    found = org.call(
        "GET",
        "/query",
        q="SELECT Id, Email FROM Contact WHERE Email IN ('ANN@acme.com', 'x@y.z') "
        "AND PLG_User_Id__c = null",
    ).json()
    unknown = org.call("GET", "/query", q="SELECT Id, Nope__c FROM Contact")

    assert found["totalSize"] == 1 and found["records"][0]["Email"] == "ann@acme.com"
    assert (unknown.status_code, _codes(unknown)) == (400, ["INVALID_FIELD"])


def test_lock_errors_are_per_record_and_the_daily_limit_is_reported_then_enforced() -> None:
    with new_emulator(daily_max=4) as emulator:
        org = Org(emulator)
        org.create_field(
            "Account.PLG_Account_Id__c", type="Text", label="Id", length=255, externalId=True
        )
        emulator.inject("lock", path_contains="/composite/sobjects/Account")
        org.emulator._org.hidden.clear()  # visible to the profile: spare the grant calls
        locked = org.upsert(
            "Account",
            "PLG_Account_Id__c",
            {"PLG_Account_Id__c": "a1", "Name": "A"},
            {"PLG_Account_Id__c": "a2", "Name": "B"},
        )
        usage = locked.headers["Sforce-Limit-Info"]
        org.call("GET", "/sobjects/Account/describe")
        org.call("GET", "/sobjects/Account/describe")
        over = org.call("GET", "/sobjects/Account/describe")

    assert [r["success"] for r in locked.json()] == [False, True]
    assert locked.json()[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert usage == "api-usage=2/4"
    assert (over.status_code, _codes(over)) == (403, ["REQUEST_LIMIT_EXCEEDED"])


def test_bulk_jobs_need_an_external_id_and_known_columns_and_answer_csv(org: Org) -> None:
    def job(external: str) -> requests.Response:
        body = {"object": "Account", "externalIdFieldName": external, "contentType": "CSV"}
        return org.call("POST", "/jobs/ingest", {**body, "operation": "upsert"})

    def run(csv_text: str) -> dict[str, Any]:
        job_id = job("PLG_Account_Id__c").json()["id"]
        requests.put(
            f"{org.emulator.base_url}{DATA}/jobs/ingest/{job_id}/batches",
            data=csv_text.encode(),
            headers={"Authorization": f"Bearer {org.token}", "Content-Type": "text/csv"},
        )
        org.call("PATCH", f"/jobs/ingest/{job_id}", {"state": "UploadComplete"})
        info = org.call("GET", f"/jobs/ingest/{job_id}").json()
        info["failed"] = org.call("GET", f"/jobs/ingest/{job_id}/failedResults/").text
        return info

    by_name = job("Name")
    unknown = run("PLG_Account_Id__c,Nope__c\na1,x\n")
    mixed = run("PLG_Account_Id__c,Name\na1,Acme\na2,#N/A\n")

    assert by_name.status_code == 400
    assert unknown["state"] == "Failed" and "Nope__c" in unknown["errorMessage"]
    assert mixed["state"] == "JobComplete" and mixed["numberRecordsFailed"] == 1
    assert "REQUIRED_FIELD_MISSING" in mixed["failed"] and "a2" in mixed["failed"]
    assert org.emulator.accounts()["a1"]["Name"] == "Acme"
