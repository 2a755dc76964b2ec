"""Record fields written to the CRM's own properties (`firstname`, `name`...), and how.

A native field is written besides the field's `<property_prefix>` copy. `if_empty` never
overwrites what a person typed: the current value is read first (within the matching
read, see `sinks`) and the field is left out where the CRM already holds a value.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

IF_EMPTY = "if_empty"
OVERWRITE = "overwrite"


@dataclass(frozen=True)
class NativeField:
    """One record field -> one of the CRM's own properties, `if_empty` or `overwrite`."""

    field: str
    property: str
    mode: str = IF_EMPTY

    @builtins.property
    def if_empty(self) -> bool:
        """Whether the CRM's current value must be empty for this field to be written."""
        return self.mode == IF_EMPTY


def native_fields_from_config(
    config: Mapping[str, Sequence[Mapping[str, Any]]],
) -> dict[str, tuple[NativeField, ...]]:
    """The validated `native_fields` setting, typed, per object type."""
    return {
        object_type: tuple(
            NativeField(item["field"], item["property"], item.get("mode", IF_EMPTY))
            for item in items
        )
        for object_type, items in config.items()
    }


def without_filled(
    properties: Mapping[str, str],
    fields: Sequence[NativeField],
    current: Mapping[str, str] | None,
) -> dict[str, str]:
    """`properties` without the `if_empty` native ones the CRM already holds a value for."""
    if current is None:
        return dict(properties)
    filled = {f.property for f in fields if f.if_empty and (current.get(f.property) or "") != ""}
    return {name: value for name, value in properties.items() if name not in filled}
