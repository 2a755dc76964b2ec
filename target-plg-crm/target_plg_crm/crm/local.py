"""The embedded `local` CRM: a SQLite file that behaves like HubSpot.

It refuses what HubSpot refuses (unknown properties, invalid e-mails, enumeration values
outside the options, upserts by a non-unique property, duplicate ids or more than 100
inputs in one call, associations to ids that do not exist), so a run that succeeds
here would have been accepted by HubSpot too. The schema is read by the demo's report:

    properties(object_type, name, label, type, field_type, group_name, options JSON list,
               has_unique_value)
    contacts(id, email lower-case unique, properties JSON, created_at, updated_at)
    companies(id, account_key unique (value of the company id property), properties JSON,
              created_at, updated_at)
    associations(contact_id, company_id, labels JSON sorted list, created_at, updated_at)

Property values are strings; writing an empty string clears a property (its key
disappears from the JSON object). A contact's e-mail lives in the `email` column, like
HubSpot's built-in `email` property, and is not repeated in `properties`.
`updated_at` changes only when a write changes something.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from target_plg_crm.crm.base import (
    COMPANIES,
    CONTACTS,
    AssociationInput,
    CRMClient,
    CRMError,
    Outcome,
    PropertyDefinition,
    PropertyGroup,
    UpsertInput,
    WriteResult,
    is_valid_email,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS properties (
    object_type TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT,
    type TEXT,
    field_type TEXT,
    group_name TEXT,
    options TEXT,
    has_unique_value INTEGER,
    PRIMARY KEY (object_type, name)
);
CREATE TABLE IF NOT EXISTS contacts (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    properties TEXT,
    created_at TEXT,
    updated_at TEXT
);
CREATE TABLE IF NOT EXISTS companies (
    id INTEGER PRIMARY KEY,
    account_key TEXT NOT NULL UNIQUE,
    properties TEXT,
    created_at TEXT,
    updated_at TEXT
);
CREATE TABLE IF NOT EXISTS associations (
    contact_id INTEGER,
    company_id INTEGER,
    labels TEXT,
    created_at TEXT,
    updated_at TEXT,
    PRIMARY KEY (contact_id, company_id)
);
"""

# HubSpot internal property names: lower-case letter first, then letters, digits, _.
_PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Built-in properties that exist without being created.
_SYSTEM_PROPERTIES = {CONTACTS: {"email"}, COMPANIES: set()}
PRIMARY_LABEL = "primary"


def _now() -> str:
    """Current time as HubSpot writes it: ISO 8601 UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class LocalCRM(CRMClient):
    """HubSpot's object, property and association rules on a SQLite file."""

    max_batch_size = 100

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        """Open (or create) the CRM file; `read_only` never creates nor writes it."""
        self.path = path
        self.starts_empty = not path.exists()
        if read_only:
            # A dry run reads the existing CRM or, if there is none, an empty one in
            # memory, so that it writes nothing at all.
            if path.exists():
                self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            else:
                self._db = sqlite3.connect(":memory:")
                self._db.executescript(SCHEMA)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path)
            self._db.executescript(SCHEMA)
            self._db.commit()

    @property
    def identity(self) -> str:
        """`local:` + the absolute path of the file."""
        return f"local:{self.path.resolve()}"

    def close(self) -> None:
        """Close the SQLite connection."""
        self._db.close()

    # Properties

    def _properties(self, object_type: str) -> dict[str, PropertyDefinition]:
        rows = self._db.execute(
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
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> None:
        """Create missing properties and add new enumeration options (never removes)."""
        _ = group  # groups have no table here: each property names its group
        self._check_object_type(object_type)
        existing = self._properties(object_type)
        with self._db:
            for definition in definitions:
                if not _PROPERTY_NAME.match(definition.name):
                    raise CRMError(
                        f"Property name {definition.name!r} is not valid: use lower-case "
                        "letters, digits and _ and start with a letter"
                    )
                current = existing.get(definition.name)
                if current is None:
                    self._db.execute(
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
                    self._db.execute(
                        "UPDATE properties SET options = ? WHERE object_type = ? AND name = ?",
                        (json.dumps(options), object_type, definition.name),
                    )

    # Objects

    @staticmethod
    def _check_object_type(object_type: str) -> None:
        if object_type not in (CONTACTS, COMPANIES):
            raise CRMError(f"Unknown object type {object_type!r}")

    def _check_id_property(
        self, object_type: str, id_property: str, known: dict[str, PropertyDefinition]
    ) -> None:
        if object_type == CONTACTS:
            if id_property != "email":
                raise CRMError(
                    f"The local CRM upserts contacts by email only, not by {id_property!r}"
                )
            return
        definition = known.get(id_property)
        if definition is None or not definition.has_unique_value:
            raise CRMError(
                f"Unable to perform update/upsert by non-unique {object_type} property "
                f"{id_property!r}: it must be created with hasUniqueValue"
            )

    def _normal_key(self, object_type: str, key: str) -> str:
        return key.strip().lower() if object_type == CONTACTS else key

    def _check_values(
        self,
        object_type: str,
        properties: dict[str, str],
        known: dict[str, PropertyDefinition],
    ) -> WriteResult | None:
        missing = [
            name
            for name in properties
            if name not in known and name not in _SYSTEM_PROPERTIES[object_type]
        ]
        if missing:
            return WriteResult.rejected(
                "PROPERTY_DOESNT_EXIST",
                f"Property values were not valid: properties {sorted(missing)} do not exist",
            )
        for name, value in properties.items():
            definition = known.get(name)
            if definition is None or definition.type != "enumeration" or value == "":
                continue
            values = value.split(";") if definition.field_type == "checkbox" else [value]
            bad = [v for v in values if v not in definition.options]
            if bad:
                return WriteResult.rejected(
                    "INVALID_OPTION",
                    f"{bad[0]!r} was not one of the allowed options of {name}: "
                    f"{list(definition.options)}",
                )
        return None

    def upsert(
        self,
        object_type: str,
        id_property: str,
        inputs: Sequence[UpsertInput],
    ) -> list[WriteResult]:
        """Create or update objects by e-mail (contacts) or a unique property (companies)."""
        self._check_object_type(object_type)
        if len(inputs) > self.max_batch_size:
            raise CRMError(f"At most {self.max_batch_size} inputs per batch, got {len(inputs)}")
        keys = [self._normal_key(object_type, i.key) for i in inputs]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise CRMError(f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique")
        known = self._properties(object_type)
        self._check_id_property(object_type, id_property, known)
        results: list[WriteResult] = []
        with self._db:
            for key, upsert_input in zip(keys, inputs, strict=True):
                results.append(self._upsert_one(object_type, id_property, key, upsert_input, known))
        return results

    def _upsert_one(
        self,
        object_type: str,
        id_property: str,
        key: str,
        upsert_input: UpsertInput,
        known: dict[str, PropertyDefinition],
    ) -> WriteResult:
        properties = dict(upsert_input.properties)
        if object_type == CONTACTS:
            if not is_valid_email(key):
                return WriteResult.rejected("INVALID_EMAIL", f"Email address {key!r} is invalid")
            properties.pop("email", None)
            key_column = "email"
        else:
            if not key:
                return WriteResult.rejected("MISSING_ID", f"No value for {id_property}")
            properties[id_property] = key
            key_column = "account_key"
        rejection = self._check_values(object_type, properties, known)
        if rejection is not None:
            return rejection
        row = self._db.execute(
            f"SELECT id, properties FROM {object_type} WHERE {key_column} = ?", (key,)
        ).fetchone()
        stored: dict[str, str] = json.loads(row[1] or "{}") if row else {}
        merged = dict(stored)
        for name, value in properties.items():
            if value == "":
                merged.pop(name, None)
            else:
                merged[name] = value
        now = _now()
        if row is None:
            cursor = self._db.execute(
                f"INSERT INTO {object_type} ({key_column}, properties, created_at, updated_at) "
                "VALUES (?, ?, ?, ?)",
                (key, json.dumps(merged, sort_keys=True), now, now),
            )
            return WriteResult(Outcome.CREATED, str(cursor.lastrowid))
        if merged != stored:
            self._db.execute(
                f"UPDATE {object_type} SET properties = ?, updated_at = ? WHERE id = ?",
                (json.dumps(merged, sort_keys=True), now, row[0]),
            )
        return WriteResult(Outcome.UPDATED, str(row[0]))

    def find_ids(self, object_type: str, id_property: str, keys: Sequence[str]) -> dict[str, str]:
        """CRM ids of the existing objects among `keys`, keyed as given."""
        self._check_object_type(object_type)
        key_column = "email" if object_type == CONTACTS else "account_key"
        found: dict[str, str] = {}
        for key in keys:
            row = self._db.execute(
                f"SELECT id FROM {object_type} WHERE {key_column} = ?",
                (self._normal_key(object_type, key),),
            ).fetchone()
            if row:
                found[key] = str(row[0])
        return found

    # Associations

    def associate(self, inputs: Sequence[AssociationInput]) -> list[WriteResult]:
        """Create associations or set their labels; one primary company per contact."""
        if len(inputs) > self.max_batch_size:
            raise CRMError(f"At most {self.max_batch_size} inputs per batch, got {len(inputs)}")
        results: list[WriteResult] = []
        with self._db:
            for association in inputs:
                results.append(self._associate_one(association))
        return results

    def _exists(self, table: str, crm_id: str) -> bool:
        if not crm_id.isdigit():
            return False
        return bool(
            self._db.execute(f"SELECT 1 FROM {table} WHERE id = ?", (int(crm_id),)).fetchone()
        )

    def _associate_one(self, association: AssociationInput) -> WriteResult:
        if not self._exists(CONTACTS, association.contact_id):
            return WriteResult.rejected(
                "CONTACT_NOT_FOUND", f"No contact with id {association.contact_id}"
            )
        if not self._exists(COMPANIES, association.company_id):
            return WriteResult.rejected(
                "COMPANY_NOT_FOUND", f"No company with id {association.company_id}"
            )
        contact_id, company_id = int(association.contact_id), int(association.company_id)
        labels = json.dumps(sorted(association.labels))
        now = _now()
        if PRIMARY_LABEL in association.labels:
            self._drop_other_primary(contact_id, company_id, now)
        row = self._db.execute(
            "SELECT labels FROM associations WHERE contact_id = ? AND company_id = ?",
            (contact_id, company_id),
        ).fetchone()
        crm_id = f"{contact_id}-{company_id}"
        if row is None:
            self._db.execute(
                "INSERT INTO associations VALUES (?, ?, ?, ?, ?)",
                (contact_id, company_id, labels, now, now),
            )
            return WriteResult(Outcome.CREATED, crm_id)
        if row[0] != labels:
            self._db.execute(
                "UPDATE associations SET labels = ?, updated_at = ? "
                "WHERE contact_id = ? AND company_id = ?",
                (labels, now, contact_id, company_id),
            )
        return WriteResult(Outcome.UPDATED, crm_id)

    def _drop_other_primary(self, contact_id: int, company_id: int, now: str) -> None:
        """HubSpot keeps one primary company per contact: a new primary replaces the old."""
        rows = self._db.execute(
            "SELECT company_id, labels FROM associations WHERE contact_id = ? AND company_id != ?",
            (contact_id, company_id),
        ).fetchall()
        for other_company, labels_json in rows:
            labels = json.loads(labels_json or "[]")
            if PRIMARY_LABEL in labels:
                labels.remove(PRIMARY_LABEL)
                self._db.execute(
                    "UPDATE associations SET labels = ?, updated_at = ? "
                    "WHERE contact_id = ? AND company_id = ?",
                    (json.dumps(sorted(labels)), now, contact_id, other_company),
                )
