"""Rules on data they cannot read: missing metrics read NULL, bad values fail per record."""

from __future__ import annotations

import json
import re

from .conftest import record, track


def group(mid: str, user: str, account: str, **traits: object) -> str:
    """A `groups` RECORD line."""
    return record(
        "groups",
        type="group",
        messageId=mid,
        userId=user,
        groupId=account,
        timestamp="2026-03-10T00:00:00Z",
        traits=traits,
    )


def metric(account: str, name: str, value: object) -> str:
    """A backend metric of an account."""
    return record(
        "metrics",
        entity="account",
        user_id=None,
        account_id=account,
        metric=name,
        value=value,
        observed_at="2026-03-01T00:00:00Z",
    )


NO_METRIC_CONFIG = {
    "lifecycle": [{"stage": "s", "when": "metric_seats_used >= 1", "applies_to": "account"}],
    "as_of": "2026-03-15T12:00:00Z",
}


def test_a_rule_on_a_metric_no_data_has_provided_reads_null(run_transform):
    out = run_transform([group("g1", "u1", "a1")], NO_METRIC_CONFIG)
    company = out.by_key("companies")["a1"]
    assert company["lifecycle_stage"] is None
    assert "metric_seats_used" not in company  # no data, no field
    # Once the metric arrives the same rule reads it.
    later = run_transform([metric("a1", "seats_used", 3)], NO_METRIC_CONFIG)
    assert later.by_key("companies")["a1"]["lifecycle_stage"] == "s"
    assert later.by_key("companies")["a1"]["metric_seats_used"] == 3


def test_empty_input_with_metric_rules_emits_schemas_and_state_only(run_transform):
    out = run_transform([json.dumps({"type": "STATE", "value": {"b": 1}})], NO_METRIC_CONFIG)
    assert out.returncode == 0
    assert out.records == {}
    assert [m["type"] for m in out.messages] == ["SCHEMA", "SCHEMA", "SCHEMA", "STATE"]


MIXED_CONFIG = {
    "as_of": "2026-03-15T12:00:00Z",
    "account_traits": ["employees", "plan"],
    "pqa": "metric_seats >= 0.5 * metric_limit",
    "segments": [
        {"name": "all", "when": "true", "applies_to": "account"},
        {"name": "paying", "when": "plan = 'pro'", "applies_to": "account"},
        {"name": "big", "when": "employees > 100", "applies_to": "account"},
        {"name": "deep", "when": "CAST(plan AS INTEGER) > 1", "applies_to": "account"},
    ],
    "lifecycle": [{"stage": "any", "when": "total_users >= 1", "applies_to": "account"}],
}


def test_a_value_of_another_type_fails_the_rule_for_that_record_only(run_transform):
    out = run_transform(
        [
            group("g1", "u1", "a1", employees=120, plan="pro"),
            group("g2", "u2", "a2", employees="lots", plan="pro"),
            group("g3", "u3", "a3", plan="3"),  # no employees: NULL, not a failure
            group("g4", "u4", "a4", employees=99.5, plan=2),
            metric("a1", "seats", 8),
            metric("a1", "limit", 10),
            metric("a2", "seats", "many"),
            metric("a2", "limit", 10),
        ],
        MIXED_CONFIG,
    )
    assert out.returncode == 0
    companies = out.by_key("companies")
    assert {a: c["segments"] for a, c in companies.items()} == {
        "a1": "all;paying;big",
        "a2": "all;paying",  # employees "lots" cannot compare with 100: false
        "a3": "all;deep",
        "a4": "all;deep",  # plan 2 is not 'pro' (a number vs text): false
    }
    assert {a: c["is_pqa"] for a, c in companies.items()} == {
        "a1": True,
        "a2": False,
        "a3": False,
        "a4": False,
    }
    assert all(c["lifecycle_stage"] == "any" for c in companies.values())
    assert companies["a2"]["employees"] == "lots"  # values keep their JSON type
    warnings = [x for x in out.log.splitlines() if "could not be evaluated" in x]
    by_rule = {re.search(r"rule (\S+)", x).group(1): x for x in warnings}  # type: ignore[union-attr]
    assert set(by_rule) == {"segments[1].when", "segments[2].when", "segments[3].when", "pqa"}
    assert "for 1 companies record(s)" in by_rule["segments[2].when"]
    assert "account_id=a2" in by_rule["segments[2].when"]
    assert "account_id=a4" in by_rule["segments[1].when"]
    assert "account_id=a1" in by_rule["segments[3].when"]  # CAST('pro' AS INTEGER)
    assert "for 2 companies" in by_rule["segments[3].when"]
    assert "account_id=a2" in by_rule["pqa"]


def test_rule_failures_never_stop_the_run_or_touch_other_kinds(run_transform):
    config = {
        "user_traits": ["age"],
        "pql": "age >= 18",
        "segments": [{"name": "everyone", "when": "true"}],
    }
    out = run_transform(
        [
            record(
                "identifies",
                messageId="i1",
                userId="u1",
                timestamp="2026-02-01",
                traits={"age": 30},
            ),
            record(
                "identifies",
                messageId="i2",
                userId="u2",
                timestamp="2026-02-01",
                traits={"age": {"years": 30}},
            ),
            track("t1", "u2", "Run", "2026-02-20T10:00:00Z", "acc"),
        ],
        config,
    )
    contacts = out.by_key("contacts")
    assert (contacts["u1"]["is_pql"], contacts["u2"]["is_pql"]) == (True, False)
    assert {c["segments"] for c in contacts.values()} == {"everyone"}
    assert contacts["u2"]["age"] == {"years": 30}
    assert "rule pql ('age >= 18') could not be evaluated for 1 contacts" in out.log
    assert "user_id=u2" in out.log
    assert out.by_key("companies")["acc"]["engagement_score"] == 90


def test_a_rule_with_a_volatile_function_still_fails_per_record(run_transform):
    # DuckDB's TRY cannot wrap random(): such rules fall back to one record at a time.
    config = {
        "as_of": "2026-03-15T12:00:00Z",
        "account_traits": ["plan"],
        "pqa": "random() >= 0 AND CAST(plan AS INTEGER) > 1",
    }
    out = run_transform(
        [group("g1", "u1", "a1", plan="pro"), group("g2", "u2", "a2", plan="3")], config
    )
    companies = out.by_key("companies")
    assert (companies["a1"]["is_pqa"], companies["a2"]["is_pqa"]) == (False, True)
    assert "rule pqa" in out.log and "account_id=a1" in out.log
