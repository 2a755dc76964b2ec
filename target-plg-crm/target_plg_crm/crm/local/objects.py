"""Contacts and companies in the local CRM: upserts by key and batch reads of their ids.

Property values are strings; writing an empty string clears a property (its key
disappears from the JSON object). A contact's e-mail lives in the `email` column, like
HubSpot's built-in `email` property, and is not repeated in `properties`.
`updated_at` changes only when a write changes something.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from target_plg_crm.crm.emails import invalid_email, is_hubspot_email
from target_plg_crm.crm.errors import CRMError
from target_plg_crm.crm.local.client import now
from target_plg_crm.crm.local.errors import (
    duplicate_ids,
    invalid_option,
    non_unique_id_property,
    property_doesnt_exist,
    too_many_inputs,
    unknown_object_type,
)
from target_plg_crm.crm.local.provisioning import read_properties
from target_plg_crm.crm.object_types import COMPANIES, CONTACTS
from target_plg_crm.crm.property_definitions import PropertyDefinition
from target_plg_crm.crm.records import CRMRecord, UpdateInput
from target_plg_crm.crm.value_rules import value_problem
from target_plg_crm.crm.writes import Outcome, UpsertInput, WriteResult

# Built-in properties that exist without being created (HubSpot's own, as strings).
SYSTEM_PROPERTIES = {
    CONTACTS: {"email", "firstname", "lastname", "jobtitle", "phone", "company", "website"},
    COMPANIES: {"name", "domain", "website", "industry", "phone", "city", "country"},
}
_SYSTEM_PROPERTIES = SYSTEM_PROPERTIES


def check_object_type(object_type: str) -> None:
    """Refuse an object type the local CRM does not hold."""
    if object_type not in (CONTACTS, COMPANIES):
        raise unknown_object_type(object_type)


def _key_column(object_type: str) -> str:
    return "email" if object_type == CONTACTS else "account_key"


def _normal_key(object_type: str, key: str) -> str:
    return key.strip().lower() if object_type == CONTACTS else key


def _check_id_property(
    object_type: str, id_property: str, known: dict[str, PropertyDefinition]
) -> None:
    if object_type == CONTACTS:
        if id_property != "email":
            raise CRMError(f"The local CRM upserts contacts by email only, not by {id_property!r}")
        return
    definition = known.get(id_property)
    if definition is None or not definition.has_unique_value:
        raise non_unique_id_property(object_type, id_property)


def _check_values(
    object_type: str, properties: dict[str, str], known: dict[str, PropertyDefinition]
) -> WriteResult | None:
    missing = [
        name
        for name in properties
        if name not in known and name not in _SYSTEM_PROPERTIES[object_type]
    ]
    if missing:
        return property_doesnt_exist(missing)
    for name, value in properties.items():
        definition = known.get(name)
        if definition is None or value == "":
            continue
        problem = value_problem(definition, value)
        if problem is not None:
            return problem
        if definition.type != "enumeration":
            continue
        values = value.split(";") if definition.field_type == "checkbox" else [value]
        bad = [v for v in values if v not in definition.options]
        if bad:
            return invalid_option(bad[0], name, definition.options)
    return None


def upsert(
    db: sqlite3.Connection,
    object_type: str,
    id_property: str,
    inputs: Sequence[UpsertInput],
    max_batch_size: int,
) -> list[WriteResult]:
    """Create or update objects by e-mail (contacts) or a unique property (companies)."""
    check_object_type(object_type)
    if len(inputs) > max_batch_size:
        raise too_many_inputs(len(inputs), max_batch_size)
    keys = [_normal_key(object_type, i.key) for i in inputs]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise duplicate_ids(duplicates)
    known = read_properties(db, object_type)
    _check_id_property(object_type, id_property, known)
    with db:
        return [
            _upsert_one(db, object_type, id_property, key, upsert_input, known)
            for key, upsert_input in zip(keys, inputs, strict=True)
        ]


def _upsert_one(
    db: sqlite3.Connection,
    object_type: str,
    id_property: str,
    key: str,
    upsert_input: UpsertInput,
    known: dict[str, PropertyDefinition],
) -> WriteResult:
    properties = dict(upsert_input.properties)
    if object_type == CONTACTS:
        if not is_hubspot_email(key):
            return invalid_email(key)
        properties.pop("email", None)
    else:
        if not key:
            return WriteResult.rejected("MISSING_ID", f"No value for {id_property}")
        properties[id_property] = key
    key_column = _key_column(object_type)
    rejection = _check_values(object_type, properties, known)
    if rejection is not None:
        return rejection
    row = db.execute(
        f"SELECT id, properties FROM {object_type} WHERE {key_column} = ?", (key,)
    ).fetchone()
    stored: dict[str, str] = json.loads(row[1] or "{}") if row else {}
    merged = dict(stored)
    for name, value in properties.items():
        if value == "":
            merged.pop(name, None)
        else:
            merged[name] = value
    written_at = now()
    if row is None:
        cursor = db.execute(
            f"INSERT INTO {object_type} ({key_column}, properties, created_at, updated_at) "
            "VALUES (?, ?, ?, ?)",
            (key, json.dumps(merged, sort_keys=True), written_at, written_at),
        )
        return WriteResult(Outcome.CREATED, str(cursor.lastrowid))
    if merged != stored:
        db.execute(
            f"UPDATE {object_type} SET properties = ?, updated_at = ? WHERE id = ?",
            (json.dumps(merged, sort_keys=True), written_at, row[0]),
        )
    return WriteResult(Outcome.UPDATED, str(row[0]))


def find_ids(db: sqlite3.Connection, object_type: str, keys: Sequence[str]) -> dict[str, str]:
    """CRM ids of the existing objects among `keys`, keyed as given."""
    check_object_type(object_type)
    key_column = _key_column(object_type)
    found: dict[str, str] = {}
    for key in keys:
        row = db.execute(
            f"SELECT id FROM {object_type} WHERE {key_column} = ?",
            (_normal_key(object_type, key),),
        ).fetchone()
        if row:
            found[key] = str(row[0])
    return found


def _shown(object_type: str, row: tuple[int, str, str], wanted: Sequence[str]) -> CRMRecord:
    """A row (id, key, properties JSON) as a CRM record with the `wanted` properties."""
    stored: dict[str, str] = json.loads(row[2] or "{}")
    if object_type == CONTACTS:
        stored["email"] = row[1]
    return CRMRecord(str(row[0]), {n: stored[n] for n in wanted if n in stored})


def read_objects(
    db: sqlite3.Connection, object_type: str, keys: Sequence[str], properties: Sequence[str]
) -> dict[str, CRMRecord]:
    """The existing objects among `keys`, keyed as given, with `properties`."""
    check_object_type(object_type)
    key_column = _key_column(object_type)
    found: dict[str, CRMRecord] = {}
    for key in keys:
        row = db.execute(
            f"SELECT id, {key_column}, properties FROM {object_type} WHERE {key_column} = ?",
            (_normal_key(object_type, key),),
        ).fetchone()
        if row:
            found[key] = _shown(object_type, row, properties)
    return found


def list_companies(db: sqlite3.Connection, properties: Sequence[str]) -> list[CRMRecord]:
    """Every company with `properties`."""
    rows = db.execute("SELECT id, account_key, properties FROM companies ORDER BY id").fetchall()
    return [_shown(COMPANIES, row, properties) for row in rows]


def update(
    db: sqlite3.Connection, object_type: str, inputs: Sequence[UpdateInput], max_batch_size: int
) -> list[WriteResult]:
    """Update existing objects by id; a company's key column follows its id property."""
    check_object_type(object_type)
    if len(inputs) > max_batch_size:
        raise too_many_inputs(len(inputs), max_batch_size)
    known = read_properties(db, object_type)
    results = []
    with db:
        for item in inputs:
            row = db.execute(
                f"SELECT id, properties FROM {object_type} WHERE id = ?",
                (int(item.crm_id) if item.crm_id.isdigit() else -1,),
            ).fetchone()
            if row is None:
                results.append(
                    WriteResult.rejected(
                        "OBJECT_NOT_FOUND", f"No {object_type} with id {item.crm_id}"
                    )
                )
                continue
            rejection = _check_values(object_type, dict(item.properties), known)
            if rejection is not None:
                results.append(rejection)
                continue
            merged = json.loads(row[1] or "{}")
            for name, value in item.properties.items():
                if value == "":
                    merged.pop(name, None)
                else:
                    merged[name] = value
            db.execute(
                f"UPDATE {object_type} SET properties = ?, updated_at = ? WHERE id = ?",
                (json.dumps(merged, sort_keys=True), now(), row[0]),
            )
            results.append(WriteResult(Outcome.UPDATED, item.crm_id))
    return results
