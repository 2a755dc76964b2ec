"""The local CRM refuses what HubSpot refuses (docs: crm-contract.md)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from target_plg_crm.crm.errors import CRMError
from target_plg_crm.crm.local.crm import LocalCRM
from target_plg_crm.crm.property_definitions import PropertyDefinition, PropertyGroup
from target_plg_crm.crm.writes import AssociationInput, Outcome, UpsertInput

GROUP = PropertyGroup("product_usage", "Product usage")


def _prop(name: str, type_: str = "string", field_type: str = "text", **kw: object):
    return PropertyDefinition(name, name, type_, field_type, GROUP.name, **kw)  # type: ignore[arg-type]


@pytest.fixture
def crm(tmp_path: Path) -> LocalCRM:
    client = LocalCRM(tmp_path / "crm.sqlite")
    client.ensure_properties(
        "companies",
        GROUP,
        [
            _prop("plg_account_id", has_unique_value=True),
            _prop("plg_name"),
            _prop("plg_stage", "enumeration", "select", options=("trial",)),
            _prop("plg_segments", "enumeration", "checkbox", options=("a", "b")),
        ],
    )
    client.ensure_properties("contacts", GROUP, [_prop("plg_score", "number", "number")])
    return client


def test_unknown_property_rejects_just_that_record(crm: LocalCRM) -> None:
    results = crm.upsert(
        "contacts",
        "email",
        [
            UpsertInput("ann@acme.com", {"plg_score": "1"}),
            UpsertInput("bob@acme.com", {"plg_nope": "1"}),
        ],
    )

    assert results[0].outcome is Outcome.CREATED
    assert (results[1].outcome, results[1].code) == (Outcome.REJECTED, "PROPERTY_DOESNT_EXIST")
    assert "plg_nope" in (results[1].reason or "")


def test_invalid_email_is_rejected_and_emails_match_case_insensitively(crm: LocalCRM) -> None:
    first = crm.upsert("contacts", "email", [UpsertInput("Ann@Acme.com", {})])
    again = crm.upsert("contacts", "email", [UpsertInput("ann@ACME.com", {"plg_score": "2"})])
    bad = crm.upsert("contacts", "email", [UpsertInput("ann@", {})])

    assert again[0].outcome is Outcome.UPDATED and again[0].crm_id == first[0].crm_id
    assert bad[0].code == "INVALID_EMAIL"
    assert crm.find_ids("contacts", "email", ["ANN@acme.com"]) == {"ANN@acme.com": first[0].crm_id}


def test_enumeration_values_must_be_options_until_ensured(crm: LocalCRM) -> None:
    upsert = [UpsertInput("a1", {"plg_stage": "customer"})]
    assert crm.upsert("companies", "plg_account_id", upsert)[0].code == "INVALID_OPTION"
    multi = [UpsertInput("a2", {"plg_segments": "a;c"})]
    assert crm.upsert("companies", "plg_account_id", multi)[0].code == "INVALID_OPTION"

    crm.ensure_properties(
        "companies", GROUP, [_prop("plg_stage", "enumeration", "select", options=("customer",))]
    )

    assert crm.upsert("companies", "plg_account_id", upsert)[0].outcome is Outcome.CREATED
    with sqlite3.connect(crm.path) as db:
        options = db.execute("SELECT options FROM properties WHERE name = 'plg_stage'").fetchone()
    assert json.loads(options[0]) == ["trial", "customer"]  # options are added, never removed


def test_upsert_by_a_non_unique_property_fails_the_whole_call(crm: LocalCRM) -> None:
    with pytest.raises(CRMError, match="non-unique"):
        crm.upsert("companies", "plg_name", [UpsertInput("Acme", {})])


def test_duplicate_ids_or_more_than_100_inputs_fail_the_whole_call(crm: LocalCRM) -> None:
    with pytest.raises(CRMError, match="Duplicate IDs"):
        crm.upsert("contacts", "email", [UpsertInput("a@x.io", {}), UpsertInput("A@x.io", {})])
    many = [UpsertInput(f"u{i}@x.io", {}) for i in range(101)]
    with pytest.raises(CRMError, match="At most 100"):
        crm.upsert("contacts", "email", many)
    assert crm.find_ids("contacts", "email", ["a@x.io", "u0@x.io"]) == {}


def test_an_empty_value_clears_the_property(crm: LocalCRM) -> None:
    crm.upsert("companies", "plg_account_id", [UpsertInput("a1", {"plg_name": "Acme"})])
    crm.upsert("companies", "plg_account_id", [UpsertInput("a1", {"plg_name": ""})])

    with sqlite3.connect(crm.path) as db:
        stored = json.loads(db.execute("SELECT properties FROM companies").fetchone()[0])
    assert stored == {"plg_account_id": "a1"}


def test_associations_need_existing_ids_and_keep_one_primary_per_contact(crm: LocalCRM) -> None:
    contact_id = crm.upsert("contacts", "email", [UpsertInput("ann@acme.com", {})])[0].crm_id
    companies = crm.upsert(
        "companies", "plg_account_id", [UpsertInput("a1", {}), UpsertInput("a2", {})]
    )
    a1, a2 = (r.crm_id for r in companies)
    assert contact_id and a1 and a2

    results = crm.associate(
        [
            AssociationInput(contact_id, a1, frozenset({"primary", "admin"})),
            AssociationInput("999", a1, frozenset()),
            AssociationInput(contact_id, "999", frozenset()),
        ]
    )
    assert [r.code for r in results] == [None, "CONTACT_NOT_FOUND", "COMPANY_NOT_FOUND"]

    crm.associate([AssociationInput(contact_id, a2, frozenset({"primary"}))])
    with sqlite3.connect(crm.path) as db:
        rows = dict(db.execute("SELECT company_id, labels FROM associations").fetchall())
    assert rows == {int(a1): '["admin"]', int(a2): '["primary"]'}
