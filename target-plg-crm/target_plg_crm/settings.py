"""The target's settings, parsed once at start-up and validated there."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from singer_sdk.exceptions import ConfigValidationError

CRM_CHOICES = ("local", "hubspot", "salesforce")
# The shape HubSpot accepts for internal property and group names.
_CRM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class TargetSettings:
    """Everything the target needs from its config, typed."""

    crm: str
    local_path: Path
    ledger_path: Path
    rejects_path: Path
    summary_path: Path | None
    property_prefix: str
    property_group: str
    company_id_property: str
    change_ignored_fields: tuple[str, ...]
    dry_run: bool

    @classmethod
    def from_config(cls, config: Mapping[str, Any], defaults: Mapping[str, Any]) -> TargetSettings:
        """Parse `config` (missing keys take `defaults`); errors name the setting."""
        errors: list[str] = []

        def get(name: str) -> Any:
            value = config.get(name)
            return defaults.get(name) if value is None else value

        def path(name: str) -> Path:
            value = get(name)
            if not isinstance(value, str) or not value.strip():
                errors.append(f"{name}: must be a non-empty file path, got {value!r}")
                return Path()
            return Path(value).expanduser()

        def crm_name(name: str, *, allow_empty: bool = False) -> str:
            value = get(name)
            if not isinstance(value, str) or not (
                _CRM_NAME.match(value) or (allow_empty and value == "")
            ):
                errors.append(
                    f"{name}: {value!r} is not a valid CRM name (lower-case letters, digits "
                    "and _, starting with a letter)"
                )
                return ""
            return value

        crm = get("crm")
        if crm not in CRM_CHOICES:
            errors.append(f"crm: {crm!r} is not one of {list(CRM_CHOICES)}")
        prefix = get("property_prefix")
        if not isinstance(prefix, str) or not re.match(r"^([a-z][a-z0-9_]*)?$", prefix):
            errors.append(
                f"property_prefix: {prefix!r} must be lower-case letters, digits and _, "
                "starting with a letter (or empty)"
            )
            prefix = ""
        ignored = get("change_ignored_fields")
        if not isinstance(ignored, list) or not all(isinstance(f, str) for f in ignored):
            errors.append(f"change_ignored_fields: must be a list of field names, got {ignored!r}")
            ignored = []
        dry_run = get("dry_run")
        if not isinstance(dry_run, bool):
            errors.append(f"dry_run: must be true or false, got {dry_run!r}")
        summary = get("summary_path")
        settings = cls(
            crm=str(crm),
            local_path=path("local_path"),
            ledger_path=path("ledger_path"),
            rejects_path=path("rejects_path"),
            summary_path=path("summary_path") if summary else None,
            property_prefix=prefix,
            property_group=crm_name("property_group"),
            company_id_property=crm_name("company_id_property"),
            change_ignored_fields=tuple(ignored),
            dry_run=bool(dry_run),
        )
        if errors:
            raise ConfigValidationError("Invalid target-plg-crm settings", errors=errors)
        return settings
