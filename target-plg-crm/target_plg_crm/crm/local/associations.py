"""Contact-company associations in the local CRM: labels set exactly, one primary per contact."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from target_plg_crm.crm.association_labels import PRIMARY_LABEL
from target_plg_crm.crm.local.client import now
from target_plg_crm.crm.local.errors import too_many_inputs
from target_plg_crm.crm.object_types import COMPANIES, CONTACTS
from target_plg_crm.crm.writes import AssociationInput, Outcome, WriteResult


def associate(
    db: sqlite3.Connection, inputs: Sequence[AssociationInput], max_batch_size: int
) -> list[WriteResult]:
    """Create associations or set their labels; one primary company per contact."""
    if len(inputs) > max_batch_size:
        raise too_many_inputs(len(inputs), max_batch_size)
    with db:
        return [_associate_one(db, association) for association in inputs]


def _exists(db: sqlite3.Connection, table: str, crm_id: str) -> bool:
    if not crm_id.isdigit():
        return False
    return bool(db.execute(f"SELECT 1 FROM {table} WHERE id = ?", (int(crm_id),)).fetchone())


def _associate_one(db: sqlite3.Connection, association: AssociationInput) -> WriteResult:
    if not _exists(db, CONTACTS, association.contact_id):
        return WriteResult.rejected(
            "CONTACT_NOT_FOUND", f"No contact with id {association.contact_id}"
        )
    if not _exists(db, COMPANIES, association.company_id):
        return WriteResult.rejected(
            "COMPANY_NOT_FOUND", f"No company with id {association.company_id}"
        )
    contact_id, company_id = int(association.contact_id), int(association.company_id)
    labels = json.dumps(sorted(association.labels))
    written_at = now()
    if PRIMARY_LABEL in association.labels:
        _drop_other_primary(db, contact_id, company_id, written_at)
    row = db.execute(
        "SELECT labels FROM associations WHERE contact_id = ? AND company_id = ?",
        (contact_id, company_id),
    ).fetchone()
    crm_id = f"{contact_id}-{company_id}"
    if row is None:
        db.execute(
            "INSERT INTO associations VALUES (?, ?, ?, ?, ?)",
            (contact_id, company_id, labels, written_at, written_at),
        )
        return WriteResult(Outcome.CREATED, crm_id)
    if row[0] != labels:
        db.execute(
            "UPDATE associations SET labels = ?, updated_at = ? "
            "WHERE contact_id = ? AND company_id = ?",
            (labels, written_at, contact_id, company_id),
        )
    return WriteResult(Outcome.UPDATED, crm_id)


def _drop_other_primary(
    db: sqlite3.Connection, contact_id: int, company_id: int, written_at: str
) -> None:
    """HubSpot keeps one primary company per contact: a new primary replaces the old."""
    rows = db.execute(
        "SELECT company_id, labels FROM associations WHERE contact_id = ? AND company_id != ?",
        (contact_id, company_id),
    ).fetchall()
    for other_company, labels_json in rows:
        labels = json.loads(labels_json or "[]")
        if PRIMARY_LABEL in labels:
            labels.remove(PRIMARY_LABEL)
            db.execute(
                "UPDATE associations SET labels = ?, updated_at = ? "
                "WHERE contact_id = ? AND company_id = ?",
                (json.dumps(sorted(labels)), written_at, contact_id, other_company),
            )
