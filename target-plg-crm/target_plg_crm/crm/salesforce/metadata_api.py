"""The Metadata API (SOAP): values added to a standard picklist's value set.

AccountContactRelation's `Roles` is a restricted multi-select picklist whose values live
in the standard value set `AccountContactMultiRoles`; REST cannot add a value to it.
`updateMetadata` replaces the whole set (a value left out is removed), so the set is
read first (`readMetadata`) and sent back as read, with the new `standardValue`s
appended: values, labels, defaults and settings an admin made are kept. Both calls are
`POST /services/Soap/m/<version>` with the access token as the SessionHeader's
`sessionId`; `updateMetadata` is synchronous. A fault answers HTTP 500: an expired
session (`sf:INVALID_SESSION_ID`) fetches a new token once, a server fault or no answer
is retried with backoff, anything else is a CRMError naming Salesforce's code. Sending
the same update twice (an answer lost) leaves the same set.
"""

from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import requests

from target_plg_crm.crm.errors import CRMError
from target_plg_crm.crm.salesforce.client import SalesforceHTTP
from target_plg_crm.crm.salesforce.errors import (
    SalesforceAuthError,
    SalesforceDailyLimitError,
    SalesforceUnavailableError,
)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
METADATA = "http://soap.sforce.com/2006/04/metadata"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
#: The standard value set behind AccountContactRelation.Roles (API 38.0 and later).
ROLES_VALUE_SET = "AccountContactMultiRoles"
#: Longest picklist value Salesforce takes.
MAX_VALUE_LENGTH = 255
#: Fault codes that are the server's trouble, worth another attempt.
SERVER_FAULTS = frozenset({"soapenv:Server", "sf:UNKNOWN_EXCEPTION", "sf:SERVER_UNAVAILABLE"})

ET.register_namespace("soapenv", SOAP_ENV)
ET.register_namespace("xsi", XSI)
ET.register_namespace("met", METADATA)


class MetadataAPIError(CRMError):
    """Salesforce refused a Metadata API call (a fault, or a result with errors)."""


@dataclass(frozen=True)
class SoapFault:
    """A SOAP fault: its code (`sf:INVALID_SESSION_ID`) and message."""

    code: str
    message: str


def _tag(name: str) -> str:
    return f"{{{METADATA}}}{name}"


def envelope(session_id: str, operation: ET.Element) -> bytes:
    """The SOAP 1.1 envelope of one call: SessionHeader, then the operation in the Body."""
    root = ET.Element(f"{{{SOAP_ENV}}}Envelope")
    header = ET.SubElement(root, f"{{{SOAP_ENV}}}Header")
    session = ET.SubElement(header, _tag("SessionHeader"))
    ET.SubElement(session, _tag("sessionId")).text = session_id
    ET.SubElement(root, f"{{{SOAP_ENV}}}Body").append(operation)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def soap_fault(text: str) -> SoapFault | None:
    """The fault in an answer, if it is one (None for a normal answer or no XML)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    fault = root.find(f".//{{{SOAP_ENV}}}Fault")
    if fault is None:
        return None
    return SoapFault(fault.findtext("faultcode") or "", fault.findtext("faultstring") or "")


def _result(text: str, response_tag: str) -> ET.Element:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise MetadataAPIError(f"Salesforce's Metadata API answered no XML ({error})") from None
    result = root.find(f".//{_tag(response_tag)}/{_tag('result')}")
    if result is None:
        raise MetadataAPIError(f"Salesforce's Metadata API answer has no {response_tag} result")
    return result


def new_standard_value(value: str) -> ET.Element:
    """A `standardValue` element for a value (its label the same, not the default)."""
    element = ET.Element(_tag("standardValue"))
    ET.SubElement(element, _tag("fullName")).text = value
    ET.SubElement(element, _tag("default")).text = "false"
    ET.SubElement(element, _tag("label")).text = value
    return element


class SalesforceMetadataAPI:
    """`readMetadata` / `updateMetadata` through the org's HTTP client (token, limits)."""

    def __init__(self, http: SalesforceHTTP, logger: logging.Logger) -> None:
        """Nothing is sent before the first call."""
        self.http = http
        self.logger = logger

    @property
    def path(self) -> str:
        """`/services/Soap/m/<version>`."""
        return f"/services/Soap/m/{self.http.settings.api_version}"

    def add_standard_values(self, value_set: str, values: Sequence[str]) -> list[str]:
        """Add `values` to a standard value set, keeping every value it has; returns the
        values that were added (those it lacked)."""
        current = self.read_standard_value_set(value_set)
        known = {
            (element.findtext(_tag("fullName")) or "").casefold()
            for element in current.findall(_tag("standardValue"))
        }
        added = [v for v in dict.fromkeys(values) if v.casefold() not in known]
        if not added:
            return []
        update = ET.Element(_tag("updateMetadata"))
        metadata = ET.SubElement(update, _tag("metadata"))
        metadata.set(f"{{{XSI}}}type", "met:StandardValueSet")
        for child in current:
            metadata.append(child)  # as read: fullName, sorted, values, groupings...
        metadata.extend(new_standard_value(v) for v in added)
        result = _result(self._call("updateMetadata", update), "updateMetadataResponse")
        if (result.findtext(_tag("success")) or "").lower() != "true":
            errors = [
                f"{e.findtext(_tag('statusCode'))}: {e.findtext(_tag('message'))}"
                for e in result.findall(_tag("errors"))
            ]
            raise MetadataAPIError(
                f"Salesforce refused to add {added} to the value set {value_set}: "
                f"{'; '.join(errors) or 'no reason given'}"
            )
        self.logger.info("Salesforce: added %s to the value set %s", added, value_set)
        return added

    def read_standard_value_set(self, value_set: str) -> ET.Element:
        """The set's `records` element as `readMetadata` answers it."""
        read = ET.Element(_tag("readMetadata"))
        ET.SubElement(read, _tag("type")).text = "StandardValueSet"
        ET.SubElement(read, _tag("fullNames")).text = value_set
        result = _result(self._call("readMetadata", read), "readMetadataResponse")
        records = result.find(_tag("records"))
        if records is None or records.findtext(_tag("fullName")) != value_set:
            raise MetadataAPIError(f"Salesforce has no standard value set {value_set}")
        return records

    def _call(self, operation: str, body: ET.Element) -> str:
        """One call, retried like REST calls; returns the answer's XML text."""
        settings = self.http.settings
        refreshed = False
        attempt = 0
        while True:
            data = envelope(self.http.token().access_token, body)
            try:
                response = self.http.send_once(
                    self.path, data, "text/xml; charset=UTF-8", {"SOAPAction": '""'}
                )
            except requests.Timeout:
                problem = f"no answer within {settings.timeout_seconds:g} s"
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
                problem = f"connection failed ({type(error).__name__})"
            else:
                fault = soap_fault(response.text)
                if response.status_code == 200 and fault is None:
                    return response.text
                code = fault.code if fault else f"HTTP_{response.status_code}"
                message = fault.message if fault else response.text[:200]
                if code.endswith("INVALID_SESSION_ID") and not refreshed:
                    self.http.renew_token()
                    refreshed = True
                    continue
                if code.endswith("INVALID_SESSION_ID"):
                    raise SalesforceAuthError(f"Salesforce refused a fresh token on {operation}")
                if code.endswith("REQUEST_LIMIT_EXCEEDED"):
                    raise SalesforceDailyLimitError(
                        "Salesforce answered REQUEST_LIMIT_EXCEEDED: the org's daily API limit "
                        "is used up; the rest is written on the next run"
                    )
                if code not in SERVER_FAULTS and not (
                    fault is None and response.status_code >= 500
                ):
                    raise MetadataAPIError(
                        f"Salesforce's Metadata API refused {operation}: {code}: {message}"
                    )
                problem = f"{response.status_code} {code}"
            if attempt >= settings.max_retries:
                raise SalesforceUnavailableError(
                    f"Salesforce Metadata API {operation} failed after {attempt} retries: {problem}"
                )
            wait = self.http.backoff(attempt)
            attempt += 1
            self.http.counter.retries += 1
            self.logger.info(
                "Salesforce %s: %s; retry %d of %d in %.2f s",
                operation,
                problem,
                attempt,
                settings.max_retries,
                wait,
            )
            time.sleep(wait)
