"""What the target writes to Salesforce (the emulator), through the real console script."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from ..target_local.harness import CONTACT_SCHEMA, association, company, contact, schemas, state
from .harness import SalesforceWorkspace, new_emulator
from .salesforce_emulator import SalesforceEmulator


def salesforce_schemas() -> list[dict[str, Any]]:
    """The transform's schemas, contacts carrying the demo's name and title traits."""
    messages = schemas()
    contacts = messages[1]
    contacts["schema"] = copy.deepcopy(CONTACT_SCHEMA)
    for trait in ("firstName", "lastName", "title"):
        contacts["schema"]["properties"][trait] = {"type": ["string", "null"]}
    return messages


def pipeline() -> list[dict[str, Any]]:
    """Transform-shaped input: companies, contacts, associations, then STATE."""
    return [
        *salesforce_schemas(),
        company("a1", segments="hot;expansion", lifecycle_stage="customer", engagement_score=72),
        company("a2", is_pqa=True, activation_rate=0.125),
        contact(
            "u1",
            "Ann@Acme.com",
            primary_account_id="a1",
            segments="power_user",
            firstName="Ann",
            lastName="Lee",
            title="CTO",
        ),
        contact("u2", "bob@acme.com", primary_account_id="a2", lifecycle_stage="pql"),
        association("u1", "a1", role="Decision Maker", is_champion=True, engagement_score=80),
        association("u1", "a2", role="Evaluator"),
        association("u2", "a2"),
        state({"bookmarks": {"tracks": "2026-03-02"}}),
    ]


def test_a_clean_run_writes_accounts_contacts_and_relations(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    result = workspace.run(pipeline())

    assert result.returncode == 0, result.stderr
    assert result.states == [{"bookmarks": {"tracks": "2026-03-02"}}]
    accounts = salesforce.accounts()
    assert accounts["a1"]["Name"] == "Company a1"
    assert accounts["a1"]["PLG_Engagement_Score__c"] == 72
    assert accounts["a1"]["PLG_Segments__c"] == "hot;expansion"
    assert accounts["a2"]["PLG_Is_Pqa__c"] is True
    assert accounts["a2"]["PLG_Activation_Rate__c"] == 0.125
    contacts = salesforce.contacts()
    ann = contacts["u1"]
    assert (ann["Email"], ann["FirstName"], ann["LastName"], ann["Title"]) == (
        "ann@acme.com",
        "Ann",
        "Lee",
        "CTO",
    )
    assert ann["AccountId"] == accounts["a1"]["Id"]
    assert contacts["u2"]["LastName"] == "[not provided]"
    relations = salesforce.relations()
    assert set(relations) == {("u1", "a1"), ("u1", "a2"), ("u2", "a2")}
    direct = relations[("u1", "a1")]
    assert direct["IsDirect"] is True and direct["Roles"] == "Decision Maker"
    assert direct["PLG_Is_Champion__c"] is True and direct["PLG_Engagement_Score__c"] == 80
    assert relations[("u1", "a2")]["IsDirect"] is False
    assert relations[("u1", "a2")]["Roles"] == "Evaluator"
    assert workspace.rejects() == []


def test_an_unchanged_rerun_writes_nothing(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    assert workspace.run(pipeline()).returncode == 0
    before = len(salesforce.calls)

    again = workspace.run(pipeline())

    assert again.returncode == 0, again.stderr
    new_calls = salesforce.calls[before:]
    assert [c for c in new_calls if c.method in ("PATCH", "POST") and "oauth2" not in c.path] == []
    assert again.states == [{"bookmarks": {"tracks": "2026-03-02"}}]
    counts = workspace.summary()["objects"]
    assert {k: v["unchanged"] for k, v in counts.items()} == {
        "associations": 3,
        "companies": 2,
        "contacts": 2,
    }


def test_write_calls_are_ceil_n_over_200_per_object(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    accounts, users = 210, 450
    messages = [
        *salesforce_schemas(),
        *[company(f"a{i}") for i in range(accounts)],
        *[
            contact(f"u{i}", f"user{i}@acme.com", primary_account_id=f"a{i % accounts}")
            for i in range(users)
        ],
        *[association(f"u{i}", f"a{(i + 1) % accounts}", role="Evaluator") for i in range(users)],
        state({"bookmarks": {"tracks": 1}}),
    ]

    result = workspace.run(messages)

    assert result.returncode == 0, result.stderr
    assert len(salesforce.writes("Account")) == 2  # ceil(210 / 200)
    assert len(salesforce.writes("Contact")) == 3  # ceil(450 / 200)
    assert len(salesforce.writes("AccountContactRelation")) == 3
    assert len(salesforce.relations()) == 2 * users  # the direct ones and the others
    assert workspace.rejects() == []


def test_the_jwt_bearer_flow_signs_in_and_writes(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    result = workspace.run(pipeline(), **workspace.jwt_config())

    assert result.returncode == 0, result.stderr
    assert set(salesforce.contacts()) == {"u1", "u2"}


def test_a_session_that_expires_mid_run_is_renewed_and_the_call_repeated(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    assert workspace.run(pipeline()[:5]).returncode == 0  # accounts only
    salesforce.expire_sessions()  # the next run's first token is fetched anew anyway
    first = salesforce.token_requests

    salesforce.inject("expire", path_contains="/composite/sobjects/Contact")
    result = workspace.run(pipeline())

    assert result.returncode == 0, result.stderr
    assert salesforce.token_requests == first + 2
    assert "Salesforce session expired: fetching a new access token" in result.stderr
    assert set(salesforce.contacts()) == {"u1", "u2"}


def test_a_contact_that_sales_created_is_adopted_by_email_not_duplicated(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    salesforce.add_record("Contact", LastName="Lee-Smith", FirstName="Ann", Email="ANN@acme.com")
    salesforce.add_record("Contact", LastName="Twin", Email="bob@acme.com")
    salesforce.add_record("Contact", LastName="Twin", Email="Bob@Acme.com")

    result = workspace.run(pipeline())

    assert result.returncode == 0, result.stderr
    contacts = salesforce.contacts()
    # native_fields' default (firstname, lastname, jobtitle if_empty): what sales typed stays.
    assert (contacts["u1"]["FirstName"], contacts["u1"]["LastName"]) == ("Ann", "Lee-Smith")
    assert contacts["u1"]["Title"] == "CTO"  # it was empty
    assert len([c for c in contacts.values() if c.get("Email") == "ann@acme.com"]) == 1
    assert "u2" not in contacts
    rejects = {r["key"]: r for r in workspace.rejects()}
    assert rejects["u2"]["code"] == "AMBIGUOUS_EMAIL"
    assert "2 existing Contacts have the email bob@acme.com" in rejects["u2"]["reason"]


def test_a_role_the_picklist_does_not_allow_is_a_reject_naming_it(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    messages = pipeline()
    messages[-3] = association("u1", "a2", role="Billing Owner")

    result = workspace.run(messages, salesforce_add_role_values=False)

    assert result.returncode == 0, result.stderr
    rejects = workspace.rejects()
    assert [(r["record"]["user_id"], r["record"]["account_id"], r["code"]) for r in rejects] == [
        ("u1", "a2", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
    ]
    assert "bad value for restricted picklist field: Billing Owner" in rejects[0]["reason"]
    assert set(salesforce.relations()) == {("u1", "a1"), ("u2", "a2")}


def test_role_and_primary_account_changes_update_the_relations(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    assert workspace.run(pipeline()).returncode == 0
    messages = pipeline()
    messages[5] = contact("u1", "ann@acme.com", primary_account_id="a2", lastName="Lee")
    messages[7] = association("u1", "a1", role="Influencer", is_champion=True, engagement_score=80)
    ids = {k: r["Id"] for k, r in salesforce.relations().items()}

    result = workspace.run(messages)

    assert result.returncode == 0, result.stderr
    relations = salesforce.relations()
    assert {k: r["Id"] for k, r in relations.items()} == ids  # updated, never re-created
    assert relations[("u1", "a1")]["Roles"] == "Influencer"
    assert relations[("u1", "a1")]["IsDirect"] is False
    assert relations[("u1", "a2")]["IsDirect"] is True
    assert salesforce.contacts()["u1"]["AccountId"] == salesforce.accounts()["a2"]["Id"]


def test_without_contacts_to_multiple_accounts_indirect_memberships_are_reported_once(
    tmp_path: Any,
) -> None:
    with new_emulator(acr_enabled=False) as emulator:
        workspace = SalesforceWorkspace(tmp_path, emulator=emulator)
        result = workspace.run(pipeline())
        contacts = emulator.contacts()

    assert result.returncode == 0, result.stderr
    assert result.stderr.count("Contacts to Multiple Accounts") == 1
    rejects = workspace.rejects()
    assert [(r["record"]["user_id"], r["record"]["account_id"], r["code"]) for r in rejects] == [
        ("u1", "a2", "CONTACTS_TO_MULTIPLE_ACCOUNTS_OFF")
    ]
    assert contacts["u1"]["AccountId"] is not None


def test_with_field_creation_off_the_run_stops_before_writing_with_a_package(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    result = workspace.run(pipeline(), salesforce_create_fields=False)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.states == []
    assert salesforce.writes("Account") == salesforce.writes("Contact") == []
    assert salesforce.calls_to("/tooling/") == []
    assert "Contact.PLG_User_Id__c (Text)" in result.stderr
    assert "Account.PLG_Engagement_Score__c (Number)" in result.stderr
    assert "AccountContactRelation.PLG_Is_Champion__c (Checkbox)" in result.stderr
    package = workspace.folder / "salesforce_fields"
    assert str(package) in result.stderr
    members = (package / "package.xml").read_text()
    assert "<members>Contact.PLG_User_Id__c</members>" in members
    assert "<externalId>true</externalId>" in (package / "objects" / "Contact.object").read_text()
    assert "PLG_CRM_Sync.permissionset" in {p.name for p in (package / "permissionsets").iterdir()}


def test_a_dry_run_on_a_fresh_org_reads_only_and_predicts_the_writes(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    result = workspace.run(pipeline(), dry_run=True)

    assert result.returncode == 0, result.stderr
    assert {c.method for c in salesforce.calls if "oauth2" not in c.path} == {"GET"}
    assert salesforce.records("Contact") == salesforce.records("Account") == []
    assert "contacts: 2 would create, 0 would update" in result.stderr
    assert not (workspace.folder / "ledger.sqlite").exists()


def test_a_membership_that_ends_is_deactivated_not_deleted_and_can_come_back(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    assert workspace.run(pipeline()).returncode == 0
    without = [m for i, m in enumerate(pipeline()) if i != 8]  # u1 leaves a2

    ended = workspace.run(without)
    calls = len(salesforce.calls)
    again = workspace.run(without)
    after_again = salesforce.calls[calls:]
    relation = salesforce.relations()[("u1", "a2")]
    back = workspace.run(pipeline())

    assert ended.returncode == again.returncode == back.returncode == 0, ended.stderr
    assert relation["IsActive"] is False
    assert relation["EndDate"] == datetime.now(UTC).date().isoformat()
    assert relation["Roles"] == "Evaluator"  # kept as history
    assert [c for c in after_again if c.method != "GET" and "oauth2" not in c.path] == []
    restored = salesforce.relations()[("u1", "a2")]
    assert (restored["Id"], restored["IsActive"], restored["EndDate"]) == (
        relation["Id"],
        True,
        None,
    )
    assert salesforce.relations()[("u1", "a1")]["IsActive"] is True


def test_memberships_are_not_ended_when_the_setting_is_off_or_the_stream_is_absent(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    assert workspace.run(pipeline()).returncode == 0
    without = [m for i, m in enumerate(pipeline()) if i != 8]
    no_stream = [m for m in pipeline() if m.get("stream") != "associations"]

    assert workspace.run(without, salesforce_deactivate_ended_memberships=False).returncode == 0
    assert workspace.run(no_stream).returncode == 0

    assert all(r["IsActive"] for r in salesforce.relations().values())


def test_refused_credentials_stop_the_run_in_one_line_without_the_secret(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    result = workspace.run(pipeline(), salesforce_client_secret="wr0ng-s3cret-value")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "wr0ng-s3cret-value" not in result.stderr
    assert "Salesforce refused the client_credentials credentials" in result.stderr
    assert "invalid_client" in result.stderr
    assert result.states == []


def test_a_contact_whose_primary_account_is_missing_is_written_and_completed_next_run(
    workspace: SalesforceWorkspace, salesforce: SalesforceEmulator
) -> None:
    first = [m for i, m in enumerate(pipeline()) if i != 3]  # account a1 not sent

    result = workspace.run(first)
    ann = salesforce.contacts()["u1"]
    rejects = workspace.rejects()
    again = workspace.run(pipeline())

    assert result.returncode == again.returncode == 0, result.stderr
    assert ann.get("AccountId") is None and ann["LastName"] == "Lee"
    assert ("u1", "PRIMARY_ACCOUNT_NOT_FOUND") in {(r["key"], r["code"]) for r in rejects}
    assert salesforce.contacts()["u1"]["AccountId"] == salesforce.accounts()["a1"]["Id"]
    assert salesforce.relations()[("u1", "a1")]["IsDirect"] is True
