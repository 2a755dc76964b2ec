"""A portal that already holds companies and contacts typed by sales: matched, not duplicated.

Companies without `plg_account_id` are adopted by their domain (several on one domain is
a reject naming them), HubSpot's own name fields are filled only where empty, and a dry
run on such a portal (or on an empty one) reads only and writes a plan whose call count
is the real run's.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..target_local.harness import association, company, contact, schema, state
from .harness import TOKEN_CHECK, HubSpotWorkspace, crm_calls
from .hubspot_emulator import HubSpotEmulator


def _schemas() -> list[dict[str, Any]]:
    """The transform's SCHEMAs, contacts carrying the demo's user traits."""
    contacts = schema("contacts")
    for trait in ("firstName", "lastName", "title"):
        contacts["schema"]["properties"][trait] = {"type": ["string", "null"]}
    return [schema("companies"), contacts, schema("associations")]


def _sales_portal(hubspot: HubSpotEmulator) -> dict[str, str]:
    """Companies and contacts created by people, without any plg_ property."""
    return {
        "acme": hubspot.add_object(
            "companies", {"name": "ACME Corp (sales)", "domain": "acme.com"}
        ),
        "globex_1": hubspot.add_object("companies", {"name": "Globex", "domain": "globex.com"}),
        "globex_2": hubspot.add_object("companies", {"name": "Globex Inc", "domain": "globex.com"}),
        "ann": hubspot.add_object("contacts", {"email": "Ann@Acme.com", "firstname": "Annie"}),
    }


def _input() -> list[dict[str, Any]]:
    return [
        *_schemas(),
        company("a1", name="Acme", domain="https://www.Acme.com/pricing"),
        company("a2", name="Globex", domain="globex.com"),
        company("a3", name="Initech", domain="initech.com"),
        contact(
            "u1",
            "ann@acme.com",
            primary_account_id="a1",
            firstName="Ann",
            lastName="Smith",
            title="CTO",
        ),
        contact("u2", "bob@initech.com", primary_account_id="a3", firstName="Bob", title=None),
        contact("u3", "carl@globex.com", primary_account_id="a2", firstName="Carl"),
        association("u1", "a1", role="Admin", is_champion=True),
        association("u2", "a3", role="Member"),
        association("u3", "a2"),
        state({"bookmarks": {"tracks": "2026-03-02"}}),
    ]


def _writes(hubspot: HubSpotEmulator) -> list[str]:
    """Calls that change the CRM (reads and the start-up token check left out)."""
    return [
        f"{c.method} {c.path}"
        for c in crm_calls(hubspot.calls)
        if c.method != "GET" and not c.path.endswith("batch/read")
    ]


def _calls_by_endpoint(hubspot: HubSpotEmulator) -> Counter[str]:
    """`METHOD path` of every call, PATCHes of properties counted under one name."""
    counted: Counter[str] = Counter()
    for call in hubspot.calls:
        path = call.path
        if call.method == "PATCH":
            path = path.rsplit("/", 1)[0] + "/{name}"
        counted[f"{call.method} {path}"] += 1
    return counted


def test_a_company_without_account_id_is_adopted_by_its_domain_not_duplicated(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    ids = _sales_portal(hubspot)

    result = workspace.run(_input())

    assert result.returncode == 0, result.stderr
    companies = hubspot.companies()
    assert len(companies) == 4  # the three of sales and Initech: no duplicate of ACME
    acme = companies["a1"]
    assert acme["name"] == "ACME Corp (sales)"  # what sales typed is kept (if_empty)
    assert acme["plg_name"] == "Acme"
    assert companies["a3"]["name"] == "Initech"  # a new company gets its name
    assert companies["a3"]["domain"] == "initech.com"
    # the two Globex companies are left alone and the record is rejected, naming both
    assert "a2" not in companies
    (globex,) = [r for r in workspace.rejects() if r["stream"] == "companies"]
    assert globex["code"] == "AMBIGUOUS_DOMAIN"
    assert ids["globex_1"] in globex["reason"] and ids["globex_2"] in globex["reason"]
    # the adoption is an update of the sales company, by its id
    (update,) = hubspot.calls_to("/objects/companies/batch/update")
    assert update.body["inputs"][0]["id"] == ids["acme"]
    assert update.body["inputs"][0]["properties"]["plg_account_id"] == "a1"
    assert hubspot.calls_to("search") == []


def test_native_name_fields_fill_what_is_empty_and_never_overwrite_what_sales_typed(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    _sales_portal(hubspot)

    result = workspace.run(_input())

    assert result.returncode == 0, result.stderr
    contacts = hubspot.contacts()
    ann = contacts["ann@acme.com"]
    assert (ann["firstname"], ann["lastname"], ann["jobtitle"]) == ("Annie", "Smith", "CTO")
    bob = contacts["bob@initech.com"]
    assert bob["firstname"] == "Bob"
    assert "jobtitle" not in bob  # a null trait never clears a CRM value
    assert len([c for c in contacts if c == "ann@acme.com"]) == 1
    # the association of the rejected company is rejected too; the others are written
    associations = hubspot.associations()
    assert associations[("ann@acme.com", "a1")] == {"", "Primary", "Admin", "Champion"}
    assert associations[("bob@initech.com", "a3")] == {"", "Primary", "Member"}
    codes = sorted(r["code"] for r in workspace.rejects())
    assert codes == ["AMBIGUOUS_DOMAIN", "COMPANY_NOT_FOUND"]


def test_a_second_run_on_the_adopted_portal_writes_nothing_and_duplicates_nothing(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    _sales_portal(hubspot)
    assert workspace.run(_input()).returncode == 0
    before = len(hubspot.calls)

    result = workspace.run(_input())

    assert result.returncode == 0, result.stderr
    # Only the rejected Globex record and its association are looked at again (reads).
    again = {f"{c.method} {c.path}" for c in hubspot.calls[before:]}
    assert again == {
        TOKEN_CHECK,
        "GET /crm/v3/properties/companies",
        "POST /crm/v3/objects/companies/batch/read",
        "GET /crm/v3/objects/companies",
    }
    assert len(hubspot.companies()) == 4
    assert workspace.summary()["objects"]["companies"]["unchanged"] == 2


def test_dry_run_on_a_full_portal_reads_only_and_plans_every_change(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    ids = _sales_portal(hubspot)

    result = workspace.run(_input(), dry_run=True)

    assert result.returncode == 0, result.stderr
    assert _writes(hubspot) == []
    assert {c.method for c in hubspot.calls} == {"GET", "POST"}
    plan = workspace.plan()
    companies = {r["key"]: r for r in plan["records"]["companies"]}
    assert companies["a1"]["action"] == "adopt"
    assert companies["a1"]["crm_id"] == ids["acme"]
    assert companies["a1"]["matched_by"] == "domain"
    changes = companies["a1"]["changes"]
    assert changes["plg_account_id"] == {"old": None, "new": "a1"}
    assert "name" not in changes and "domain" not in changes  # kept: sales typed them
    assert companies["a3"]["action"] == "create"
    assert "a2" not in companies
    contacts = {r["key"]: r for r in plan["records"]["contacts"]}
    assert contacts["ann@acme.com"]["action"] == "update"
    assert contacts["ann@acme.com"]["crm_id"] == ids["ann"]
    assert contacts["ann@acme.com"]["changes"]["lastname"] == {"old": None, "new": "Smith"}
    assert "firstname" not in contacts["ann@acme.com"]["changes"]
    assert contacts["bob@initech.com"]["action"] == "create"
    rejects = {(r["stream"], r["code"]) for r in plan["rejects"]}
    assert rejects == {("companies", "AMBIGUOUS_DOMAIN"), ("associations", "COMPANY_NOT_FOUND")}
    relations = {a["key"]: a for a in plan["associations"]}
    assert relations["u1@a1"]["add_labels"] == ["admin", "champion", "primary"]
    assert relations["u1@a1"]["company_id"] == ids["acme"]
    assert sorted(plan["association_labels_to_create"]) == ["admin", "champion", "member"]
    assert "plan: adopt companies a1 " in result.stderr
    assert "plan: the real run needs" in result.stderr

    # The real run makes exactly the calls the plan announced.
    planned = plan["calls"]["by_endpoint"]
    read_calls = len(hubspot.calls)
    assert workspace.run(_input()).returncode == 0
    real = _calls_by_endpoint(hubspot) - Counter(
        f"{c.method} {c.path}" for c in hubspot.calls[:read_calls]
    )
    assert dict(real) == planned


def test_dry_run_on_an_empty_portal_plans_properties_labels_records_and_the_calls(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    result = workspace.run(_input(), dry_run=True)

    assert result.returncode == 0, result.stderr
    assert _writes(hubspot) == []
    plan = workspace.plan()
    created = {p["name"]: p for p in plan["properties"]["companies"]["create"]}
    assert created["plg_account_id"]["hasUniqueValue"] is True
    assert created["plg_is_pqa"]["type"] == "bool"
    assert plan["properties"]["contacts"]["group_to_create"] == "product_usage"
    assert {r["action"] for r in plan["records"]["companies"]} == {"create"}
    assert len(plan["records"]["companies"]) == 3
    assert plan["records"]["contacts"][0]["changes"]["firstname"] == {"old": None, "new": "Ann"}
    assert plan["rejects"] == []
    assert plan["counts"]["associations"]["created"] == 3

    planned = plan["calls"]["by_endpoint"]
    assert plan["calls"]["total"] == sum(planned.values())
    read_calls = len(hubspot.calls)
    assert workspace.run(_input()).returncode == 0
    real = _calls_by_endpoint(hubspot) - Counter(
        f"{c.method} {c.path}" for c in hubspot.calls[:read_calls]
    )
    assert dict(real) == planned


def test_update_only_writes_what_exists_and_counts_the_rest_as_skipped(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    _sales_portal(hubspot)

    result = workspace.run(_input(), sync_mode="update_only")

    assert result.returncode == 0, result.stderr
    assert sorted(hubspot.contacts()) == ["ann@acme.com"]
    assert "a3" not in hubspot.companies() and "a1" in hubspot.companies()
    objects = workspace.summary()["objects"]
    assert objects["contacts"]["skipped"] == 2
    assert objects["companies"]["skipped"] == 1
    assert objects["associations"]["skipped"] == 2  # bob's and carl's (their ends skipped)
    assert objects["associations"]["created"] == 1
    assert [r["code"] for r in workspace.rejects()] == ["AMBIGUOUS_DOMAIN"]


def test_matching_lists_the_portals_companies_by_pages_of_a_hundred(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    for i in range(150):
        hubspot.add_object("companies", {"name": f"Sales {i}", "domain": f"s{i}.example.org"})
    messages = [
        *_schemas(),
        company("a1", domain="s140.example.org"),
        company("a2", domain="WWW.S7.example.org"),
    ]

    result = workspace.run(messages)

    assert result.returncode == 0, result.stderr
    pages = hubspot.calls_to("/crm/v3/objects/companies", "GET")
    assert [c.query.get("limit") for c in pages] == ["100", "100"]
    assert "after" not in pages[0].query and pages[1].query["after"]
    assert len(hubspot.companies()) == 150
    assert hubspot.companies()["a1"]["name"] == "Sales 140"
    assert hubspot.companies()["a2"]["name"] == "Sales 7"


def test_the_champion_flag_is_a_label_created_once_and_archived_when_it_goes(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    first = [
        *_schemas(),
        company("a1"),
        contact("u1", "ann@acme.com", primary_account_id="a1"),
        association("u1", "a1", role="Admin", is_champion=True),
    ]
    assert workspace.run(first).returncode == 0
    assert hubspot.associations()[("ann@acme.com", "a1")] == {"", "Primary", "Admin", "Champion"}

    result = workspace.run([*first[:-1], association("u1", "a1", role="Admin")])

    assert result.returncode == 0, result.stderr
    assert hubspot.associations()[("ann@acme.com", "a1")] == {"", "Primary", "Admin"}
    (archive,) = hubspot.calls_to("batch/labels/archive")
    champion = {v: k for k, v in hubspot.label_names().items()}["Champion"]
    assert [t["associationTypeId"] for t in archive.body["inputs"][0]["types"]] == [champion]
    created = [c for c in hubspot.calls_to("/labels", "POST") if c.path.endswith("/labels")]
    assert len(created) == 2  # admin and champion, once each


def test_a_refused_adoption_is_a_reject_the_rest_is_written_and_the_next_run_repairs_it(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    ids = _sales_portal(hubspot)
    hubspot.inject("400", path_contains="batch/update")

    first = workspace.run(_input())

    assert first.returncode == 0, first.stderr
    rejected = {(r["stream"], r["key"]): r["code"] for r in workspace.rejects()}
    assert rejected[("companies", "a1")] == "VALIDATION_ERROR"
    assert "a1" not in hubspot.companies() and "a3" in hubspot.companies()
    assert "bob@initech.com" in hubspot.contacts()

    second = workspace.run(_input())

    assert second.returncode == 0, second.stderr
    companies = hubspot.companies()
    assert companies["a1"]["name"] == "ACME Corp (sales)"  # adopted now, not duplicated
    assert len(companies) == 4
    acme = next(c for c in hubspot.calls_to("batch/update") if c.status == 200)
    assert acme.body["inputs"][0]["id"] == ids["acme"]
    assert hubspot.associations()[("ann@acme.com", "a1")] == {"", "Primary", "Admin", "Champion"}


def test_a_company_with_only_a_website_is_matched_by_its_host(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    typed = hubspot.add_object("companies", {"name": "Hooli", "website": "https://www.hooli.xyz/"})

    result = workspace.run([*_schemas(), company("a9", name="Hooli", domain="hooli.xyz")])

    assert result.returncode == 0, result.stderr
    assert len(hubspot.companies()) == 1
    (update,) = hubspot.calls_to("batch/update")
    assert update.body["inputs"][0]["id"] == typed
