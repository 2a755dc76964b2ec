"""The emulator's Metadata API refuses what Salesforce's does (plain HTTP, SOAP 1.1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from .harness import new_emulator
from .salesforce_emulator import ROLES, SalesforceEmulator
from .test_salesforce_emulator_refusals import Org

PATH = "/services/Soap/m/62.0"
ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:met="http://soap.sforce.com/2006/04/metadata" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<soapenv:Header><met:SessionHeader><met:sessionId>{session}</met:sessionId>"
    "</met:SessionHeader></soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
)
READ = (
    "<met:readMetadata><met:type>StandardValueSet</met:type>"
    "<met:fullNames>AccountContactMultiRoles</met:fullNames></met:readMetadata>"
)


def _update(*values: str, sorted_text: str = "false") -> str:
    items = "".join(
        f"<met:standardValue><met:fullName>{v}</met:fullName><met:default>false</met:default>"
        f"<met:label>{v}</met:label></met:standardValue>"
        for v in values
    )
    return (
        '<met:updateMetadata><met:metadata xsi:type="met:StandardValueSet">'
        f"<met:fullName>AccountContactMultiRoles</met:fullName><met:sorted>{sorted_text}</met:sorted>"
        f"{items}</met:metadata></met:updateMetadata>"
    )


@pytest.fixture
def org() -> Iterator[Org]:
    with new_emulator(daily_max=1000) as emulator:
        yield Org(emulator)


def _soap(
    org: Org, body: str, *, session: str | None = None, headers: dict[str, str] | None = None
) -> requests.Response:
    text = ENVELOPE.format(session=org.token if session is None else session, body=body)
    sent = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'}
    if headers is not None:
        sent = headers
    return requests.post(f"{org.emulator.base_url}{PATH}", data=text.encode(), headers=sent)


def _roles(emulator: SalesforceEmulator) -> list[str]:
    entry = emulator.fields("AccountContactRelation")["Roles"]
    return [p["value"] for p in entry["picklistValues"] if p["active"]]


def test_read_answers_the_value_set_with_every_active_value(org: Org) -> None:
    answer = _soap(org, READ)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/xml")
    assert 'xsi:type="StandardValueSet"' in answer.text
    for role in ROLES:
        assert f"<fullName>{role}</fullName>" in answer.text


def test_without_a_live_session_header_the_call_is_an_invalid_session_fault(org: Org) -> None:
    missing = _soap(org, READ, session="")
    stale = _soap(org, READ, session="00D000000000001EAA!expired")

    for answer in (missing, stale):
        assert answer.status_code == 500
        assert "<faultcode>sf:INVALID_SESSION_ID</faultcode>" in answer.text


@pytest.mark.parametrize(
    ("body", "headers", "fragment"),
    [
        ("<not-xml", None, "Unable to parse"),
        (READ, {"Content-Type": "application/json", "SOAPAction": '""'}, "text/xml"),
        (READ, {"Content-Type": "text/xml"}, "No SOAPAction header"),
        ("<met:deleteEverything/>", None, "No operation available"),
    ],
)
def test_malformed_envelopes_are_client_faults(
    org: Org, body: str, headers: dict[str, str] | None, fragment: str
) -> None:
    if body == "<not-xml":
        answer = requests.post(
            f"{org.emulator.base_url}{PATH}",
            data=b"<not-xml",
            headers={"Content-Type": "text/xml", "SOAPAction": '""'},
        )
    else:
        answer = _soap(org, body, headers=headers)

    assert answer.status_code == 500
    assert "<faultcode>soapenv:Client</faultcode>" in answer.text
    assert fragment in answer.text


def test_an_update_replaces_the_whole_set_so_values_left_out_are_deactivated(org: Org) -> None:
    answer = _soap(org, _update("Evaluator", "Owner"))

    assert answer.status_code == 200
    assert "<success>true</success>" in answer.text
    assert _roles(org.emulator) == ["Evaluator", "Owner"]


def test_an_update_without_sorted_or_with_a_value_twice_is_refused_in_its_result(org: Org) -> None:
    unsorted = _soap(org, _update("Owner", sorted_text=""))
    twice = _soap(org, _update(*ROLES, "Owner", "owner"))

    assert "<statusCode>FIELD_INTEGRITY_EXCEPTION</statusCode>" in unsorted.text
    assert "<statusCode>DUPLICATE_DEVELOPER_NAME</statusCode>" in twice.text
    assert "<success>false</success>" in twice.text
    assert _roles(org.emulator) == list(ROLES)
