"""What gets written: `sync_filter`, `update_only`, native fields and association labels.

Runs the real console script on the local CRM; the same rules apply to HubSpot (see
tests/target_hubspot/test_hubspot_existing_portal.py).
"""

from __future__ import annotations

from .harness import LocalCRMWorkspace, association, company, contact, schema, schemas, state

FILTER = {"contacts": "engagement_score > 50 OR is_pql", "companies": "is_pqa OR active_users >= 3"}


def _input() -> list[dict]:
    return [
        *schemas(),
        company("a1", active_users=5),
        company("a2", active_users=1, is_pqa=False),
        contact("u1", "ann@acme.com", primary_account_id="a1", engagement_score=80),
        contact("u2", "bob@acme.com", primary_account_id="a1", engagement_score=10),
        contact("u3", "cid@acme.com", primary_account_id="a1", engagement_score=0, is_pql=True),
        contact("u4", None, engagement_score=0),  # no e-mail, but filtered: not a reject
        association("u1", "a1", role="admin"),
        association("u2", "a1"),
        association("u1", "a2"),
        state({"bookmarks": {"tracks": 1}}),
    ]


def test_records_the_filter_leaves_out_are_counted_not_rejected_nor_associated(
    workspace: LocalCRMWorkspace,
) -> None:
    result = workspace.run(_input(), sync_filter=FILTER)

    assert result.returncode == 0, result.stderr
    assert sorted(workspace.contacts()) == ["ann@acme.com", "cid@acme.com"]
    assert sorted(workspace.companies()) == ["a1"]
    assert list(workspace.associations()) == [("ann@acme.com", "a1")]
    assert workspace.rejects() == []
    objects = workspace.summary()["objects"]
    assert objects["contacts"]["filtered"] == 2
    assert objects["companies"]["filtered"] == 1
    assert objects["associations"]["filtered"] == 2  # bob's and the one to a2
    assert "contacts: 2 created, 0 updated, 0 unchanged, 0 rejected, 2 filtered" in result.stderr
    assert result.states == [{"bookmarks": {"tracks": 1}}]


def test_an_association_filter_reads_the_association_record(
    workspace: LocalCRMWorkspace,
) -> None:
    result = workspace.run(_input(), sync_filter={"associations": "role IS NOT NULL"})

    assert result.returncode == 0, result.stderr
    assert list(workspace.associations()) == [("ann@acme.com", "a1")]
    assert workspace.summary()["objects"]["associations"]["filtered"] == 2


def test_a_filter_naming_a_field_the_stream_lacks_stops_the_run_in_one_line(
    workspace: LocalCRMWorkspace,
) -> None:
    result = workspace.run(_input(), sync_filter={"contacts": "engagment_score > 5"})

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "sync_filter.contacts" in line]
    assert len(lines) == 1 and "unknown field(s) ['engagment_score']" in lines[0]
    assert result.stdout == ""
    assert not (workspace.folder / "crm.sqlite").exists() or workspace.contacts() == {}


def test_a_filter_that_fails_on_a_value_leaves_just_that_record_out(
    workspace: LocalCRMWorkspace,
) -> None:
    messages = [
        *schemas(),
        company("a1", metric_plan="7"),
        company("a2", metric_plan="pro"),
    ]

    result = workspace.run(messages, sync_filter={"companies": "CAST(metric_plan AS INT) > 3"})

    assert result.returncode == 0, result.stderr
    assert sorted(workspace.companies()) == ["a1"]
    assert "sync_filter.companies could not be evaluated for 1 companies record(s)" in (
        result.stderr
    )


def test_update_only_creates_nothing_and_updates_what_exists(
    workspace: LocalCRMWorkspace,
) -> None:
    assert workspace.run([*schemas(), contact("u1", "ann@acme.com")]).returncode == 0

    result = workspace.run(
        [*schemas(), contact("u1", "ann@acme.com", engagement_score=99), contact("u2", "b@x.io")],
        sync_mode="update_only",
    )

    assert result.returncode == 0, result.stderr
    assert sorted(workspace.contacts()) == ["ann@acme.com"]
    assert workspace.contacts()["ann@acme.com"]["plg_engagement_score"] == "99"
    assert workspace.summary()["objects"]["contacts"]["skipped"] == 1
    assert workspace.rejects() == []


def test_native_fields_write_the_crms_own_properties(workspace: LocalCRMWorkspace) -> None:
    contacts = schema("contacts")
    contacts["schema"]["properties"]["firstName"] = {"type": ["string", "null"]}
    messages = [
        schema("companies"),
        contacts,
        company("a1", name="Acme", domain="acme.com"),
        contact("u1", "ann@acme.com", firstName="Ann"),
    ]

    result = workspace.run(messages)

    assert result.returncode == 0, result.stderr
    assert workspace.contacts()["ann@acme.com"]["firstname"] == "Ann"
    assert workspace.contacts()["ann@acme.com"]["plg_first_name"] == "Ann"
    assert workspace.companies()["a1"]["name"] == "Acme"
    assert workspace.companies()["a1"]["domain"] == "acme.com"


def test_label_fields_follow_their_values_champion_and_segments(
    workspace: LocalCRMWorkspace,
) -> None:
    fields = {"association_label_fields": ["role", "is_champion", "segments"]}
    first = [
        *schemas(),
        company("a1"),
        contact("u1", "ann@acme.com", primary_account_id="a1"),
        association("u1", "a1", role="Admin", is_champion=True, segments="power users;beta"),
    ]
    assert workspace.run(first, **fields).returncode == 0
    assert workspace.associations()[("ann@acme.com", "a1")] == [
        "admin",
        "beta",
        "champion",
        "power_users",
        "primary",
    ]

    later = [*first[:-1], association("u1", "a1", role="Admin", is_champion=False, segments="")]
    assert workspace.run(later, **fields).returncode == 0

    assert workspace.associations()[("ann@acme.com", "a1")] == ["admin", "primary"]
