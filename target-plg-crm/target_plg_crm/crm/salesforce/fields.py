"""How the target's properties become Salesforce fields: names, types and JSON values.

A property `plg_engagement_score` (prefix `plg_`) becomes the custom field
`PLG_Engagement_Score__c`. Types follow the property's:

    number (integer field)  -> Number(18, 0)         bool        -> Checkbox (default false)
    number                  -> Number(18, 6)         datetime    -> DateTime
    string                  -> Text(255)             date        -> Date
    string (JSON, textarea) -> LongTextArea(32768)   enumeration -> Picklist / MultiselectPicklist

A few properties have a native home instead (`NATIVE_FIELDS`): a contact's `email`,
`first_name`, `last_name`, `title`; an account's `name` and `domain` (Website). Values
cross the interface as strings and are sent as JSON of the field's type ("" -> null;
date-times in UTC to the millisecond, as Salesforce parses them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from target_plg_crm.crm.object_types import ASSOCIATIONS, COMPANIES, CONTACTS
from target_plg_crm.crm.property_definitions import PropertyDefinition

SOBJECTS = {CONTACTS: "Contact", COMPANIES: "Account", ASSOCIATIONS: "AccountContactRelation"}
#: Record field -> standard field, per object type (the record field as the plan names it).
NATIVE_FIELDS = {
    CONTACTS: {
        "email": "Email",
        "first_name": "FirstName",
        "last_name": "LastName",
        "title": "Title",
    },
    COMPANIES: {"name": "Name", "domain": "Website"},
    ASSOCIATIONS: {},
}
#: Contact.LastName is required; a contact without a `lastName` trait gets this on creation
#: (Salesforce's own web-to-lead uses the same words), never over a name sales typed.
LAST_NAME_PLACEHOLDER = "[not provided]"
MAX_NAME_LENGTH = 40  # before `__c`
TEXT_LENGTH = 255
LONG_TEXT_LENGTH = 32768
NUMBER_PRECISION = 18
DECIMAL_SCALE = 6


@dataclass(frozen=True)
class FieldSpec:
    """A custom field the target needs: where it lives, its API name and its type."""

    sobject: str
    api_name: str
    label: str
    type: str  # Number | Checkbox | Text | LongTextArea | DateTime | Date | Picklist | Multi...
    scale: int | None = None
    external_id: bool = False
    values: tuple[str, ...] = ()

    @property
    def full_name(self) -> str:
        """`Contact.PLG_Score__c`: the Tooling API's FullName and FieldPermissions' Field."""
        return f"{self.sobject}.{self.api_name}"

    def metadata(self) -> dict[str, Any]:
        """The Tooling API `Metadata` of this field."""
        body: dict[str, Any] = {"type": self.type, "label": self.label}
        if self.type == "Number":
            body.update(precision=NUMBER_PRECISION, scale=self.scale or 0)
        elif self.type == "Checkbox":
            body["defaultValue"] = "false"
        elif self.type == "Text":
            body["length"] = TEXT_LENGTH
        elif self.type == "LongTextArea":
            body.update(length=LONG_TEXT_LENGTH, visibleLines=3)
        elif self.type in ("Picklist", "MultiselectPicklist"):
            body["valueSet"] = {
                "restricted": False,
                "valueSetDefinition": {
                    "sorted": False,
                    "value": [{"fullName": v, "label": v, "default": False} for v in self.values],
                },
            }
            if self.type == "MultiselectPicklist":
                body["visibleLines"] = 4
        if self.external_id:
            body.update(externalId=True, unique=True, caseSensitive=True)
        return body


def custom_field_name(prefix: str, property_name: str) -> str:
    """`plg_engagement_score` -> `PLG_Engagement_Score__c` (prefix `plg_`)."""
    rest = property_name[len(prefix) :] if property_name.startswith(prefix) else property_name
    head = prefix.strip("_").upper()
    words = [w.capitalize() for w in re.split(r"_+", rest) if w]
    name = "_".join([head, *words]) if head else "_".join(words)
    return f"{name}__c"


def native_property_names(prefix: str, object_type: str) -> dict[str, str]:
    """Property name (as the plan makes it) -> standard field, for one object type."""
    return {f"{prefix}{field}": native for field, native in NATIVE_FIELDS[object_type].items()}


def field_type(definition: PropertyDefinition) -> tuple[str, int | None]:
    """(Salesforce field type, scale) of a property."""
    kind = definition.type
    if kind == "number":
        return "Number", 0 if definition.whole_number else DECIMAL_SCALE
    if kind == "bool":
        return "Checkbox", None
    if kind == "datetime":
        return "DateTime", None
    if kind == "date":
        return "Date", None
    if kind == "enumeration":
        multiple = definition.field_type == "checkbox"
        return ("MultiselectPicklist" if multiple else "Picklist"), None
    if definition.field_type == "textarea":
        return "LongTextArea", None
    return "Text", None


def spec_for(sobject: str, api_name: str, definition: PropertyDefinition) -> FieldSpec:
    """The custom field that holds `definition`'s values."""
    kind, scale = field_type(definition)
    label = definition.label[:40]
    return FieldSpec(sobject, api_name, label, kind, scale, values=definition.options)


def json_value(kind: str, value: str) -> Any:
    """A property's string as the JSON Salesforce expects for a field of type `kind`."""
    if value == "":
        return None
    if kind in ("Number", "double", "int", "currency", "percent"):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return value  # Salesforce refuses it for that record, with its reason
        return int(number) if number == number.to_integral_value() else float(number)
    if kind in ("Checkbox", "boolean"):
        return value == "true"
    if kind in ("DateTime", "datetime"):
        return datetime_value(value)
    return value


def datetime_value(value: str) -> str:
    """An ISO 8601 date-time as Salesforce parses it: UTC, milliseconds, `Z`
    (`2026-06-29T09:39:52.987000Z` -> `2026-06-29T09:39:52.987Z`; a bare date is midnight)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value  # Salesforce refuses it for that record, with its reason
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
