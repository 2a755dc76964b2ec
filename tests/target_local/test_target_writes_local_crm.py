"""What the target writes to the local CRM, through the real console script."""

from __future__ import annotations

from .harness import (
    LocalCRMWorkspace,
    association,
    company,
    contact,
    record,
    schema,
    schemas,
    state,
)


def test_properties_are_created_with_types_from_the_schema_in_the_group(
    workspace: LocalCRMWorkspace,
) -> None:
    result = workspace.run(
        [
            *schemas(),
            company("a1", segments="hot;expansion", lifecycle_stage="customer"),
            contact("u1", "ann@acme.com", segments="power_user", lifecycle_stage="pql"),
        ]
    )
    assert result.returncode == 0, result.stderr

    companies = workspace.properties("companies")
    assert companies["plg_account_id"]["has_unique_value"] == 1
    assert companies["plg_engagement_score"]["type"] == "number"
    assert companies["plg_activation_rate"]["field_type"] == "number"
    assert (companies["plg_is_pqa"]["type"], companies["plg_is_pqa"]["field_type"]) == (
        "bool",
        "booleancheckbox",
    )
    assert companies["plg_last_active_at"]["type"] == "datetime"
    assert companies["plg_name"]["type"] == "string"
    assert companies["plg_metric_plan"]["field_type"] == "textarea"  # mixed JSON types
    assert companies["plg_segments"]["field_type"] == "checkbox"
    assert sorted(companies["plg_segments"]["options"]) == ["expansion", "hot"]
    assert companies["plg_lifecycle_stage"]["field_type"] == "select"
    assert companies["plg_lifecycle_stage"]["options"] == ["customer"]
    assert {p["group_name"] for p in companies.values()} == {"product_usage"}
    assert "plg_name" in companies and "name" not in companies

    contacts = workspace.properties("contacts")
    assert contacts["plg_user_id"]["type"] == "string"
    assert contacts["plg_lifecycle_stage"]["options"] == ["pql"]
    assert "plg_email" not in contacts  # the e-mail is the contact's key, not a property


def test_every_field_is_written_as_a_string_on_its_record(workspace: LocalCRMWorkspace) -> None:
    workspace.run(
        [
            *schemas(),
            company(
                "a1",
                engagement_score=72,
                activation_rate=0.125,
                is_pqa=True,
                last_active_at="2026-03-01T14:30:05+02:00",
                segments="hot; expansion",
                metric_plan=3,
            ),
            contact("u1", "  Ann@Acme.COM ", primary_account_id="a1", engagement_score=0),
        ]
    )

    acme = workspace.companies()["a1"]
    assert acme["plg_account_id"] == "a1"
    assert acme["plg_engagement_score"] == "72"
    assert acme["plg_activation_rate"] == "0.125"
    assert acme["plg_is_pqa"] == "true"
    assert acme["plg_last_active_at"] == "2026-03-01T12:30:05Z"
    assert acme["plg_segments"] == "hot;expansion"
    assert acme["plg_metric_plan"] == "3"
    assert "plg_lifecycle_stage" not in acme  # null clears

    ann = workspace.contacts()["ann@acme.com"]
    assert ann["plg_user_id"] == "u1"
    assert ann["plg_primary_account_id"] == "a1"
    assert ann["plg_engagement_score"] == "0"
    assert ann["plg_is_pql"] == "false"
    assert all(isinstance(v, str) for v in {**acme, **ann}.values())


def test_second_run_with_a_changed_field_updates_the_same_records(
    workspace: LocalCRMWorkspace,
) -> None:
    workspace.run([*schemas(), company("a1"), contact("u1", "ann@acme.com")])
    result = workspace.run(
        [
            *schemas(),
            company("a1", engagement_score=90, last_active_at=None),
            contact("u1", "ANN@acme.com", engagement_score=77),
        ]
    )

    assert result.returncode == 0, result.stderr
    assert len(workspace.query("SELECT id FROM companies")) == 1
    assert len(workspace.query("SELECT id FROM contacts")) == 1
    assert workspace.companies()["a1"]["plg_engagement_score"] == "90"
    assert "plg_last_active_at" not in workspace.companies()["a1"]
    assert workspace.contacts()["ann@acme.com"]["plg_engagement_score"] == "77"
    objects = workspace.summary()["objects"]
    assert objects["companies"]["updated"] == 1 and objects["companies"]["created"] == 0
    assert objects["contacts"]["updated"] == 1 and objects["contacts"]["created"] == 0


def test_associations_carry_the_role_champion_and_primary_labels(
    workspace: LocalCRMWorkspace,
) -> None:
    workspace.run(
        [
            *schemas(),
            company("a1"),
            company("a2"),
            contact("u1", "ann@acme.com", primary_account_id="a1"),
            association("u1", "a1", role="Admin", is_champion=True),
            association("u1", "a2", role=None),
        ]
    )

    assert workspace.associations() == {
        ("ann@acme.com", "a1"): ["admin", "champion", "primary"],
        ("ann@acme.com", "a2"): [],
    }


def test_a_role_change_moves_the_label_and_primary_follows_the_contact(
    workspace: LocalCRMWorkspace,
) -> None:
    first = [company("a1"), company("a2"), contact("u1", "ann@acme.com", primary_account_id="a1")]
    workspace.run([*schemas(), *first, association("u1", "a1", role="admin")])
    workspace.run(
        [
            *schemas(),
            company("a1"),
            company("a2"),
            contact("u1", "ann@acme.com", primary_account_id="a2"),
            association("u1", "a1", role="Billing Owner"),
            association("u1", "a2", role="member"),
        ]
    )

    assert workspace.associations() == {
        ("ann@acme.com", "a1"): ["billing_owner"],
        ("ann@acme.com", "a2"): ["member", "primary"],
    }


def test_invalid_or_missing_email_is_rejected_with_its_reason_and_others_are_written(
    workspace: LocalCRMWorkspace,
) -> None:
    result = workspace.run(
        [
            *schemas(),
            contact("u1", "ann@acme.com"),
            contact("u2", "not-an-email"),
            contact("u3", None),
            contact("u4", "bob@acme.com"),
        ]
    )

    assert result.returncode == 0, result.stderr
    assert sorted(workspace.contacts()) == ["ann@acme.com", "bob@acme.com"]
    rejects = {r["record"]["user_id"]: r for r in workspace.rejects()}
    assert rejects["u2"]["code"] == "INVALID_EMAIL"
    assert "not-an-email" in rejects["u2"]["reason"]
    assert rejects["u2"]["stream"] == "contacts"
    assert rejects["u3"]["code"] == "MISSING_EMAIL"
    assert set(rejects) == {"u2", "u3"}
    assert workspace.summary()["objects"]["contacts"] == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 2,
        "filtered": 0,
        "skipped": 0,
    }


def test_a_rejected_record_stays_out_of_the_ledger_and_is_retried(
    workspace: LocalCRMWorkspace,
) -> None:
    messages = [*schemas(), contact("u1", "ann@acme.com"), contact("u2", "bad@")]
    workspace.run(messages)
    workspace.run(messages)

    assert workspace.summary()["objects"]["contacts"]["rejected"] == 1
    assert workspace.summary()["objects"]["contacts"]["unchanged"] == 1
    assert len(workspace.rejects()) == 1  # the latest run's rejects, not a growing log


def test_an_identical_second_run_is_all_unchanged_and_writes_nothing(
    workspace: LocalCRMWorkspace,
) -> None:
    messages = [
        *schemas(),
        company("a1", segments="hot"),
        contact("u1", "ann@acme.com", primary_account_id="a1"),
        association("u1", "a1", role="admin"),
    ]
    workspace.run(messages)
    stamps = workspace.query(
        "SELECT updated_at FROM companies UNION ALL SELECT updated_at FROM contacts "
        "UNION ALL SELECT updated_at FROM associations"
    )
    result = workspace.run(messages)

    assert result.returncode == 0, result.stderr
    assert workspace.summary()["objects"] == {
        t: {"created": 0, "updated": 0, "unchanged": 1, "rejected": 0, "filtered": 0, "skipped": 0}
        for t in ("associations", "companies", "contacts")
    }
    assert (
        workspace.query(
            "SELECT updated_at FROM companies UNION ALL SELECT updated_at FROM contacts "
            "UNION ALL SELECT updated_at FROM associations"
        )
        == stamps
    )
    assert "contacts: 0 created, 0 updated, 1 unchanged, 0 rejected" in result.stderr


def test_a_new_as_of_alone_does_not_cause_a_write(workspace: LocalCRMWorkspace) -> None:
    workspace.run([*schemas(), company("a1")])
    workspace.run([*schemas(), company("a1", as_of="2026-03-03T00:00:00Z")])
    assert workspace.summary()["objects"]["companies"]["unchanged"] == 1

    workspace.run([*schemas(), company("a1", as_of="2026-03-04T00:00:00Z", active_users=9)])
    acme = workspace.companies()["a1"]
    assert (acme["plg_active_users"], acme["plg_as_of"]) == ("9", "2026-03-04T00:00:00Z")


def test_a_lost_ledger_only_costs_rewrites(workspace: LocalCRMWorkspace) -> None:
    messages = [
        *schemas(),
        company("a1"),
        contact("u1", "ann@acme.com", primary_account_id="a1"),
        association("u1", "a1", role="admin"),
    ]
    workspace.run(messages)
    (workspace.folder / "ledger.sqlite").unlink()
    workspace.run(messages)

    assert workspace.summary()["objects"]["contacts"]["updated"] == 1
    assert workspace.summary()["objects"]["associations"]["updated"] == 1
    assert len(workspace.query("SELECT * FROM contacts")) == 1
    assert workspace.associations() == {("ann@acme.com", "a1"): ["admin", "primary"]}


def test_a_new_crm_file_makes_the_old_ledger_forgotten(workspace: LocalCRMWorkspace) -> None:
    messages = [*schemas(), company("a1"), contact("u1", "ann@acme.com")]
    workspace.run(messages)
    (workspace.folder / "crm.sqlite").unlink()
    workspace.run(messages)

    assert workspace.summary()["objects"]["contacts"]["created"] == 1
    assert sorted(workspace.contacts()) == ["ann@acme.com"]


def test_dry_run_writes_nothing_and_logs_what_it_would_do(workspace: LocalCRMWorkspace) -> None:
    messages = [
        *schemas(),
        company("a1"),
        contact("u1", "ann@acme.com", primary_account_id="a1"),
        association("u1", "a1", role="admin"),
    ]
    result = workspace.run(messages, dry_run=True)

    assert result.returncode == 0, result.stderr
    # Only the plan and the run history record the dry run.
    assert sorted(p.name for p in workspace.folder.iterdir()) == [
        "config.json",
        "plan.json",
        "run-history.jsonl",
    ]
    assert workspace.run_history()[0]["dry_run"] is True
    assert "plan: create contacts ann@acme.com: " in result.stderr
    assert "plan: create association u1@a1 (contact new:ann@acme.com, company new:a1)" in (
        result.stderr
    )
    assert "contacts: 1 would create, 0 would update" in result.stderr
    plan = workspace.plan()
    assert [r["action"] for r in plan["records"]["contacts"]] == ["create"]
    assert plan["records"]["contacts"][0]["changes"]["plg_user_id"] == {"old": None, "new": "u1"}
    assert {p["name"] for p in plan["properties"]["companies"]["create"]} >= {"plg_account_id"}
    assert plan["associations"][0]["add_labels"] == ["admin", "primary"]
    assert plan["calls"]["by_endpoint"]["POST /crm/v3/objects/contacts/batch/upsert"] == 1

    workspace.run(messages)
    before = workspace.query("SELECT * FROM contacts")
    ledger_before = (workspace.folder / "ledger.sqlite").read_bytes()
    changed = [*schemas(), contact("u1", "ann@acme.com", engagement_score=99)]
    result = workspace.run(changed, dry_run=True)
    assert "plan: update contacts ann@acme.com 1 (matched by email): " in result.stderr
    assert "plg_engagement_score: '40' -> '99'" in result.stderr
    assert workspace.query("SELECT * FROM contacts") == before
    assert (workspace.folder / "ledger.sqlite").read_bytes() == ledger_before


def test_an_association_whose_contact_is_missing_is_rejected_with_its_reason(
    workspace: LocalCRMWorkspace,
) -> None:
    result = workspace.run(
        [
            *schemas(),
            company("a1"),
            contact("u1", "ann@acme.com"),
            association("u1", "a1", role="admin"),
            association("ghost", "a1", role="admin", email="ghost@acme.com"),
            association("u1", "nope"),
        ]
    )

    assert result.returncode == 0, result.stderr
    assert workspace.associations() == {("ann@acme.com", "a1"): ["admin"]}
    codes = {r["key"]: (r["code"], r["reason"]) for r in workspace.rejects()}
    assert codes["ghost@a1"][0] == "CONTACT_NOT_FOUND"
    assert "ghost@acme.com" in codes["ghost@a1"][1]
    assert codes["u1@nope"][0] == "COMPANY_NOT_FOUND"


def test_associations_find_contacts_through_the_ledger_in_a_later_run(
    workspace: LocalCRMWorkspace,
) -> None:
    workspace.run(
        [
            *schemas(),
            company("a1"),
            contact("u1", "ann@acme.com", primary_account_id="a1"),
            association("u1", "a1", role="admin"),
        ]
    )
    workspace.run([schema("associations"), association("u1", "a1", role="owner")])

    assert workspace.associations() == {("ann@acme.com", "a1"): ["owner", "primary"]}


def test_associations_wait_for_contacts_still_in_a_partial_batch(
    workspace: LocalCRMWorkspace,
) -> None:
    result = workspace.run(
        [
            *schemas(),
            company("a1"),
            contact("u1", "u1@acme.com"),
            contact("u2", "u2@acme.com"),
            contact("u3", "u3@acme.com"),  # stays in the contacts sink's next batch
            association("u3", "a1", role="admin"),
            association("u1", "a1"),  # fills the associations batch: drained now
            association("u2", "a1"),
        ],
        batch_size_rows=2,
    )

    assert result.returncode == 0, result.stderr
    assert workspace.rejects() == []
    assert len(workspace.associations()) == 3


def test_new_enumeration_values_add_options(workspace: LocalCRMWorkspace) -> None:
    workspace.run([*schemas(), contact("u1", "a@x.io", segments="trial", lifecycle_stage="pql")])
    workspace.run([*schemas(), contact("u1", "a@x.io", segments="trial;champion")])

    options = workspace.properties("contacts")["plg_segments"]["options"]
    assert sorted(options) == ["champion", "trial"]
    assert workspace.contacts()["a@x.io"]["plg_segments"] == "trial;champion"


def test_a_contact_twice_in_one_batch_is_applied_in_order(workspace: LocalCRMWorkspace) -> None:
    result = workspace.run(
        [
            *schemas(),
            contact("u1", "ann@acme.com", engagement_score=1),
            contact("u1", "Ann@Acme.com", engagement_score=2),
        ]
    )

    assert result.returncode == 0, result.stderr
    assert workspace.contacts() == {"ann@acme.com": workspace.contacts()["ann@acme.com"]}
    assert workspace.contacts()["ann@acme.com"]["plg_engagement_score"] == "2"


def test_more_records_than_one_crm_call_takes_are_all_written(
    workspace: LocalCRMWorkspace,
) -> None:
    contacts = [contact(f"u{i}", f"user{i}@acme.com") for i in range(250)]
    result = workspace.run([*schemas(), *contacts])

    assert result.returncode == 0, result.stderr
    assert len(workspace.contacts()) == 250


def test_contacts_from_any_tap_need_only_an_email(workspace: LocalCRMWorkspace) -> None:
    foreign = {
        "type": "SCHEMA",
        "stream": "contacts",
        "key_properties": ["id"],
        "schema": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "email": {"type": "string"},
                "firstName": {"type": "string"},
            },
        },
    }
    result = workspace.run(
        [foreign, record("contacts", id=7, email="zoe@shop.io", firstName="Zoë")]
    )

    assert result.returncode == 0, result.stderr
    # firstName also fills HubSpot's own `firstname` (the default native fields)
    assert workspace.contacts()["zoe@shop.io"] == {
        "plg_id": "7",
        "plg_first_name": "Zoë",
        "firstname": "Zoë",
    }


def test_records_that_do_not_fit_their_schema_are_rejected_not_fatal(
    workspace: LocalCRMWorkspace,
) -> None:
    result = workspace.run(
        [
            *schemas(),
            company("a1", engagement_score="high"),
            company("a2", last_active_at="yesterday"),
            company("a3"),
        ]
    )

    assert result.returncode == 0, result.stderr
    assert sorted(workspace.companies()) == ["a3"]
    codes = {r["key"]: r["code"] for r in workspace.rejects()}
    assert codes == {"a1": "INVALID_RECORD", "a2": "INVALID_VALUE"}
    reason = next(r["reason"] for r in workspace.rejects() if r["key"] == "a2")
    assert "last_active_at" in reason


def test_other_streams_are_counted_with_one_warning_and_not_written(
    workspace: LocalCRMWorkspace,
) -> None:
    other = {
        "type": "SCHEMA",
        "stream": "tracks",
        "key_properties": ["messageId"],
        "schema": {"type": "object", "properties": {"messageId": {"type": "string"}}},
    }
    result = workspace.run(
        [other, record("tracks", messageId="m1"), record("tracks", messageId="m2")]
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr.count("Stream 'tracks' is not a CRM stream") == 1
    assert workspace.summary()["ignored_streams"] == {"tracks": 2}
    assert workspace.contacts() == {}


def test_salesforce_is_refused_at_start_up_with_a_clear_error(
    workspace: LocalCRMWorkspace,
) -> None:
    result = workspace.run([*schemas(), contact("u1", "ann@acme.com")], crm="salesforce")

    assert result.returncode == 1
    assert "`crm`: `salesforce` is not supported yet" in result.stderr
    assert not (workspace.folder / "ledger.sqlite").exists()


def test_an_invalid_setting_is_named_in_the_error(workspace: LocalCRMWorkspace) -> None:
    result = workspace.run([*schemas()], property_prefix="PLG-")

    assert result.returncode != 0
    assert "property_prefix" in result.stderr
    assert not (workspace.folder / "crm.sqlite").exists()


def test_state_is_not_emitted_when_the_run_fails_before_writing(
    workspace: LocalCRMWorkspace,
) -> None:
    result = workspace.run(
        [
            *schemas(),
            contact("u1", "ann@acme.com"),
            state({"bookmarks": {"tracks": 1}}),
            record("never_declared", id=1),  # a Singer protocol error ends the run
        ]
    )

    assert result.returncode != 0
    assert result.states == []


def test_a_new_contacts_schema_mid_stream_keeps_contacts_before_associations(
    workspace: LocalCRMWorkspace,
) -> None:
    widened = schema("contacts")
    widened["schema"]["properties"]["title"] = {"type": ["string", "null"]}
    result = workspace.run(
        [
            *schemas(),
            company("a1"),
            contact("u1", "u1@acme.com"),
            widened,  # the SDK replaces the contacts sink here
            contact("u2", "u2@acme.com", title="CTO"),
            association("u1", "a1"),
            association("u2", "a1"),  # fills the associations batch: drained now
        ],
        batch_size_rows=2,
    )

    assert result.returncode == 0, result.stderr
    assert workspace.rejects() == []
    assert len(workspace.associations()) == 2
    assert workspace.contacts()["u2@acme.com"]["plg_title"] == "CTO"


def test_two_users_with_one_email_give_one_stable_contact_and_a_reported_duplicate(
    workspace: LocalCRMWorkspace,
) -> None:
    lines = [
        *schemas(),
        company("a1"),
        contact("u1", "Dana@Acme.com", engagement_score=90),
        contact("u2", "dana@acme.com", engagement_score=51),
        association("u1", "a1", role="admin", email="dana@acme.com"),
        association("u2", "a1", role="viewer", email="dana@acme.com"),
    ]
    first = workspace.run(lines)
    assert first.returncode == 0, first.stderr

    # The first user to claim the e-mail owns the contact; the other is a reported reject,
    # and so is its association, instead of overwriting the owner's labels.
    assert workspace.contacts()["dana@acme.com"]["plg_user_id"] == "u1"
    assert workspace.contacts()["dana@acme.com"]["plg_engagement_score"] == "90"
    assert workspace.associations() == {("dana@acme.com", "a1"): ["admin"]}
    rejects = [(r["stream"], r["record"]["user_id"], r["code"]) for r in workspace.rejects()]
    assert rejects == [
        ("contacts", "u2", "DUPLICATE_EMAIL"),
        ("associations", "u2", "DUPLICATE_EMAIL"),
    ]

    # The same input again changes nothing: the contact does not flip between the users.
    second = workspace.run(lines)
    assert second.returncode == 0, second.stderr
    assert workspace.summary()["objects"]["contacts"]["updated"] == 0
    assert workspace.contacts()["dana@acme.com"]["plg_user_id"] == "u1"


def test_picklists_get_every_option_the_schema_declares_before_values_appear(
    workspace: LocalCRMWorkspace,
) -> None:
    contacts = schema("contacts")
    properties = contacts["schema"]["properties"]
    properties["lifecycle_stage"]["enum"] = ["engaged", "activated", "signed-up", None]
    properties["segments"]["x-options"] = ["power-users", "dormant"]
    result = workspace.run([contacts, contact("u1", "ann@acme.com", lifecycle_stage="engaged")])

    assert result.returncode == 0, result.stderr
    defined = workspace.properties("contacts")
    assert sorted(defined["plg_lifecycle_stage"]["options"]) == [
        "activated",
        "engaged",
        "signed-up",
    ]
    assert sorted(defined["plg_segments"]["options"]) == ["dormant", "power-users"]
    assert workspace.contacts()["ann@acme.com"]["plg_lifecycle_stage"] == "engaged"
