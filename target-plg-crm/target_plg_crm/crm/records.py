"""What crosses the CRM interface on a read: objects as the CRM holds them, and previews."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from target_plg_crm.crm.property_definitions import PropertyDefinition


@dataclass(frozen=True)
class CRMRecord:
    """An object as the CRM holds it: its id and the properties that were asked for."""

    crm_id: str
    properties: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateInput:
    """An existing object to update by its CRM id (a company adopted by its domain)."""

    crm_id: str
    key: str
    properties: Mapping[str, str]


@dataclass
class PropertyPreview:
    """What `ensure_properties` would do: create, add options, skip (without writing)."""

    missing: list[PropertyDefinition] = field(default_factory=list)
    new_options: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    group_missing: bool = False
    problem: str | None = None  # the real run would stop (the key property is unusable)
