"""HubSpot's error answers read into a code and a sentence, and the errors that stop a run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from target_plg_crm.crm.errors import CRMError


class HubSpotUnavailableError(CRMError):
    """HubSpot could not be reached or kept failing after every retry: the run stops."""


class HubSpotAuthError(CRMError):
    """HubSpot refused the token (401) or a scope the call needs (403): the run stops.

    `required_scopes` are the scopes HubSpot named in a 403 MISSING_SCOPES answer.
    """

    def __init__(self, message: str, status: int, required_scopes: list[str]) -> None:
        """Keep the status and the scopes HubSpot asked for."""
        super().__init__(message)
        self.status = status
        self.required_scopes = required_scopes


def required_scopes(body: Mapping[str, Any]) -> list[str]:
    """The scopes a 403 MISSING_SCOPES answer names (`requiredScopes` or granular ones)."""
    scopes: list[str] = []
    for error in [body, *(e for e in body.get("errors") or [] if isinstance(e, dict))]:
        for name in ("requiredScopes", "requiredGranularScopes"):
            for scope in context_values(error, name):
                if scope not in scopes:
                    scopes.append(scope)
    return scopes


def response_body(response: requests.Response) -> dict[str, Any]:
    """The JSON object of an answer; empty when it has none."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


#: Error codes HubSpot may only name inside a message.
KNOWN_CODES = ("INVALID_EMAIL", "INVALID_OPTION", "PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE")


def error_summary(body: Mapping[str, Any], status: int) -> tuple[str, str]:
    """(code, sentence) of a HubSpot error body or of one entry of its `errors`."""
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    messages = [str(e.get("message")) for e in errors if e.get("message")]
    message = str(body.get("message") or "")
    if messages and message not in messages:
        message = "; ".join([message, *messages]) if message else "; ".join(messages)
    code = next((str(e["code"]) for e in errors if e.get("code")), None) or body.get("code")
    if not code:
        code = next((c for c in KNOWN_CODES if c in message), None)
    code = code or str(body.get("category") or f"HTTP_{status}")
    return str(code), message or f"HubSpot answered {status}"


def context_values(error: Mapping[str, Any], name: str) -> list[str]:
    """Values of `context[name]` as strings (HubSpot sends lists, sometimes one string)."""
    value = (error.get("context") or {}).get(name)
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value]
    return [str(value)]


def unexpected(response: requests.Response, doing: str) -> CRMError:
    """The error that stops the run after an answer the target cannot work with."""
    code, message = error_summary(response_body(response), response.status_code)
    return CRMError(f"HubSpot refused to {doing}: {response.status_code} {code}: {message}")
