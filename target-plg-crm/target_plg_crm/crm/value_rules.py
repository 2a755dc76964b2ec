"""HubSpot's rules for property values, which the local CRM enforces to predict HubSpot.

Values are strings (crm-contract.md): numbers as decimals, booleans `true`/`false`,
datetimes as ISO 8601 or epoch milliseconds, dates as epoch milliseconds at UTC
midnight (or `YYYY-MM-DD`), enumerations among their options (`;`-separated when
several). An empty string clears a property and is always accepted. The same rules are
written independently in the HubSpot emulator of the tests (tests/target_hubspot).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from target_plg_crm.crm.property_definitions import PropertyDefinition
from target_plg_crm.crm.writes import WriteResult

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_EPOCH_MS = re.compile(r"^-?\d+$")
_DAY_MS = 86_400_000
BOOLEAN_VALUES = ("true", "false")


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


def value_problem(definition: PropertyDefinition, value: str) -> WriteResult | None:
    """The reject HubSpot would answer for `value` in the property `definition`, if any."""
    name, kind = definition.name, definition.type
    if value == "":
        return None  # clears the property
    if kind == "number" and not _NUMBER.match(value):
        return WriteResult.rejected(
            "INVALID_DECIMAL", f"{value!r} is not a valid number for {name}"
        )
    if kind == "date" and not _is_date(value):
        return WriteResult.rejected(
            "INVALID_DATE",
            f"{value!r} is not a valid date for {name}: epoch milliseconds at midnight UTC "
            "or YYYY-MM-DD",
        )
    if kind == "datetime" and not _is_datetime(value):
        return WriteResult.rejected(
            "INVALID_DATE", f"{value!r} is not a valid ISO 8601 or epoch ms time for {name}"
        )
    if kind == "bool" and value not in BOOLEAN_VALUES:
        return WriteResult.rejected(
            "INVALID_OPTION",
            f"{value} was not one of the allowed options: "
            '[label: "Yes" value: "true", label: "No" value: "false"]',
        )
    return None
