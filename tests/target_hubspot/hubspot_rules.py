"""What HubSpot refuses, as the emulator checks it: property definitions, values and scopes.

Written from the design's crm-contract.md (and, where it is silent, HubSpot's published
documentation): each function answers why HubSpot would refuse something, or None.
The emulator (`hubspot_emulator.py`) calls these for every request the target sends;
`test_hubspot_emulator_refusals.py` proves each refusal by sending it straight to it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

#: The fieldTypes HubSpot accepts for each property type (calculations left out).
FIELD_TYPES = {
    "bool": {"booleancheckbox"},
    "date": {"date"},
    "datetime": {"date"},
    "enumeration": {"booleancheckbox", "checkbox", "radio", "select"},
    "number": {"number"},
    "phone_number": {"phonenumber"},
    "string": {"file", "html", "phonenumber", "text", "textarea"},
}
REQUIRED_PROPERTY_FIELDS = ("name", "label", "type", "fieldType", "groupName")
#: Every field a property input may carry (HubSpot's PropertyCreate).
PROPERTY_FIELDS = {
    *REQUIRED_PROPERTY_FIELDS,
    "description",
    "options",
    "displayOrder",
    "hasUniqueValue",
    "hidden",
    "formField",
    "calculationFormula",
    "currencyPropertyName",
    "externalOptions",
    "referencedObjectType",
    "showCurrencySymbol",
    "dataSensitivity",
}
#: Every field an option input may carry.
OPTION_FIELDS = {"label", "value", "displayOrder", "hidden", "description"}
#: The two options of a HubSpot boolean property.
BOOLEAN_VALUES = ("true", "false")
NAME_LENGTH_LIMIT = 100
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_EPOCH_MS = re.compile(r"^-?\d+$")
_DAY_MS = 86_400_000
# Stricter than the target's own check, as HubSpot's is: no empty labels, a real TLD.
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


def name_problem(name: Any) -> str | None:
    """Why HubSpot refuses `name` as an internal property name."""
    if not isinstance(name, str) or not _NAME.match(name):
        return f"Property name {name!r} must be lower case, start with a letter, [a-z0-9_]"
    if name.startswith("hs_"):
        return f"Property name {name!r}: the hs_ prefix is reserved for HubSpot properties"
    if len(name) >= NAME_LENGTH_LIMIT:
        return f"Property name {name!r} is {len(name)} characters, the limit is 99"
    return None


def options_problem(type_: str, field_type: str, options: Any) -> str | None:
    """Why HubSpot refuses the `options` of a property of this type."""
    if options is None:
        options = []
    if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
        return "options must be a list of {label, value} objects"
    unknown = sorted({k for o in options for k in o} - OPTION_FIELDS)
    if unknown:
        return f"options have unknown fields {unknown}"
    values = [o.get("value") for o in options]
    labels = [o.get("label") for o in options]
    if not all(isinstance(v, str) and v for v in values) or not all(
        isinstance(label, str) and label for label in labels
    ):
        return "every option needs a non-empty label and value"
    if len(set(values)) != len(values):
        return f"option values must be unique: {sorted(values)}"
    if len(set(labels)) != len(labels):
        return f"option labels must be unique: {sorted(labels)}"
    if any(";" in v for v in values):
        return "an option value cannot contain ';' (it separates checkbox values)"
    if type_ == "bool" or (type_ == "enumeration" and field_type == "booleancheckbox"):
        if sorted(values) != sorted(BOOLEAN_VALUES):
            return (
                "A boolean property needs exactly the two options "
                '[label: "Yes" value: "true", label: "No" value: "false"]'
            )
    elif type_ == "enumeration" and not values:
        return "An enumeration property needs at least one option"
    return None


def definition_problem(item: Any, existing: set[str], groups: set[str]) -> str | None:
    """Why HubSpot refuses to create the property `item` (one input of batch/create)."""
    if not isinstance(item, dict):
        return "an input must be an object"
    missing = [k for k in REQUIRED_PROPERTY_FIELDS if not isinstance(item.get(k), str)]
    missing += [k for k in REQUIRED_PROPERTY_FIELDS if item.get(k) == "" and k not in missing]
    if missing:
        return f"missing required fields {missing}"
    unknown = sorted(set(item) - PROPERTY_FIELDS)
    if unknown:
        return f"unknown fields {unknown}"
    problem = name_problem(item["name"])
    if problem:
        return problem
    if item["name"] in existing:
        return f"A property named {item['name']!r} already exists"
    type_, field_type = item["type"], item["fieldType"]
    if type_ not in FIELD_TYPES:
        return f"unknown type {type_!r}"
    if field_type not in set().union(*FIELD_TYPES.values()):
        return f"unknown fieldType {field_type!r}"
    if field_type not in FIELD_TYPES[type_]:
        return f"fieldType {field_type!r} is not valid for type {type_!r}"
    if item["groupName"] not in groups:
        return f"property group {item['groupName']!r} does not exist"
    if item.get("hasUniqueValue") and type_ not in ("string", "number"):
        return "only string and number properties can have unique values"
    return options_problem(type_, field_type, item.get("options"))


def update_problem(current: dict[str, Any], body: Any) -> str | None:
    """Why HubSpot refuses a PATCH of the property `current` with `body`."""
    if not isinstance(body, dict):
        return "The body must be an object"
    if "hasUniqueValue" in body and bool(body["hasUniqueValue"]) != current["hasUniqueValue"]:
        return "hasUniqueValue cannot be changed once the property exists"
    type_ = body.get("type", current["type"])
    field_type = body.get("fieldType", current["fieldType"])
    if type_ not in FIELD_TYPES or field_type not in FIELD_TYPES[type_]:
        return f"fieldType {field_type!r} is not valid for type {type_!r}"
    for key in ("label", "groupName"):
        if key in body and not (isinstance(body[key], str) and body[key]):
            return f"{key} cannot be empty"
    if "options" in body:
        return options_problem(type_, field_type, body["options"])
    return None


def _allowed_options(definition: dict[str, Any]) -> str:
    return ", ".join(
        f'label: "{o["label"]}" value: "{o["value"]}"' for o in definition.get("options") or []
    )


def value_problem(
    object_type: str, definition: dict[str, Any], value: Any
) -> tuple[str, str] | None:
    """(code, message) when HubSpot refuses `value` for the property `definition`."""
    name, kind = definition["name"], definition["type"]
    if not isinstance(value, str):
        return "INVALID_PROPERTY_VALUE", f"{name}: values must be strings, got {value!r}"
    if definition["modificationMetadata"].get("readOnlyValue"):
        return "READ_ONLY_VALUE", f"{name} is read-only"
    if value == "":
        return None  # clears the property
    if name == "email" and object_type == "contacts" and not _EMAIL.fullmatch(value):
        return "INVALID_EMAIL", f"Email address {value} is invalid"
    if kind == "number" and not _NUMBER.match(value):
        return "INVALID_DECIMAL", f"{value!r} is not a valid number for {name}"
    if kind == "date" and not _is_date(value):
        return (
            "INVALID_DATE",
            f"{value!r} is not a valid date for {name}: epoch milliseconds at midnight UTC "
            "or YYYY-MM-DD",
        )
    if kind == "datetime" and not _is_datetime(value):
        return "INVALID_DATE", f"{value!r} is not a valid ISO 8601 or epoch ms time for {name}"
    if kind in ("bool", "enumeration"):
        allowed = {o["value"] for o in definition.get("options") or []}
        multiple = definition["fieldType"] == "checkbox"
        parts = value.split(";") if multiple else [value]
        bad = [p for p in parts if p not in allowed]
        if bad:
            return (
                "INVALID_OPTION",
                f"{bad[0]} was not one of the allowed options: [{_allowed_options(definition)}]",
            )
    return None


def _is_date(value: str) -> bool:
    if _EPOCH_MS.match(value):
        return int(value) % _DAY_MS == 0
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _is_datetime(value: str) -> bool:
    if _EPOCH_MS.match(value):
        return True
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


#: Public name of the date-time check (the tasks' `hs_timestamp` uses it too).
def is_datetime(value: str) -> bool:
    """Whether `value` is an ISO 8601 date-time HubSpot accepts."""
    return _is_datetime(value)


def required_scopes(method: str, path: str) -> tuple[str, ...]:
    """The scopes of which a request needs one (empty: none needed)."""
    parts = path.strip("/").split("/")
    if path.startswith("/crm/v3/properties/") and len(parts) >= 4:
        object_type = parts[3]
        if method == "GET":
            return (
                f"crm.schemas.{object_type}.read",
                f"crm.schemas.{object_type}.write",
                f"crm.objects.{object_type}.read",
                f"crm.objects.{object_type}.write",
            )
        return (f"crm.schemas.{object_type}.write",)
    if path.rstrip("/") == "/crm/v3/owners":
        return ("crm.objects.owners.read",)
    if path.startswith("/crm/v3/objects/tasks/"):
        # Tasks need the contacts scopes (docs/crm-contract.md, Owners and tasks).
        if path.endswith("/batch/read"):
            return ("crm.objects.contacts.read", "crm.objects.contacts.write")
        return ("crm.objects.contacts.write",)
    if path.startswith("/crm/v3/objects/") and len(parts) >= 4:
        object_type = parts[3]
        if method == "GET" or path.endswith("/batch/read"):  # the paged list reads too
            return (f"crm.objects.{object_type}.read", f"crm.objects.{object_type}.write")
        return (f"crm.objects.{object_type}.write",)
    if path.startswith("/crm/v4/associations/"):
        if method == "GET" or path.endswith("/batch/read"):
            return (
                "crm.objects.contacts.read",
                "crm.objects.companies.read",
                "crm.objects.contacts.write",
                "crm.objects.companies.write",
            )
        return ("crm.objects.contacts.write", "crm.objects.companies.write")
    return ()


def missing_scopes_body(required: tuple[str, ...], correlation_id: str) -> dict[str, Any]:
    """HubSpot's 403 MISSING_SCOPES answer naming the scopes a call needs."""
    return {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call.",
        "correlationId": correlation_id,
        "category": "MISSING_SCOPES",
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "code": "MISSING_SCOPES",
                "context": {"requiredScopes": list(required)},
            }
        ],
    }
