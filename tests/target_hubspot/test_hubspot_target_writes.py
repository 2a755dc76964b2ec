"""What the target writes to HubSpot (the emulator), through the real console script."""

from __future__ import annotations

from ..target_local.harness import association, company, contact, schemas, state
from .harness import TOKEN, TOKEN_CHECK, HubSpotWorkspace, crm_calls
from .hubspot_emulator import HubSpotEmulator

WRITES = ("batch/upsert", "batch/create", "labels", "groups", "archive")


def _writes(hubspot: HubSpotEmulator) -> list[str]:
    return [
        f"{c.method} {c.path}"
        for c in crm_calls(hubspot.calls)
        if c.method != "GET" and not c.path.endswith("batch/read")
    ]


def _pipeline() -> list[dict]:
    """Transform-shaped input: companies, contacts, associations, then STATE."""
    return [
        *schemas(),
        company("a1", segments="hot;expansion", lifecycle_stage="customer", engagement_score=72),
        company("a2", is_pqa=True, activation_rate=0.125),
        contact("u1", "Ann@Acme.com", primary_account_id="a1", segments="power_user"),
        contact("u2", "bob@acme.com", primary_account_id="a2", lifecycle_stage="pql"),
        association("u1", "a1", role="Billing Owner"),
        association("u1", "a2", role="admin"),
        association("u2", "a2"),
        state({"bookmarks": {"tracks": "2026-03-02"}}),
    ]


def test_properties_are_created_in_the_group_with_types_that_fit_the_fields(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    result = workspace.run(_pipeline())
    assert result.returncode == 0, result.stderr

    companies = hubspot.properties("companies")
    assert companies["plg_account_id"]["hasUniqueValue"] is True
    kinds = {n: (p["type"], p["fieldType"]) for n, p in companies.items()}
    assert kinds["plg_engagement_score"] == ("number", "number")
    assert kinds["plg_is_pqa"] == ("bool", "booleancheckbox")
    assert kinds["plg_last_active_at"] == ("datetime", "date")
    assert kinds["plg_name"] == ("string", "text")
    assert kinds["plg_segments"] == ("enumeration", "checkbox")
    assert kinds["plg_lifecycle_stage"] == ("enumeration", "select")
    assert sorted(o["value"] for o in companies["plg_segments"]["options"]) == [
        "expansion",
        "hot",
    ]
    assert {p["groupName"] for n, p in companies.items() if n.startswith("plg_")} == {
        "product_usage"
    }
    assert "product_usage" in hubspot.groups("companies")
    assert "product_usage" in hubspot.groups("contacts")
    contacts = hubspot.properties("contacts")
    assert [o["value"] for o in contacts["plg_lifecycle_stage"]["options"]] == ["pql"]
    assert "plg_email" not in contacts


def test_every_field_lands_on_its_own_record_as_a_string(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    result = workspace.run(_pipeline())
    assert result.returncode == 0, result.stderr

    acme = hubspot.companies()["a1"]
    assert acme["plg_engagement_score"] == "72"
    assert acme["plg_segments"] == "hot;expansion"
    assert acme["plg_lifecycle_stage"] == "customer"
    assert acme["plg_last_active_at"] == "2026-03-01T12:30:05Z"
    other = hubspot.companies()["a2"]
    assert (other["plg_is_pqa"], other["plg_activation_rate"]) == ("true", "0.125")
    assert "plg_lifecycle_stage" not in other  # null is never stored
    contacts = hubspot.contacts()
    assert sorted(contacts) == ["ann@acme.com", "bob@acme.com"]  # lower-cased by HubSpot
    assert contacts["ann@acme.com"]["plg_user_id"] == "u1"
    assert contacts["ann@acme.com"]["plg_segments"] == "power_user"
    assert contacts["bob@acme.com"]["plg_user_id"] == "u2"
    assert contacts["bob@acme.com"]["plg_lifecycle_stage"] == "pql"
    assert result.states == [{"bookmarks": {"tracks": "2026-03-02"}}]


def test_results_without_keys_are_matched_by_reading_never_by_order(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    hubspot.bare_results = True  # upsert results name neither trace id nor key
    messages = [
        *schemas(),
        *[company(f"a{i}", engagement_score=i) for i in range(30)],
        *[contact(f"u{i}", f"user{i}@acme.com", primary_account_id=f"a{i}") for i in range(30)],
        *[association(f"u{i}", f"a{i}") for i in range(30)],
    ]

    result = workspace.run(messages)

    assert result.returncode == 0, result.stderr
    assert {hubspot.companies()[f"a{i}"]["plg_engagement_score"] for i in range(30)} == {
        str(i) for i in range(30)
    }
    assert all(
        links == {"", "Primary"} and email == f"user{key[1:]}@acme.com"
        for (email, key), links in hubspot.associations().items()
    )
    assert len(hubspot.associations()) == 30
    assert len(hubspot.calls_to("batch/read")) == 2  # one per upsert batch


def test_associations_carry_the_role_label_primary_and_the_unlabeled_type(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    result = workspace.run(_pipeline())
    assert result.returncode == 0, result.stderr

    assert hubspot.associations() == {
        ("ann@acme.com", "a1"): {"", "Primary", "Billing owner"},
        ("ann@acme.com", "a2"): {"", "Admin"},
        ("bob@acme.com", "a2"): {"", "Primary"},
    }
    assert len(hubspot.calls_to("/labels", "POST")) == 2  # one per role, created once


def test_a_clean_run_costs_one_call_per_hundred_records_plus_setup(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    messages = [
        *schemas(),
        *[company(f"a{i}") for i in range(150)],
        *[
            contact(f"u{i}", f"user{i}@acme.com", primary_account_id=f"a{i % 150}")
            for i in range(250)
        ],
        *[association(f"u{i}", f"a{i % 150}", role="admin") for i in range(250)],
    ]
    result = workspace.run(messages)
    assert result.returncode == 0, result.stderr

    assert len(hubspot.calls_to("/objects/companies/batch/upsert")) == 2
    assert len(hubspot.calls_to("/objects/contacts/batch/upsert")) == 3
    assert len(hubspot.calls_to("/associations/contacts/companies/batch/create")) == 3
    assert len(hubspot.calls_to("/crm/v3/properties/companies", "GET")) == 1
    assert len(hubspot.calls_to("/crm/v3/properties/contacts", "GET")) == 1
    # ids come from the upserts; plg_account_id is new, so no company can hold one yet
    assert len(hubspot.calls_to("batch/read")) == 0
    # domain matching lists the portal's companies once (100 a page): empty here
    assert len(hubspot.calls_to("/crm/v3/objects/companies", "GET")) == 1
    # setup: token check, 2 property lists, 2 groups, 2 property batches, labels list + 1
    assert len(hubspot.calls) == 1 + 2 + 3 + 3 + 2 + 2 + 2 + 2 + 1
    assert f"{hubspot.calls[0].method} {hubspot.calls[0].path}" == TOKEN_CHECK
    assert len(hubspot.associations()) == 250


def test_a_second_run_with_nothing_new_makes_no_call(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    assert workspace.run(_pipeline()).returncode == 0
    calls_after_first = len(hubspot.calls)

    result = workspace.run(_pipeline())

    assert result.returncode == 0, result.stderr
    # The token check only: no read, no write.
    assert [f"{c.method} {c.path}" for c in hubspot.calls[calls_after_first:]] == [TOKEN_CHECK]
    assert workspace.summary()["objects"]["contacts"]["unchanged"] == 2
    assert workspace.summary()["objects"]["associations"]["unchanged"] == 3
    assert result.states == [{"bookmarks": {"tracks": "2026-03-02"}}]


def test_only_the_changed_record_is_written_again(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    assert workspace.run(_pipeline()).returncode == 0
    before = len(hubspot.calls)
    changed = _pipeline()
    changed[3] = company("a1", segments="hot;churn_risk", lifecycle_stage="customer")

    result = workspace.run(changed)

    assert result.returncode == 0, result.stderr
    new_calls = crm_calls(hubspot.calls[before:])
    upserts = [c for c in new_calls if c.path.endswith("batch/upsert")]
    assert [len(c.body["inputs"]) for c in upserts] == [1]
    assert hubspot.companies()["a1"]["plg_segments"] == "hot;churn_risk"
    # the new option was added to the existing property; one batch read checks the
    # company's own `name` and `domain` before filling them (native fields, if_empty)
    assert [f"{c.method} {c.path.rsplit('/', 1)[-1]}" for c in new_calls] == [
        "GET companies",
        "PATCH plg_segments",
        "POST read",
        "POST upsert",
    ]
    assert "churn_risk" in {
        o["value"] for o in hubspot.properties("companies")["plg_segments"]["options"]
    }


def test_a_role_change_moves_the_label_and_archives_the_old_one(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    assert workspace.run(_pipeline()).returncode == 0
    changed = _pipeline()
    changed[8] = association("u1", "a2", role="Billing Owner")  # was admin
    changed[5] = contact("u1", "ann@acme.com", primary_account_id="a2", segments="power_user")

    result = workspace.run(changed)

    assert result.returncode == 0, result.stderr
    assert hubspot.associations() == {
        ("ann@acme.com", "a1"): {"", "Billing owner"},
        ("ann@acme.com", "a2"): {"", "Primary", "Billing owner"},
        ("bob@acme.com", "a2"): {"", "Primary"},
    }
    assert len(hubspot.calls_to("batch/labels/archive")) == 1
    assert workspace.summary()["objects"]["associations"]["updated"] == 2


def test_association_labels_false_writes_only_unlabeled_and_primary(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    result = workspace.run(_pipeline(), association_labels=False)

    assert result.returncode == 0, result.stderr
    assert hubspot.associations()[("ann@acme.com", "a2")] == {""}
    assert hubspot.associations()[("ann@acme.com", "a1")] == {"", "Primary"}
    assert hubspot.calls_to("/labels") == []


def test_invalid_emails_are_rejected_with_their_reason_and_retried_next_run(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    hubspot.refused_emails = {"bob@acme.com"}
    messages = [
        *schemas(),
        contact("u1", "ann@acme.com"),
        contact("u2", "not-an-email"),  # the target's own check (HubSpot's rule)
        contact("u3", "bob@acme.com"),  # well formed: only HubSpot itself refuses it
        contact("u4", None),
    ]
    result = workspace.run(messages)

    assert result.returncode == 0, result.stderr
    assert sorted(hubspot.contacts()) == ["ann@acme.com"]
    rejects = {r["record"]["user_id"]: r for r in workspace.rejects()}
    assert rejects["u2"]["code"] == "INVALID_EMAIL"
    assert rejects["u3"]["code"] == "INVALID_EMAIL"
    assert "bob@acme.com" in rejects["u3"]["reason"]
    assert rejects["u4"]["code"] == "MISSING_EMAIL"
    assert len(hubspot.calls_to("contacts/batch/upsert")) == 1  # a 207, not a split

    again = workspace.run(messages)
    assert again.returncode == 0, again.stderr
    assert len(workspace.rejects()) == 3  # the latest run's rejects, not a growing log
    assert workspace.summary()["objects"]["contacts"]["unchanged"] == 1


def test_a_batch_refused_whole_is_split_to_isolate_the_bad_record(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    hubspot.trace_ids_ignored = True  # one bad input fails the whole batch with a 400
    hubspot.refused_emails = {"bad@acme.com"}  # well formed: only HubSpot knows it is bad
    messages = [
        *schemas(),
        *[contact(f"u{i}", f"user{i}@acme.com") for i in range(8)],
        contact("bad", "bad@acme.com"),
    ]

    result = workspace.run(messages)

    assert result.returncode == 0, result.stderr
    assert len(hubspot.contacts()) == 8
    assert [r["record"]["user_id"] for r in workspace.rejects()] == ["bad"]
    assert workspace.rejects()[0]["code"] == "INVALID_EMAIL"
    # The 400 names the address: the rest is sent again at once, no halving needed.
    assert len(hubspot.calls_to("contacts/batch/upsert")) == 2


def test_a_batch_refused_whole_without_naming_the_record_is_halved_until_it_stands_alone(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    hubspot.trace_ids_ignored = True
    hubspot.add_property("contacts", "plg_lifecycle_stage", "enumeration", "select")
    hubspot.inject("400", path_contains="/plg_lifecycle_stage")  # new option refused
    messages = [*schemas(), *[contact(f"u{i}", f"user{i}@acme.com") for i in range(8)]]
    messages[5] = contact("u2", "user2@acme.com", lifecycle_stage="pql")

    result = workspace.run(messages)

    assert result.returncode == 0, result.stderr
    assert "refused new options ['pql']" in result.stderr
    assert sorted(hubspot.contacts()) == sorted(f"user{i}@acme.com" for i in range(8) if i != 2)
    assert [(r["record"]["user_id"], r["code"]) for r in workspace.rejects()] == [
        ("u2", "INVALID_OPTION")
    ]
    # 8 -> 4 + 4 -> 2 + 2 -> 1 + 1: the bad record alone, the others written.
    assert len(hubspot.calls_to("contacts/batch/upsert")) == 7


def test_an_existing_property_of_another_type_is_reported_and_its_field_skipped(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    hubspot.add_property("companies", "plg_is_pqa", "datetime", "date")

    result = workspace.run(_pipeline())

    assert result.returncode == 0, result.stderr
    assert "plg_is_pqa" in result.stderr and "not written" in result.stderr
    assert hubspot.properties("companies")["plg_is_pqa"]["type"] == "datetime"
    assert "plg_is_pqa" not in hubspot.companies()["a2"]
    assert hubspot.companies()["a2"]["plg_activation_rate"] == "0.125"
    assert workspace.rejects() == []

    # Next run: the property list is read again, but no record is rewritten for it.
    before = len(hubspot.calls)
    assert workspace.run(_pipeline()).returncode == 0
    assert [c.path for c in crm_calls(hubspot.calls[before:])] == ["/crm/v3/properties/companies"]


def test_dry_run_reads_but_writes_nothing(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    result = workspace.run(_pipeline(), dry_run=True)

    assert result.returncode == 0, result.stderr
    assert _writes(hubspot) == []
    assert "plan: create contacts ann@acme.com: " in result.stderr
    assert "plan: create association u1@a1 (contact new:ann@acme.com, company new:a1)" in (
        result.stderr
    )
    # Only the plan and the run history record the dry run.
    assert sorted(p.name for p in workspace.folder.iterdir()) == [
        "config.json",
        "plan.json",
        "run-history.jsonl",
    ]
    assert workspace.run_history()[0]["dry_run"] is True


def test_the_token_appears_nowhere_the_target_writes(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    hubspot.inject("500", "423", path_contains="upsert")
    messages = [*_pipeline(), contact("u9", "bad@acme..com")]

    result = workspace.run(messages)  # the harness checks stdout and stderr

    assert result.returncode == 0, result.stderr
    assert workspace.rejects()
    assert TOKEN not in workspace.everything_written()


def test_a_wrong_token_stops_the_run_without_showing_any_token(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    wrong = "pat-na1-wrong000-0000-0000-0000-000000000000"

    result = workspace.run(_pipeline(), hubspot_access_token=wrong)

    assert result.returncode != 0
    assert "hubspot_access_token" in result.stderr
    assert wrong not in result.stderr and wrong not in result.stdout
    assert result.states == []


def test_settings_are_checked_at_start_up_and_named_in_the_error(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    plain = workspace.run(_pipeline(), hubspot_base_url="http://api.hubapi.com")
    assert plain.returncode != 0
    assert "hubspot_base_url" in plain.stderr and "loopback" in plain.stderr

    missing = workspace.run(_pipeline(), hubspot_access_token="")
    assert missing.returncode != 0
    assert "`hubspot_access_token`: required" in missing.stderr
    assert hubspot.calls == []
