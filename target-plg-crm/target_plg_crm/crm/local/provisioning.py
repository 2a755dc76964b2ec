"""The local CRM's properties: created when missing, enumeration options only ever added."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence

from target_plg_crm.crm.local.errors import invalid_property_name
from target_plg_crm.crm.property_definitions import PropertyDefinition

# HubSpot internal property names: lower-case letter first, then letters, digits, _.
_PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def read_properties(db: sqlite3.Connection, object_type: str) -> dict[str, PropertyDefinition]:
    """The properties of `object_type`, by name."""
    rows = db.execute(
        "SELECT name, label, type, field_type, group_name, options, has_unique_value "
        "FROM properties WHERE object_type = ?",
        (object_type,),
    ).fetchall()
    return {
        row[0]: PropertyDefinition(
            name=row[0],
            label=row[1],
            type=row[2],
            field_type=row[3],
            group_name=row[4],
            options=tuple(json.loads(row[5] or "[]")),
            has_unique_value=bool(row[6]),
        )
        for row in rows
    }


def ensure_properties(
    db: sqlite3.Connection, object_type: str, definitions: Sequence[PropertyDefinition]
) -> None:
    """Create missing properties and add new enumeration options (never removes).

    Groups have no table here: each property names its group.
    """
    existing = read_properties(db, object_type)
    with db:
        for definition in definitions:
            if not _PROPERTY_NAME.match(definition.name):
                raise invalid_property_name(definition.name)
            current = existing.get(definition.name)
            if current is None:
                db.execute(
                    "INSERT INTO properties VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        object_type,
                        definition.name,
                        definition.label,
                        definition.type,
                        definition.field_type,
                        definition.group_name,
                        json.dumps(list(dict.fromkeys(definition.options))),
                        int(definition.has_unique_value),
                    ),
                )
                continue
            new_options = [o for o in definition.options if o not in current.options]
            if current.type == "enumeration" and new_options:
                options = list(current.options) + list(dict.fromkeys(new_options))
                db.execute(
                    "UPDATE properties SET options = ? WHERE object_type = ? AND name = ?",
                    (json.dumps(options), object_type, definition.name),
                )
