"""The Salesforce emulator's Task and User objects, and what Salesforce refuses of a Task.

Task: `Subject`, `Description`, `ActivityDate` (a date), `Priority` (restricted
picklist High/Normal/Low, Normal when absent), `Status` (restricted picklist, Not
Started when absent), `TaskSubtype` (Task/Email/Call, set on create only), `WhoId` (a
Contact), `WhatId` (an Account), `OwnerId` (an active User; the integration user when
absent). A Who or What id of an object that does not exist, or of another type, and an
owner that is not an active User are refused for that record. Contacts and Accounts
gain `OwnerId`. User: `Email`, `Username`, `IsActive` (read only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PRIORITIES = ("High", "Normal", "Low")
STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
SUBTYPES = ("Task", "Email", "Call")

Field = Callable[..., dict[str, Any]]


def _picklist(values: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"value": v, "label": v, "active": True, "defaultValue": False} for v in values]


def seed_tasks(fields: dict[str, dict[str, dict[str, Any]]], make: Field) -> None:
    """Add Task and User, and `OwnerId` on Contact and Account."""
    read_only = {"updateable": False, "createable": False}
    fields["Task"] = {
        "Id": make("Id", "id", nillable=False, **read_only),
        "Subject": make("Subject", "string", length=255),
        "Description": make("Description", "textarea", length=32000),
        "ActivityDate": make("ActivityDate", "date"),
        "Priority": make(
            "Priority", "picklist", picklistValues=_picklist(PRIORITIES), restrictedPicklist=True
        ),
        "Status": make(
            "Status", "picklist", picklistValues=_picklist(STATUSES), restrictedPicklist=True
        ),
        "TaskSubtype": make(
            "TaskSubtype",
            "picklist",
            picklistValues=_picklist(SUBTYPES),
            restrictedPicklist=True,
            updateable=False,
        ),
        "WhoId": make("WhoId", "reference", referenceTo=["Contact"]),
        "WhatId": make("WhatId", "reference", referenceTo=["Account"]),
        "OwnerId": make("OwnerId", "reference", referenceTo=["User"]),
    }
    fields["User"] = {
        "Id": make("Id", "id", nillable=False, **read_only),
        "Email": make("Email", "email", **read_only),
        "Username": make("Username", "string", **read_only),
        "IsActive": make("IsActive", "boolean", **read_only),
    }
    for sobject in ("Contact", "Account"):
        fields[sobject]["OwnerId"] = make("OwnerId", "reference", referenceTo=["User"])


def task_problem(
    records: dict[str, dict[str, dict[str, Any]]], values: dict[str, Any]
) -> tuple[str, str, list[str]] | None:
    """(code, message, fields) of what Salesforce refuses in a Task's references."""
    for name, sobject in (("WhoId", "Contact"), ("WhatId", "Account")):
        value = values.get(name)
        if not value:
            continue
        if not isinstance(value, str) or len(value) not in (15, 18):
            return "MALFORMED_ID", f"{name}: id value of incorrect type: {value}", [name]
        if value not in records[sobject]:
            known = any(value in table for table in records.values())
            code = "FIELD_INTEGRITY_EXCEPTION" if known else "INVALID_CROSS_REFERENCE_KEY"
            return code, f"{name}: id value of incorrect type: {value}", [name]
    owner = values.get("OwnerId")
    if owner and not (records["User"].get(owner) or {}).get("IsActive"):
        return "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {owner}", ["OwnerId"]
    values.setdefault("Priority", "Normal")
    values.setdefault("Status", "Not Started")
    return None
