"""Issue 9's settings on Salesforce: domain matching, update_only, run history, plan file."""

from __future__ import annotations

from ..target_local.harness import company, contact, state
from .harness import SalesforceWorkspace
from .salesforce_emulator import SalesforceEmulator
from .test_salesforce_target_writes import pipeline, salesforce_schemas


def _companies_only() -> list[dict]:
    return [
        *salesforce_schemas(),
        company("a1", domain="acme.com"),
        company("a2", domain="globex.com"),
        state({"bookmarks": {"tracks": "2026-03-02"}}),
    ]


def test_an_account_without_our_id_is_adopted_by_its_website_domain(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    sales_id = salesforce.add_record("Account", Name="ACME (sales)", Website="https://www.acme.com")

    result = workspace.run(_companies_only())

    assert result.returncode == 0, result.stderr
    accounts = salesforce.records("Account")
    assert len(accounts) == 2  # ACME adopted, Globex created: no duplicate
    assert salesforce.accounts()["a1"]["Id"] == sales_id


def test_update_only_writes_no_new_account(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    salesforce.add_record("Account", Name="ACME (sales)", Website="https://acme.com")

    result = workspace.run(_companies_only(), sync_mode="update_only", company_match=["account_id"])

    assert result.returncode == 0, result.stderr
    assert [a.get("PLG_Account_Id__c") for a in salesforce.records("Account")] == [None]
    assert "companies: 0 created, 0 updated, 0 unchanged, 0 rejected, 2 skipped" in result.stderr


def test_each_run_leaves_a_history_line_with_its_salesforce_calls(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    assert workspace.run(pipeline()).returncode == 0

    (line,) = workspace.run_history()
    assert line["crm"] == "salesforce" and line["status"] == "succeeded"
    assert line["objects"]["contacts"]["created"] == 2
    sent = [c for c in salesforce.calls if "oauth2" not in c.path]
    assert line["calls"]["total"] == len(sent)


def test_a_dry_run_reads_only_and_writes_the_plan(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    result = workspace.run(pipeline(), dry_run=True)

    assert result.returncode == 0, result.stderr
    assert {c.method for c in salesforce.calls if "oauth2" not in c.path} == {"GET"}
    plan = workspace.plan()
    records = [r for listed in plan["records"].values() for r in listed]
    created = {r["key"] for r in records if r["action"] == "create"}
    assert {"a1", "a2", "u1", "u2"} <= created
    assert any(a.get("fields", {}).get("role") == "Decision Maker" for a in plan["associations"])


def test_a_native_field_if_empty_never_overwrites_what_sales_typed(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    messages = salesforce_schemas()
    messages[1]["schema"]["properties"]["phone"] = {"type": ["string", "null"]}
    natives = {"contacts": [{"field": "phone", "property": "phone", "mode": "if_empty"}]}

    def run(phone: str) -> None:
        records = [
            company("a1"),
            contact("u1", "ann@acme.com", primary_account_id="a1", phone=phone),
        ]
        result = workspace.run([*messages, *records], native_fields=natives)
        assert result.returncode == 0, result.stderr

    run("111")
    (ann,) = salesforce.records("Contact")
    assert ann["Phone"] == "111"  # empty: written
    salesforce.edit_record("Contact", ann["Id"], Phone="999")  # a sales rep retypes it
    run("222")
    (ann,) = salesforce.records("Contact")
    assert ann["Phone"] == "999"


def test_if_empty_keeps_what_sales_typed_on_a_contact_adopted_by_email_in_the_same_run(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    sales_id = salesforce.add_record(
        "Contact", FirstName="Annie", LastName="Lee-Smith", Title="VP Eng", Email="ann@acme.com"
    )
    bob_id = salesforce.add_record("Contact", LastName="Jones", Email="bob@acme.com")

    result = workspace.run(pipeline())

    assert result.returncode == 0, result.stderr
    contacts = salesforce.contacts()
    ann, bob = contacts["u1"], contacts["u2"]
    assert (ann["Id"], bob["Id"]) == (sales_id, bob_id)  # adopted, not duplicated
    assert (ann["FirstName"], ann["LastName"], ann["Title"]) == ("Annie", "Lee-Smith", "VP Eng")
    assert ann["PLG_User_Id__c"] == "u1" and ann["PLG_Segments__c"] == "power_user"
    assert bob["LastName"] == "Jones"  # never the placeholder over a name sales typed
    assert workspace.rejects() == []


def test_overwrite_writes_the_traits_over_what_sales_typed(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    salesforce.add_record("Contact", FirstName="Annie", LastName="Lee-Smith", Email="ann@acme.com")
    natives = {
        "contacts": [
            {"field": "firstName", "property": "firstname", "mode": "overwrite"},
            {"field": "lastName", "property": "lastname", "mode": "overwrite"},
        ]
    }

    result = workspace.run(pipeline(), native_fields=natives)

    assert result.returncode == 0, result.stderr
    ann = salesforce.contacts()["u1"]
    assert (ann["FirstName"], ann["LastName"], ann["Title"]) == ("Ann", "Lee", "CTO")


def test_a_placeholder_last_name_is_replaced_once_the_trait_arrives_and_if_empty_holds_after(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    messages = pipeline()
    messages[6] = contact("u2", "bob@acme.com", primary_account_id="a2")
    assert workspace.run(messages).returncode == 0
    assert salesforce.contacts()["u2"]["LastName"] == "[not provided]"

    messages[6] = contact("u2", "bob@acme.com", primary_account_id="a2", lastName="Jones")
    assert workspace.run(messages).returncode == 0
    assert salesforce.contacts()["u2"]["LastName"] == "Jones"

    bob = salesforce.contacts()["u2"]
    salesforce.edit_record("Contact", bob["Id"], LastName="Jones-Smith")  # a sales rep
    messages[6] = contact("u2", "bob@acme.com", primary_account_id="a2", lastName="Jonas")
    assert workspace.run(messages).returncode == 0
    assert salesforce.contacts()["u2"]["LastName"] == "Jones-Smith"


def test_an_account_adopted_by_domain_keeps_its_name_and_website(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    salesforce.add_record("Account", Name="ACME (sales)", Website="https://www.acme.com")

    result = workspace.run(_companies_only())

    assert result.returncode == 0, result.stderr
    acme = salesforce.accounts()["a1"]
    assert (acme["Name"], acme["Website"]) == ("ACME (sales)", "https://www.acme.com")
    assert salesforce.accounts()["a2"]["Name"] == "Company a2"
