"""The emulator's Metadata API endpoint (SOAP 1.1): `readMetadata` and `updateMetadata` of
standard value sets, as Salesforce answers them.

`POST /services/Soap/m/<version>` with `Content-Type: text/xml` and a `SOAPAction`
header; the envelope's `SessionHeader/sessionId` must be a live session (else the fault
`sf:INVALID_SESSION_ID`, HTTP 500, as every SOAP fault). A body that is not XML, not an
Envelope with a Body, or names an unknown operation is a `soapenv:Client` fault.
`updateMetadata` of a StandardValueSet replaces the whole set: a value left out is
deactivated (relations holding it are refused from then on), so a client must read the
set first and send it back with its additions. Only `AccountContactMultiRoles` (the
Roles of AccountContactRelation) is kept; other sets read as empty records.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from .salesforce_emulator import SalesforceEmulator

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
METADATA = "http://soap.sforce.com/2006/04/metadata"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ROLES_VALUE_SET = "AccountContactMultiRoles"
SOAP_PATH = re.compile(r"^/services/Soap/m/(\d+\.\d)$")
MIN_VERSION = 38.0  # StandardValueSet exists from API 38.0
MAX_VALUE_LENGTH = 255


class SoapFaultError(Exception):
    """A fault answered instead of a result."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def fault_xml(code: str, message: str) -> bytes:
    """A SOAP 1.1 fault envelope."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>{escape(code)}</faultcode><faultstring>{escape(message)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()


def _answer(inner: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns="{METADATA}" xmlns:xsi="{XSI}">'
        f"<soapenv:Body>{inner}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def _md(name: str) -> str:
    return f"{{{METADATA}}}{name}"


def _text(element: ET.Element, name: str) -> str | None:
    found = element.find(_md(name))
    return None if found is None else (found.text or "").strip()


def soap_operation(raw: bytes) -> str:
    """The operation an envelope asks for (for the call log), or `?`."""
    try:
        body = ET.fromstring(raw).find(f"{{{SOAP_ENV}}}Body")
    except ET.ParseError:
        return "?"
    if body is None or len(body) == 0:
        return "?"
    return body[0].tag.rpartition("}")[2]


def serve_metadata_soap(
    emulator: SalesforceEmulator, path: str, headers: Any, raw: bytes
) -> tuple[int, bytes]:
    """(status, XML) of one Metadata API call; the emulator holds its lock."""
    try:
        return 200, _serve(emulator, path, headers, raw)
    except SoapFaultError as fault:
        return 500, fault_xml(fault.code, fault.message)


def check_envelope(emulator: SalesforceEmulator, path: str, headers: Any, raw: bytes) -> ET.Element:
    """The Body's operation element of a well-formed, authenticated envelope."""
    match = SOAP_PATH.match(path)
    if not match or not MIN_VERSION <= float(match.group(1)) <= 62.0:
        raise SoapFaultError("sf:UNSUPPORTED_API_VERSION", f"Unsupported API version: {path}")
    if not str(headers.get("Content-Type") or "").startswith("text/xml"):
        raise SoapFaultError("soapenv:Client", "Content-Type must be text/xml for SOAP 1.1")
    if headers.get("SOAPAction") is None:
        raise SoapFaultError("soapenv:Client", "No SOAPAction header!")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as error:
        raise SoapFaultError("soapenv:Client", f"Unable to parse the envelope: {error}") from None
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapFaultError("soapenv:Client", "The root element must be a SOAP 1.1 Envelope")
    session = root.find(f"{{{SOAP_ENV}}}Header/{_md('SessionHeader')}/{_md('sessionId')}")
    if session is None or (session.text or "").strip() not in emulator.sessions:
        raise SoapFaultError(
            "sf:INVALID_SESSION_ID",
            "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session",
        )
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if body is None or len(body) != 1:
        raise SoapFaultError("soapenv:Client", "The Body must hold exactly one operation")
    return body[0]


def _serve(emulator: SalesforceEmulator, path: str, headers: Any, raw: bytes) -> bytes:
    operation = check_envelope(emulator, path, headers, raw)
    if operation.tag == _md("readMetadata"):
        return _read(emulator, operation)
    if operation.tag == _md("updateMetadata"):
        return _update(emulator, operation, raw)
    raise SoapFaultError("soapenv:Client", f"No operation available for {operation.tag}")


def _roles_entry(emulator: SalesforceEmulator) -> dict[str, Any]:
    return emulator._org.fields["AccountContactRelation"]["Roles"]  # noqa: SLF001


def _read(emulator: SalesforceEmulator, operation: ET.Element) -> bytes:
    if _text(operation, "type") != "StandardValueSet":
        raise SoapFaultError("sf:INVALID_TYPE", "This org reads StandardValueSet only")
    names = [(e.text or "").strip() for e in operation.findall(_md("fullNames"))]
    if not names or len(names) > 10:
        raise SoapFaultError("sf:INVALID_CROSS_REFERENCE_KEY", "Give 1 to 10 fullNames")
    records = []
    for name in names:
        if name != ROLES_VALUE_SET:
            records.append('<records xsi:nil="true"/>')
            continue
        values = "".join(
            "<standardValue>"
            f"<fullName>{escape(v['value'])}</fullName>"
            f"<default>{str(bool(v.get('defaultValue'))).lower()}</default>"
            f"<label>{escape(str(v.get('label') or v['value']))}</label>"
            "</standardValue>"
            for v in _roles_entry(emulator)["picklistValues"]
            if v.get("active")
        )
        records.append(
            '<records xsi:type="StandardValueSet">'
            f"<fullName>{name}</fullName><sorted>false</sorted>{values}</records>"
        )
    return _answer(
        f"<readMetadataResponse><result>{''.join(records)}</result></readMetadataResponse>"
    )


def _update(emulator: SalesforceEmulator, operation: ET.Element, raw: bytes) -> bytes:
    items = operation.findall(_md("metadata"))
    if not items or len(items) > 10:
        raise SoapFaultError("soapenv:Client", "updateMetadata takes 1 to 10 metadata")
    results = []
    for item in items:
        kind = item.get(f"{{{XSI}}}type") or ""
        prefix, _, local = kind.rpartition(":")
        declared = (
            re.search(rf'xmlns:{re.escape(prefix)}="([^"]+)"', raw.decode()) if prefix else None
        )
        if local != "StandardValueSet" or (
            prefix and (not declared or declared.group(1) != METADATA)
        ):
            raise SoapFaultError("soapenv:Client", f"Unexpected metadata type {kind!r}")
        results.append(_update_value_set(emulator, item))
    return _answer(f"<updateMetadataResponse>{''.join(results)}</updateMetadataResponse>")


def _update_value_set(emulator: SalesforceEmulator, item: ET.Element) -> str:
    name = _text(item, "fullName") or ""
    problem = None
    sorted_text = _text(item, "sorted")
    values = []
    for element in item.findall(_md("standardValue")):
        value = _text(element, "fullName") or ""
        values.append(
            (value, _text(element, "label") or value, _text(element, "default") == "true")
        )
    folded = [v.casefold() for v, _, _ in values]
    if name != ROLES_VALUE_SET:
        problem = ("INVALID_CROSS_REFERENCE_KEY", f"no StandardValueSet named {name}")
    elif sorted_text not in ("true", "false"):
        problem = ("FIELD_INTEGRITY_EXCEPTION", "sorted: required (true or false)")
    elif not values or any(not v or len(v) > MAX_VALUE_LENGTH for v, _, _ in values):
        problem = ("FIELD_INTEGRITY_EXCEPTION", "each standardValue needs a fullName (1-255)")
    elif len(set(folded)) != len(folded):
        problem = ("DUPLICATE_DEVELOPER_NAME", "a value is listed twice")
    if problem is not None:
        return (
            f"<result><errors><message>{escape(problem[1])}</message>"
            f"<statusCode>{problem[0]}</statusCode></errors>"
            f"<fullName>{escape(name)}</fullName><success>false</success></result>"
        )
    entry = _roles_entry(emulator)
    kept = {v.casefold() for v in folded}
    for old in entry["picklistValues"]:
        if old["value"].casefold() not in kept:
            old["active"] = False  # left out of the set: no longer a value relations may hold
    by_name = {p["value"].casefold(): p for p in entry["picklistValues"]}
    for value, label, default in values:
        old = by_name.get(value.casefold())
        if old is not None:
            old.update(active=True, label=label, defaultValue=default)
        else:
            entry["picklistValues"].append(
                {"value": value, "label": label, "active": True, "defaultValue": default}
            )
    emulator.role_updates += 1
    return f"<result><fullName>{escape(name)}</fullName><success>true</success></result>"
