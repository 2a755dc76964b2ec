"""The local CRM's SQLite file (target-plg-crm with `crm: local`), read once, read-only.

The snapshot (CrmSnapshot) is also what transform_records.py builds from the transform's
records of its last run, so every section renders the same from either source.

Tables (target_plg_crm/crm/local.py): contacts(email, properties JSON), companies
(account_key, properties JSON), associations(contact_id, company_id, labels JSON) and
properties(object_type, name, type, options JSON). Property values are strings named
`<prefix><field>` (default prefix `plg_`).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from plg_report.input_errors import ReportInputError

# Labels the target adds that say nothing about the person's role in the account.
NON_ROLE_LABELS = frozenset({"primary", "champion"})


@dataclass(frozen=True)
class CrmRecord:
    """One contact or company: its CRM id, key (email or account id) and suite fields."""

    crm_id: int
    key: str
    fields: dict[str, str]

    def text(self, name: str) -> str | None:
        """The field's value, None when unset (an empty string clears a CRM property)."""
        value = self.fields.get(name)
        return value if value else None

    def number(self, name: str) -> float | None:
        """The field as a number, None when unset or not numeric."""
        value = self.text(name)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            return None

    def flag(self, name: str) -> bool:
        """Booleans are written as the strings `true` / `false`."""
        return self.text(name) == "true"

    def items(self, name: str) -> list[str]:
        """A `;`-joined multi-value field (segments, features_used) as a list."""
        return [part for part in (self.text(name) or "").split(";") if part]


@dataclass(frozen=True)
class Membership:
    """A contact-company association: the contact's role labels in that account."""

    contact_id: int
    company_id: int
    labels: tuple[str, ...]
    # The contact's score in this account (the association's own engagement_score), when
    # the source holds it: the transform's records do, the local CRM does not.
    score: int | None = None

    @property
    def roles(self) -> list[str]:
        """Labels naming the role (the primary-company and champion labels are flags)."""
        return [label for label in self.labels if label not in NON_ROLE_LABELS]


@dataclass(frozen=True)
class CrmSnapshot:
    """Everything the report reads from the CRM file."""

    path: Path
    contacts: list[CrmRecord]
    companies: list[CrmRecord]
    memberships: list[Membership]
    # Options of enumeration properties in the order the CRM holds them (for lifecycle
    # stages: the configured order), keyed by (object type, field name without prefix).
    options: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # The raw value that scores 90 per kind (user, account, membership), when the source
    # holds it (the transform's records of its last run do).
    score_references: dict[str, float | None] = field(default_factory=dict)

    @property
    def as_of(self) -> str | None:
        """The instant the transform computed the records at."""
        for record in self.companies + self.contacts:
            if record.text("as_of"):
                return record.text("as_of")
        return None


def read_crm(path: Path, prefix: str) -> CrmSnapshot:
    """Read the CRM file without ever creating or changing it."""
    if not path.is_file():
        raise ReportInputError(f"no local CRM file at {path}; run the pipeline (make demo) first")
    try:
        # mode=ro: the report must never change what the pipeline wrote.
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
            contacts = [
                CrmRecord(crm_id, email, _fields(props, prefix, path))
                for crm_id, email, props in db.execute(
                    "SELECT id, email, properties FROM contacts ORDER BY id"
                )
            ]
            companies = [
                CrmRecord(crm_id, key, _fields(props, prefix, path))
                for crm_id, key, props in db.execute(
                    "SELECT id, account_key, properties FROM companies ORDER BY id"
                )
            ]
            memberships = [
                Membership(contact, company, tuple(_labels(labels, path)))
                for contact, company, labels in db.execute(
                    "SELECT contact_id, company_id, labels FROM associations"
                )
            ]
            options = {
                (object_type, name.removeprefix(prefix)): _labels(values, path)
                for object_type, name, values in db.execute(
                    "SELECT object_type, name, options FROM properties WHERE type = 'enumeration'"
                )
            }
    except sqlite3.Error as error:
        raise ReportInputError(f"{path} is not a local CRM file ({error})") from None
    return CrmSnapshot(path, contacts, companies, memberships, options)


def _fields(text: str | None, prefix: str, path: Path) -> dict[str, str]:
    """The suite's fields of one record, without the property prefix."""
    values = _json(text or "{}", path)
    if not isinstance(values, dict):
        raise ReportInputError(f"{path} is not a local CRM file (properties is not an object)")
    # Native properties (a company's `name`) count too; the suite's prefixed copy wins.
    fields = {name: str(value) for name, value in values.items() if not name.startswith(prefix)}
    fields.update(
        (name.removeprefix(prefix), str(value))
        for name, value in values.items()
        if name.startswith(prefix)
    )
    return fields


def _labels(text: str | None, path: Path) -> list[str]:
    values = _json(text or "[]", path)
    if not isinstance(values, list):
        raise ReportInputError(f"{path} is not a local CRM file (labels is not a list)")
    return [str(value) for value in values]


def _json(text: str, path: Path) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ReportInputError(f"{path} is not a local CRM file (bad JSON: {error})") from None
