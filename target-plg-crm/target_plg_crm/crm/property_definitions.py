"""A CRM property and its group, as the target asks a CRM to have them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PropertyDefinition:
    """A CRM property as HubSpot describes one (name, label, type, fieldType, group)."""

    name: str
    label: str
    type: str  # bool | date | datetime | enumeration | number | string
    field_type: str  # booleancheckbox | checkbox | date | number | select | text | textarea
    group_name: str
    options: tuple[str, ...] = ()
    has_unique_value: bool = False
    #: A number whose values are whole (an `integer` field): Salesforce gives it scale 0.
    whole_number: bool = False


@dataclass(frozen=True)
class PropertyGroup:
    """The property group our properties live in."""

    name: str
    label: str
