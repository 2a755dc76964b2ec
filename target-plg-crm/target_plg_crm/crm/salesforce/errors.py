"""Salesforce's error answers read into a code and a sentence, and the errors that stop a run.

Salesforce answers errors as a JSON list `[{"message", "errorCode", "fields"}]`; per record
inside a collection's results as `errors: [{"statusCode", "message", "fields"}]`; and the
OAuth token endpoint as `{"error", "error_description"}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from target_plg_crm.crm.errors import CRMError

#: Per-record codes worth another attempt: the row was busy, or the org was.
RETRYABLE_RECORD_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})


class SalesforceUnavailableError(CRMError):
    """Salesforce could not be reached or kept failing after every retry: the run stops."""


class SalesforceAuthError(CRMError):
    """The token endpoint refused the credentials (or the token was refused twice)."""


class SalesforceDailyLimitError(CRMError):
    """The org's daily API usage reached the share the target may use: the run stops cleanly."""


class MissingFieldsError(CRMError):
    """Fields the run needs are missing and may not be created: the run stops before writing."""


def response_json(response: requests.Response) -> Any:
    """The JSON of an answer; None when it has none."""
    try:
        return response.json()
    except ValueError:
        return None


def error_entries(body: Any) -> list[Mapping[str, Any]]:
    """The error objects of an answer (a list of them, or one)."""
    if isinstance(body, list):
        return [e for e in body if isinstance(e, dict)]
    if isinstance(body, dict):
        return [body]
    return []


def error_code(entry: Mapping[str, Any]) -> str:
    """`errorCode` (whole-request errors) or `statusCode` (per-record errors)."""
    return str(entry.get("errorCode") or entry.get("statusCode") or entry.get("error") or "")


def error_summary(body: Any, status: int) -> tuple[str, str]:
    """(code, sentence) of an error answer or of one record's `errors`."""
    entries = error_entries(body)
    if not entries:
        return f"HTTP_{status}", f"Salesforce answered {status}"
    code = error_code(entries[0]) or f"HTTP_{status}"
    parts = []
    for entry in entries:
        message = str(entry.get("message") or entry.get("error_description") or "")
        fields = entry.get("fields") or []
        if fields:
            message = f"{message} (fields: {', '.join(str(f) for f in fields)})"
        parts.append(message)
    return code, "; ".join(p for p in parts if p) or f"Salesforce answered {status}"


def unexpected(response: requests.Response, doing: str) -> CRMError:
    """The error that stops the run after an answer the target cannot work with."""
    code, message = error_summary(response_json(response), response.status_code)
    return CRMError(f"Salesforce refused to {doing}: {response.status_code} {code}: {message}")
