"""The transform's records of its last run, for a report on any CRM (HubSpot, Salesforce).

plg-transform keeps what it emitted in its last run next to its store, at
`<store_path>.last-run.jsonl` (plg_transform/last_run_records.py): a header line (`as_of`,
the score references), then each stream's SCHEMA message and RECORD lines. They are read
here into the same snapshot as the local CRM's file, with values written as the CRM
writes them (`true`/`false`, numbers as text), so the page is computed by the same code.

What the transform's records hold that a CRM may not: every contact (also those a
`sync_filter` kept out of the CRM, or the CRM rejected), each association's own score,
role and champion flag, the stages and segments in their configured order, and the
score references.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from plg_report.crm_snapshot import CrmRecord, CrmSnapshot, Membership
from plg_report.input_errors import ReportInputError
from plg_report.json_lines import read_json_lines

HEADER_TYPE = "PLG_LAST_RUN"
FORMAT_VERSION = 1
SUFFIX = ".last-run.jsonl"
WHAT = "plg-transform's last-run records"
CONTACTS, COMPANIES, ASSOCIATIONS = "contacts", "companies", "associations"


def last_run_records_path(store_path: Path) -> Path:
    """The file plg-transform writes next to its store (`store_path`)."""
    return store_path.with_name(store_path.name + SUFFIX)


def read_transform_records(store_path: Path) -> CrmSnapshot:
    """The last run's contacts, companies and associations, as a CRM snapshot."""
    path = last_run_records_path(store_path)
    if not path.is_file():
        raise ReportInputError(
            f"no records of plg-transform's last run at {path} (kept next to its store "
            f"{store_path}); run the pipeline first, or give the transform's store_path as "
            "--transform-store-path"
        )
    messages = read_json_lines(path, WHAT)
    header = messages[0] if messages else {}
    if header.get("type") != HEADER_TYPE:
        raise ReportInputError(f"{path} is not {WHAT}: no {HEADER_TYPE} header line")
    if header.get("version") != FORMAT_VERSION:
        raise ReportInputError(
            f"{path}: version {header.get('version')!r} of {WHAT} is not known to this "
            f"plg-report (it reads version {FORMAT_VERSION})"
        )
    records: dict[str, list[dict[str, Any]]] = {CONTACTS: [], COMPANIES: [], ASSOCIATIONS: []}
    options: dict[tuple[str, str], list[str]] = {}
    for number, message in enumerate(messages[1:], start=2):
        stream = message.get("stream")
        if message.get("type") == "SCHEMA" and stream in records:
            options.update(_options(str(stream), message.get("schema")))
        elif message.get("type") == "RECORD" and stream in records:
            record = message.get("record")
            if not isinstance(record, dict):
                raise ReportInputError(f"{WHAT} {path}, line {number}: the record is not an object")
            records[str(stream)].append(record)
    return _snapshot(path, records, options, header.get("score_references"))


def _snapshot(
    path: Path,
    records: dict[str, list[dict[str, Any]]],
    options: dict[tuple[str, str], list[str]],
    references: Any,
) -> CrmSnapshot:
    contacts = [
        CrmRecord(crm_id, str(r.get("email") or r.get("user_id") or ""), _fields(r))
        for crm_id, r in enumerate(records[CONTACTS], start=1)
    ]
    companies = [
        CrmRecord(crm_id, str(r.get("account_id") or ""), _fields(r))
        for crm_id, r in enumerate(records[COMPANIES], start=1)
    ]
    contact_ids = {c.fields.get("user_id"): c.crm_id for c in contacts}
    company_ids = {c.key: c.crm_id for c in companies}
    memberships = [
        Membership(
            contact_ids[str(r.get("user_id"))],
            company_ids[str(r.get("account_id"))],
            _labels(r),
            _score(r),
        )
        for r in records[ASSOCIATIONS]
        if str(r.get("user_id")) in contact_ids and str(r.get("account_id")) in company_ids
    ]
    return CrmSnapshot(
        path=path,
        contacts=contacts,
        companies=companies,
        memberships=memberships,
        options=options,
        score_references=_references(references),
    )


def _text(value: Any) -> str | None:
    """A field's value as the CRM holds it: booleans `true`/`false`, numbers as text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def _fields(record: dict[str, Any]) -> dict[str, str]:
    return {name: text for name, value in record.items() if (text := _text(value)) is not None}


def _labels(association: dict[str, Any]) -> tuple[str, ...]:
    """The association's role (the `role` field) and its champion flag, as labels."""
    labels = [str(association["role"])] if association.get("role") else []
    if association.get("is_champion") is True:
        labels.append("champion")
    return tuple(labels)


def _score(association: dict[str, Any]) -> int | None:
    score = association.get("engagement_score")
    return round(score) if isinstance(score, int | float) and not isinstance(score, bool) else None


def _options(stream: str, schema: Any) -> dict[tuple[str, str], list[str]]:
    """Stages (`enum`) and segments (`x-options`) in their configured order."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return {}
    found = {}
    for name, key in (("lifecycle_stage", "enum"), ("segments", "x-options")):
        declared = properties.get(name)
        values = declared.get(key) if isinstance(declared, dict) else None
        if isinstance(values, list):
            found[(stream, name)] = [str(v) for v in values if v is not None]
    return found


def _references(value: Any) -> dict[str, float | None]:
    if not isinstance(value, dict):
        return {}
    return {
        str(kind): float(ref) if isinstance(ref, int | float) else None
        for kind, ref in value.items()
    }
