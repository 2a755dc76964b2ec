"""A broken config stops the real CLI before any record is read: one line naming the setting.

Each case runs `target-plg-crm --config config.json` with a small Singer input on stdin
and checks what a user sees: exit code 1, one stderr line that names the setting (and
the name that was probably meant), no traceback, no STATE, no file written (no local
CRM, ledger, rejects or summary), and never the value of a secret.
"""

from __future__ import annotations

from typing import Any

import pytest

from .harness import LocalCRMWorkspace, RunResult, company, contact, schemas, state

TOKEN = "pat-na1-c0nf1g00-t0k3-n3v3r-sh0wn-0000abcd"
HUBSPOT = {"crm": "hubspot", "hubspot_access_token": TOKEN}
MESSAGES = [
    *schemas(),
    company("a1"),
    contact("u1", "ann@acme.com", primary_account_id="a1"),
    state({"bookmarks": {"tracks": 1}}),
]

# (setting named by the line, the config's changes, what the line says)
REFUSALS: dict[str, tuple[str, dict[str, Any], str]] = {
    "typo of dry_run": ("dry_rn", {"dry_rn": True}, "unknown setting; did you mean `dry_run`?"),
    "typo of the token's name": (
        "hubspot_acess_token",
        {"crm": "hubspot", "hubspot_acess_token": TOKEN},
        "unknown setting; did you mean `hubspot_access_token`?",
    ),
    "a word for a boolean": ("dry_run", {"dry_run": "yes"}, 'expected true or false, got "yes"'),
    "a word for a number": (
        "hubspot_max_retries",
        {"hubspot_max_retries": "six"},
        'expected a whole number, got "six"',
    ),
    "a string for a list": (
        "change_ignored_fields",
        {"change_ignored_fields": "as_of"},
        "expected a list",
    ),
    "negative retries": ("hubspot_max_retries", {"hubspot_max_retries": -1}, "at least 0, got -1"),
    "a zero timeout": (
        "hubspot_timeout_seconds",
        {"hubspot_timeout_seconds": 0},
        "must be more than 0, got 0",
    ),
    "a zero batch size": ("batch_size_rows", {"batch_size_rows": 0}, "at least 1, got 0"),
    "a negative progress interval": (
        "progress_interval_seconds",
        {"progress_interval_seconds": -5},
        "must be at least 0, got -5",
    ),
    "an empty file path": ("ledger_path", {"ledger_path": ""}, "must not be empty"),
    "a negative lock wait": (
        "local_lock_wait_seconds",
        {"local_lock_wait_seconds": -1},
        "must be at least 0, got -1",
    ),
    "an unknown on_leave": ("on_leave", {"on_leave": "delete"}, '"delete" is not one of keep'),
    "a misspelt CRM": ("crm", {"crm": "hubspto"}, "did you mean `hubspot`?"),
    "hubspot without a token": (
        "hubspot_access_token",
        {"crm": "hubspot"},
        "required when `crm` is `hubspot`",
    ),
    "hubspot with an empty token": (
        "hubspot_access_token",
        {"crm": "hubspot", "hubspot_access_token": "  "},
        "required when `crm` is `hubspot`",
    ),
    "plain http to a remote host": (
        "hubspot_base_url",
        {**HUBSPOT, "hubspot_base_url": "http://api.hubapi.com"},
        "accepted only for loopback addresses",
    ),
    "credentials in the base URL": (
        "hubspot_base_url",
        {**HUBSPOT, "hubspot_base_url": f"https://me:{TOKEN}@api.hubapi.com"},
        "must not carry credentials",
    ),
    "a number as the token": (
        "hubspot_access_token",
        {"crm": "hubspot", "hubspot_access_token": 4242424242},
        "expected a string, got a secret value",
    ),
    "a prefix HubSpot reserves": (
        "property_prefix",
        {"property_prefix": "hs_"},
        "must not start with `hs_`",
    ),
    "a prefix HubSpot cannot name": (
        "property_prefix",
        {"property_prefix": "PLG-"},
        "does not match the pattern",
    ),
    "a company key HubSpot reserves": (
        "company_id_property",
        {"company_id_property": "hs_account"},
        "must not start with `hs_`",
    ),
    "a number as the run history path": (
        "run_history_path",
        {"run_history_path": 7},
        "expected a string",
    ),
    "the run history in the rejects file": (
        "run_history_path",
        {"run_history_path": "same.jsonl", "rejects_path": "same.jsonl"},
        "is the same file as `rejects_path`",
    ),
    "a company key HubSpot cannot name": (
        "company_id_property",
        {"company_id_property": "p" * 100},
        "at most 99",
    ),
    "a load method a CRM cannot do": (
        "load_method",
        {"load_method": "overwrite"},
        '"overwrite" is not one of upsert',
    ),
    "record metadata as CRM properties": (
        "add_record_metadata",
        {"add_record_metadata": True},
        "not supported by target-plg-crm",
    ),
    "a sync mode that does not exist": (
        "sync_mode",
        {"sync_mode": "insert_only"},
        '"insert_only" is not one of upsert, update_only',
    ),
    "matching by domain before the account id": (
        "company_match",
        {"company_match": ["domain", "account_id"]},
        "must start with `account_id`",
    ),
    "a match key that does not exist": (
        "company_match[1]",
        {"company_match": ["account_id", "website"]},
        '"website" is not one of account_id, domain',
    ),
    "a filter that does not parse": (
        "sync_filter.contacts",
        {"sync_filter": {"contacts": "engagement_score >"}},
        "does not parse: syntax error",
    ),
    "a filter for a stream the target has not": (
        "sync_filter.users",
        {"sync_filter": {"users": "TRUE"}},
        "unknown setting",
    ),
    "two filters in one": (
        "sync_filter.companies",
        {"sync_filter": {"companies": "is_pqa; DROP TABLE x"}},
        "does not parse",
    ),
    "a native field onto one of our own properties": (
        "native_fields.contacts[0].property",
        {"native_fields": {"contacts": [{"field": "title", "property": "plg_title"}]}},
        "one of the target's own properties",
    ),
    "a native field onto HubSpot's system property": (
        "native_fields.companies[0].property",
        {"native_fields": {"companies": [{"field": "x", "property": "hs_lead_status"}]}},
        "cannot be written",
    ),
    "two native fields onto one property": (
        "native_fields.contacts[1].property",
        {
            "native_fields": {
                "contacts": [
                    {"field": "firstName", "property": "firstname"},
                    {"field": "name", "property": "firstname"},
                ]
            }
        },
        "written by another field already",
    ),
    "a native field mode that does not exist": (
        "native_fields.contacts[0].mode",
        {"native_fields": {"contacts": [{"field": "t", "property": "t", "mode": "always"}]}},
        '"always" is not one of if_empty, overwrite',
    ),
}


def _assert_refused(workspace: LocalCRMWorkspace, result: RunResult) -> None:
    """Exit 1, no traceback, no STATE, no secret, nothing but the config in the folder."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # no STATE
    assert TOKEN not in result.stderr and "4242424242" not in result.stderr
    assert sorted(p.name for p in workspace.folder.iterdir()) == ["config.json"]


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_broken_setting_is_refused_in_one_line_before_anything_is_written(
    workspace: LocalCRMWorkspace, case: str
) -> None:
    setting, changes, says = REFUSALS[case]

    result = workspace.run(MESSAGES, **changes)

    _assert_refused(workspace, result)
    naming = [line for line in result.stderr.splitlines() if f"`{setting}`:" in line]
    assert len(naming) == 1, result.stderr
    assert says in naming[0]


def test_every_problem_of_a_config_is_named_at_once(workspace: LocalCRMWorkspace) -> None:
    result = workspace.run(MESSAGES, dry_rn=True, crm="hubspto", hubspot_max_retries=-2)

    _assert_refused(workspace, result)
    assert "`dry_rn`: unknown setting; did you mean `dry_run`?" in result.stderr
    assert "`crm`: " in result.stderr and "did you mean `hubspot`?" in result.stderr
    assert "`hubspot_max_retries`: must be at least 0, got -2" in result.stderr


def test_null_means_unset_and_the_sdk_settings_stay_accepted(
    workspace: LocalCRMWorkspace,
) -> None:
    users = {**schemas()[1], "stream": "users"}
    result = workspace.run(
        [users, {"type": "RECORD", "stream": "users", "record": contact("u1", "a@b.co")["record"]}],
        property_prefix=None,  # null: the default `plg_`
        stream_maps={"users": {"__alias__": "contacts"}},
        batch_size_rows=10,
        validate_records=True,
        load_method="upsert",
    )

    assert result.returncode == 0, result.stderr
    assert workspace.contacts()["a@b.co"]["plg_user_id"] == "u1"


def test_flattening_writes_nested_fields_as_properties_of_their_own(
    workspace: LocalCRMWorkspace,
) -> None:
    nested = {
        "type": "SCHEMA",
        "stream": "contacts",
        "key_properties": ["email"],
        "schema": {
            "type": "object",
            "properties": {
                "email": {"type": "string"},
                "plan": {"type": "object", "properties": {"name": {"type": "string"}}},
            },
        },
    }
    record = {"type": "RECORD", "stream": "contacts", "record": {"email": "a@b.co"}}
    record["record"]["plan"] = {"name": "pro"}

    result = workspace.run([nested, record], flattening_enabled=True, flattening_max_depth=1)

    assert result.returncode == 0, result.stderr
    assert workspace.contacts()["a@b.co"] == {"plg_plan_name": "pro"}
