"""The emulator refuses what HubSpot refuses: each bad request sent straight to it.

A target test against the emulator proves something only if the emulator is as strict
as HubSpot; these tests send each request the contract says HubSpot refuses and check
the refusal and its error body, so a relaxed emulator fails here first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from .harness import TOKEN
from .hubspot_emulator import TOKEN_INFO_PATH, HubSpotEmulator

GROUP = "product_usage"
YES_NO = [{"label": "Yes", "value": "true"}, {"label": "No", "value": "false"}]


class Portal:
    """Requests to the emulator with the private app's token."""

    def __init__(self, emulator: HubSpotEmulator) -> None:
        self.emulator = emulator
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {TOKEN}"

    def send(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.session.request(method, self.emulator.base_url + path, json=body, timeout=10)

    def create(self, *definitions: dict[str, Any], object_type: str = "contacts") -> Any:
        return self.send(
            "POST", f"/crm/v3/properties/{object_type}/batch/create", {"inputs": list(definitions)}
        )

    def upsert(self, *inputs: dict[str, Any], object_type: str = "contacts") -> Any:
        return self.send("POST", f"/crm/v3/objects/{object_type}/batch/upsert", {"inputs": inputs})


def prop(name: str, type_: str = "string", field_type: str = "text", **extra: Any) -> dict:
    """A property definition in our group."""
    return {
        "name": name,
        "label": name.replace("_", " "),
        "type": type_,
        "fieldType": field_type,
        "groupName": GROUP,
        **extra,
    }


def contact(email: str, trace: str = "0", **properties: str) -> dict[str, Any]:
    """One upsert input of a contact by e-mail."""
    return {
        "id": email,
        "idProperty": "email",
        "properties": properties,
        "objectWriteTraceId": trace,
    }


@pytest.fixture
def portal() -> Iterator[Portal]:
    """A portal with our property group and one property of each kind."""
    with HubSpotEmulator(TOKEN, watchdog_seconds=60) as emulator:
        client = Portal(emulator)
        group = {"name": GROUP, "label": "Product usage"}
        assert client.send("POST", "/crm/v3/properties/contacts/groups", group).status_code == 201
        created = client.create(
            prop("plg_is_pql", "bool", "booleancheckbox", options=YES_NO),
            prop("plg_stage", "enumeration", "select", options=[{"label": "PQL", "value": "pql"}]),
            prop("plg_score", "number", "number"),
            prop("plg_day", "date", "date"),
            prop("plg_seen_at", "datetime", "date"),
            prop("plg_key", hasUniqueValue=True),
        )
        assert created.status_code == 201, created.text
        yield client


def _refused_definition(portal: Portal, definition: dict[str, Any]) -> str:
    """Create `definition` beside a good one: 207, the good one made, the message."""
    before = set(portal.emulator.properties("contacts"))
    answer = portal.create(definition, prop("plg_fine"))
    assert answer.status_code == 207, answer.text
    body = answer.json()
    assert [r["name"] for r in body["results"]] == ["plg_fine"]
    assert len(body["errors"]) == 1 and body["errors"][0]["category"] == "VALIDATION_ERROR"
    assert set(portal.emulator.properties("contacts")) - before == {"plg_fine"}
    return str(body["errors"][0]["message"])


BAD_DEFINITIONS: dict[str, tuple[dict[str, Any], str]] = {
    "a boolean without options": (prop("plg_flag", "bool", "booleancheckbox"), "two options"),
    "a boolean with one option": (
        prop("plg_flag", "bool", "booleancheckbox", options=YES_NO[:1]),
        "two options",
    ),
    "a boolean with other values": (
        prop("plg_flag", "bool", "booleancheckbox", options=[{"label": "Y", "value": "y"}]),
        "two options",
    ),
    "an enumeration without options": (prop("plg_tier", "enumeration", "select"), "option"),
    "duplicate option values": (
        prop(
            "plg_tier",
            "enumeration",
            "select",
            options=[{"label": "A", "value": "a"}, {"label": "B", "value": "a"}],
        ),
        "unique",
    ),
    "an empty option value": (
        prop("plg_tier", "enumeration", "select", options=[{"label": "A", "value": ""}]),
        "non-empty",
    ),
    "an option without a label": (
        prop("plg_tier", "enumeration", "select", options=[{"value": "a"}]),
        "non-empty",
    ),
    "a ; inside an option value": (
        prop("plg_tier", "enumeration", "checkbox", options=[{"label": "A", "value": "a;b"}]),
        "';'",
    ),
    "an upper-case name": (prop("PLG_Score"), "lower case"),
    "a name starting with a digit": (prop("1_score"), "start with a letter"),
    "a name with a dash": (prop("plg-score"), "[a-z0-9_]"),
    "a name of HubSpot's own": (prop("hs_score"), "reserved"),
    "a name of 100 characters": (prop("p" * 100), "limit"),
    "an unknown type": (prop("plg_x", "boolean", "booleancheckbox"), "unknown type"),
    "an unknown fieldType": (prop("plg_x", "string", "dropdown"), "unknown fieldType"),
    "a number shown as text": (prop("plg_x", "number", "text"), "not valid for type"),
    "a boolean as a checkbox list": (
        prop("plg_x", "bool", "checkbox", options=YES_NO),
        "not valid for type",
    ),
    "a date as text": (prop("plg_x", "date", "text"), "not valid for type"),
    "a unique boolean": (
        prop("plg_x", "bool", "booleancheckbox", options=YES_NO, hasUniqueValue=True),
        "unique values",
    ),
    "an unknown group": (prop("plg_x", groupName="nowhere"), "does not exist"),
    "an existing name": (prop("plg_score", "number", "number"), "already exists"),
    **{
        f"no {field}": ({k: v for k, v in prop("plg_x").items() if k != field}, field)
        for field in ("name", "label", "type", "fieldType", "groupName")
    },
    "an empty label": (prop("plg_x", label=""), "label"),
    "a field HubSpot does not know": (prop("plg_x", unique=True), "unknown fields ['unique']"),
    "an option field HubSpot does not know": (
        prop(
            "plg_tier",
            "enumeration",
            "select",
            options=[{"label": "A", "value": "a", "readOnly": False}],
        ),
        "unknown fields ['readOnly']",
    ),
}


@pytest.mark.parametrize("case", list(BAD_DEFINITIONS))
def test_a_property_hubspot_refuses_is_a_207_error_for_that_input_only(
    portal: Portal, case: str
) -> None:
    definition, says = BAD_DEFINITIONS[case]

    message = _refused_definition(portal, definition)

    assert says in message


def test_the_properties_hubspot_accepts_are_created_with_their_options(portal: Portal) -> None:
    properties = portal.emulator.properties("contacts")

    assert [(o["label"], o["value"]) for o in properties["plg_is_pql"]["options"]] == [
        ("Yes", "true"),
        ("No", "false"),
    ]
    assert properties["plg_key"]["hasUniqueValue"] is True


def test_more_than_a_hundred_property_inputs_are_refused_whole(portal: Portal) -> None:
    answer = portal.create(*[prop(f"plg_p{i}") for i in range(101)])

    assert answer.status_code == 400
    assert "at most 100" in answer.json()["message"]
    assert "plg_p0" not in portal.emulator.properties("contacts")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"hasUniqueValue": False}, "hasUniqueValue cannot be changed"),
        ({"options": [{"label": "A", "value": "a;b"}]}, "';'"),
        ({"options": []}, "at least one option"),
        ({"fieldType": "text"}, "not valid for type"),
    ],
)
def test_a_property_update_hubspot_refuses_is_a_400(
    portal: Portal, change: dict[str, Any], says: str
) -> None:
    name = "plg_key" if "hasUniqueValue" in change else "plg_stage"

    answer = portal.send("PATCH", f"/crm/v3/properties/contacts/{name}", change)

    assert answer.status_code == 400
    assert says in answer.json()["message"]


def test_a_boolean_keeps_its_two_options_on_update(portal: Portal) -> None:
    answer = portal.send("PATCH", "/crm/v3/properties/contacts/plg_is_pql", {"options": YES_NO[:1]})

    assert answer.status_code == 400 and "two options" in answer.json()["message"]


BAD_VALUES: dict[str, tuple[dict[str, str], str, str]] = {
    "a boolean as yes": ({"plg_is_pql": "yes"}, "INVALID_OPTION", 'label: "Yes" value: "true"'),
    "a boolean as True": ({"plg_is_pql": "True"}, "INVALID_OPTION", "allowed options"),
    "a boolean as 1": ({"plg_is_pql": "1"}, "INVALID_OPTION", "allowed options"),
    "an unknown option": ({"plg_stage": "mql"}, "INVALID_OPTION", "mql was not one of"),
    "a number with an exponent": ({"plg_score": "1e5"}, "INVALID_DECIMAL", "1e5"),
    "a word for a number": ({"plg_score": "high"}, "INVALID_DECIMAL", "high"),
    "a date with a time": ({"plg_day": "2026-03-01T10:00:00Z"}, "INVALID_DATE", "midnight"),
    "a date off midnight": ({"plg_day": "1772359200001"}, "INVALID_DATE", "midnight"),
    "a word for a time": ({"plg_seen_at": "yesterday"}, "INVALID_DATE", "yesterday"),
    "a number for a string": ({"plg_key": 7}, "INVALID_PROPERTY_VALUE", "strings"),  # type: ignore[dict-item]
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_a_value_hubspot_refuses_is_a_207_error_naming_its_input(portal: Portal, case: str) -> None:
    properties, code, says = BAD_VALUES[case]

    answer = portal.upsert(contact("ann@acme.com", "0"), contact("bob@acme.com", "1", **properties))

    assert answer.status_code == 207, answer.text
    (error,) = answer.json()["errors"]
    assert error["context"]["objectWriteTraceId"] == ["1"]
    assert error["errors"][0]["code"] == code
    assert says in error["message"]
    assert sorted(portal.emulator.contacts()) == ["ann@acme.com"]


def test_the_values_hubspot_accepts_are_stored_as_sent(portal: Portal) -> None:
    accepted = {
        "plg_is_pql": "true",
        "plg_stage": "pql",
        "plg_score": "-0.125",
        "plg_day": "1772323200000",  # 2026-03-01 at midnight UTC
        "plg_seen_at": "2026-03-01T10:00:00Z",
    }

    answer = portal.upsert(contact("ann@acme.com", **accepted))
    again = portal.upsert(
        contact("bob@acme.com", plg_day="2026-03-01", plg_seen_at="1772359200001")
    )

    assert (answer.status_code, again.status_code) == (200, 200), answer.text + again.text
    assert accepted.items() <= portal.emulator.contacts()["ann@acme.com"].items()


def test_an_invalid_email_is_refused(portal: Portal) -> None:
    answer = portal.upsert(contact("bob@acme..com"))

    assert answer.status_code == 207
    assert answer.json()["errors"][0]["errors"][0]["code"] == "INVALID_EMAIL"


def test_an_unknown_property_fails_the_batch_naming_it(portal: Portal) -> None:
    answer = portal.upsert(contact("ann@acme.com", plg_nope="1"))

    assert answer.status_code == 400
    body = answer.json()
    assert body["category"] == "VALIDATION_ERROR" and body["status"] == "error"
    assert body["errors"] == [
        {
            "message": "Property 'plg_nope' does not exist",
            "code": "PROPERTY_DOESNT_EXIST",
            "context": {"propertyName": ["plg_nope"]},
        }
    ]


def test_duplicate_ids_in_one_batch_are_refused(portal: Portal) -> None:
    answer = portal.upsert(contact("ann@acme.com", "0"), contact("ANN@acme.com", "1"))

    assert answer.status_code == 400
    assert "Duplicate IDs found in batch input" in answer.json()["message"]


def test_an_upsert_by_a_property_without_unique_values_is_refused(portal: Portal) -> None:
    item = {"id": "7", "idProperty": "plg_score", "properties": {}, "objectWriteTraceId": "0"}

    answer = portal.upsert(item)

    assert answer.status_code == 400
    assert "Unable to perform update/upsert by non-unique" in answer.json()["message"]


def test_more_than_a_hundred_upsert_inputs_are_refused(portal: Portal) -> None:
    answer = portal.upsert(*[contact(f"u{i}@acme.com", str(i)) for i in range(101)])

    assert answer.status_code == 400 and portal.emulator.contacts() == {}


def test_a_call_without_its_scope_answers_403_naming_the_scopes() -> None:
    read_only = {"crm.objects.contacts.read", "crm.schemas.contacts.read"}
    with HubSpotEmulator(TOKEN, watchdog_seconds=60, scopes=read_only) as emulator:
        portal = Portal(emulator)

        listed = portal.send("GET", "/crm/v3/properties/contacts")
        refused = portal.create(prop("plg_score", "number", "number"))
        upsert = portal.upsert(contact("ann@acme.com"))

    assert listed.status_code == 200
    assert (refused.status_code, upsert.status_code) == (403, 403)
    body = refused.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredScopes"] == ["crm.schemas.contacts.write"]
    assert upsert.json()["errors"][0]["context"]["requiredScopes"] == ["crm.objects.contacts.write"]


def test_the_token_info_names_the_scopes_of_the_token_and_refuses_another() -> None:
    with HubSpotEmulator(TOKEN, watchdog_seconds=60, scopes={"crm.objects.contacts.read"}) as hub:
        good = requests.post(hub.base_url + TOKEN_INFO_PATH, json={"tokenKey": TOKEN}, timeout=5)
        bad = requests.post(hub.base_url + TOKEN_INFO_PATH, json={"tokenKey": "pat-x"}, timeout=5)

    assert good.status_code == 200
    assert good.json()["scopes"] == ["crm.objects.contacts.read"]
    assert {"userId", "hubId", "appId"} <= set(good.json())
    assert bad.status_code == 401


def test_a_wrong_bearer_token_is_refused_everywhere_else(portal: Portal) -> None:
    portal.session.headers["Authorization"] = "Bearer pat-na1-wrong"

    assert portal.send("GET", "/crm/v3/properties/contacts").status_code == 401


def test_association_batches_and_labels_are_outside_the_ten_secondly_budget() -> None:
    with HubSpotEmulator(TOKEN, watchdog_seconds=60, rate_max=3) as emulator:
        portal = Portal(emulator)
        answers = [portal.send("GET", "/crm/v4/associations/contacts/companies/labels")]
        answers += [
            portal.send(
                "POST", "/crm/v4/associations/contacts/companies/batch/create", {"inputs": []}
            )
            for _ in range(6)
        ]
        paced = [portal.send("GET", "/crm/v3/properties/contacts") for _ in range(4)]

    assert {a.status_code for a in answers} <= {200, 201}
    assert [a.status_code for a in paced] == [200, 200, 200, 429]
    assert emulator.daily_used == 10  # the exempt calls still count to the daily budget
