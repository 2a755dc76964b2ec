"""Activation, adoption, champions, traits, rules and backend metrics; config errors."""

from __future__ import annotations

import pytest
from plg_transform.mapper import PLGTransform
from singer_sdk.exceptions import ConfigValidationError

from .conftest import record, track


def test_activation_adoption_champion_primary_traits_rules_and_metrics(run_transform):
    config = {
        "events": {
            "Create": {"weight": 3, "feature": "create"},
            "Share": {"weight": 1, "feature": "share"},
            "Export": {"weight": 1, "feature": "export"},
        },
        "activation": {
            "milestones": [
                {"name": "first", "event": "Create"},
                {"name": "third", "event": "Create", "count": 3},
            ]
        },
        "user_traits": ["plan"],
        "account_traits": ["tier"],
        "score_reference": {"user": 6, "account": 6, "membership": 6},
        "pql": "activated AND plan = 'pro'",
        "pqa": "metric_seats_used >= 0.8 * metric_seat_limit",
        "segments": [
            {"name": "power", "when": "engagement_score >= 90"},
            {"name": "any", "when": "true"},
            {"name": "nomet", "when": "metric_unknown > 1"},
            {"name": "big", "when": "total_users >= 2", "applies_to": "account"},
            {"name": "admins", "when": "role = 'admin'", "applies_to": "membership"},
        ],
        "lifecycle": [
            {"stage": "active", "when": "active_days >= 2"},
            {"stage": "new", "when": "tenure_days < 100"},
        ],
    }
    lines = [
        record(
            "identifies",
            messageId="i1",
            userId="u1",
            timestamp="2026-02-01T00:00:00Z",
            traits={"email": " A@B.io ", "plan": "pro", "createdAt": "2025-12-01"},
        ),
        record(
            "identifies",
            messageId="i2",
            userId="u1",
            timestamp="2026-02-02T00:00:00Z",
            traits={"plan": "free"},
        ),
        record(
            "identifies",
            messageId="i3",
            userId="u1",
            timestamp="2026-02-02T00:00:00Z",
            traits={"plan": "pro"},
        ),  # same time, larger messageId -> wins
        record(
            "groups",
            messageId="g1",
            userId="u1",
            groupId="acc",
            timestamp="2026-02-01",
            traits={"name": "Acme", "domain": "WWW.Acme.io", "tier": 2, "role": "admin"},
        ),
        record(
            "groups",
            messageId="g2",
            userId="u2",
            groupId="acc",
            timestamp="2026-02-01",
            traits={"role": "member"},
        ),
        record(
            "groups",
            messageId="g3",
            userId="u1",
            groupId="beta",
            timestamp="2026-02-01",
            traits={"website": "beta.example.com/home"},
        ),
        track("c1", "u1", "Create", "2026-02-20T09:00:00Z", "acc"),
        track("c2", "u2", "Create", "2026-02-21T09:00:00Z", "acc"),
        track("c3", "u1", "Create", "2026-02-22T09:00:00Z", "acc"),
        track("s1", "u1", "Share", "2026-02-22T10:00:00Z", "acc"),
        track("x1", "u2", "Export", "2026-01-02T10:00:00Z", "acc"),  # outside the window
        record(
            "metrics",
            entity="account",
            account_id="acc",
            metric="seats_used",
            value=8,
            observed_at="2026-02-01T00:00:00Z",
        ),
        record(
            "metrics",
            entity="account",
            account_id="acc",
            metric="seats_used",
            value=9,
            observed_at="2026-02-03T00:00:00Z",
        ),
        record(
            "metrics",
            entity="account",
            account_id="acc",
            metric="seat_limit",
            value=10,
            observed_at="2026-02-01T00:00:00Z",
        ),
        record(
            "metrics",
            entity="user",
            user_id="u1",
            metric="projects",
            value="many",
            observed_at="2026-02-01T00:00:00Z",
        ),
    ]
    out = run_transform(lines, config)
    u1 = out.by_key("contacts")["u1"]
    assert u1["email"] == "a@b.io"
    assert u1["plan"] == "pro"
    assert u1["metric_projects"] == "many"
    assert u1["first_seen_at"] == "2025-12-01T00:00:00Z"
    assert u1["tenure_days"] == 90  # 2025-12-01 -> 2026-03-01T12:00
    assert u1["activation_steps_completed"] == 1  # only 2 Create of u1
    assert u1["activation_rate"] == 0.5
    assert u1["activated"] is False and u1["activated_at"] is None
    assert u1["features_used"] == "create;share"
    assert u1["adoption_rate"] == pytest.approx(2 / 3)
    assert u1["primary_account_id"] == "acc"  # acc raw 7 beats beta raw 0
    assert u1["is_pql"] is False
    assert u1["segments"] == "power;any"  # raw 7 > ref 6
    assert u1["lifecycle_stage"] == "active"
    acc = out.by_key("companies")["acc"]
    # account: 3 Create across users; the third one completes both milestones
    assert acc["activated"] is True and acc["activated_at"] == "2026-02-22T09:00:00Z"
    assert acc["name"] == "Acme" and acc["domain"] == "acme.io" and acc["tier"] == 2
    assert acc["total_users"] == 2 and acc["active_users"] == 2
    assert acc["champion_user_id"] == "u1"
    assert acc["metric_seats_used"] == 9 and acc["is_pqa"] is True
    assert acc["segments"] == "big"
    assert out.by_key("companies")["beta"]["domain"] == "beta.example.com"
    assert out.by_key("companies")["beta"]["champion_user_id"] is None
    pair = out.by_key("associations")
    assert pair[("u1", "acc")]["role"] == "admin" and pair[("u1", "acc")]["is_champion"] is True
    assert pair[("u1", "acc")]["segments"] == "admins"
    assert pair[("u2", "acc")]["is_champion"] is False
    assert pair[("u1", "beta")]["role"] is None


def test_champion_ties_go_to_higher_raw_then_smaller_user_id(run_transform):
    lines = [
        track("1", "b", "Run", "2026-02-25T10:00:00Z", "acc"),
        track("2", "a", "Run", "2026-02-25T10:00:00Z", "acc"),
        track("3", "a", "Run", "2026-02-25T10:00:00Z", "acc2"),
        track("4", "c", "Run", "2026-02-25T10:00:00Z", "acc2"),
    ]
    out = run_transform(lines)
    assert out.by_key("companies")["acc"]["champion_user_id"] == "a"
    # a: acc and acc2 tie on score and raw -> smaller account_id
    assert out.by_key("contacts")["a"]["primary_account_id"] == "acc"


def _errors(config: dict) -> list[str]:
    with pytest.raises(ConfigValidationError) as info:
        PLGTransform(config=config)
    return info.value.errors


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"events": {"Run": {"weight": -1}}}, "`events.Run.weight`: must be at least 0, got -1"),
        ({"events": {"Run": {"weight": 1, "colour": "x"}}}, "`events.Run.colour`: unknown setting"),
        (
            {"segments": [{"name": "a", "when": "true"}, {"name": "a", "when": "true"}]},
            "`segments[1].name`: duplicate segment name",
        ),
        (
            {
                "segments": [
                    {"name": "a", "when": "true"},
                    {"name": "b", "when": "true"},
                    {"name": "c", "when": "engagement_score >= AND 1"},
                ]
            },
            "`segments[2].when`: does not parse",
        ),
        ({"pql": "unknown_field > 3"}, "`pql`: unknown field(s) ['unknown_field']"),
        ({"pql": "is_pql"}, "cannot be read by rules"),
        ({"pqa": "engagement_score + 1"}, "`pqa`: must be a boolean expression"),
        ({"user_traits": ["email"]}, "`user_traits[0]`: 'email' collides"),
        ({"daily_cap": -1}, "`daily_cap`: must be at least 0, got -1"),
        ({"score_reference": {"user": 0}}, "`score_reference.user`: must be more than 0, got 0"),
    ],
)
def test_config_errors_name_the_setting(config, expected):
    assert any(expected in e for e in _errors(config)), _errors(config)


def test_config_error_stops_the_cli_at_start_up(run_transform):
    out = run_transform([], {"segments": [{"name": "x", "when": "nope = 1"}]}, check=False)
    assert out.returncode != 0
    assert "`segments[0].when`: unknown field(s) ['nope']" in out.log


def test_schemas_declare_each_streams_possible_stages_and_segments(run_transform):
    config = {
        "segments": [
            {"name": "power", "when": "engagement_score >= 90"},
            {"name": "big", "when": "total_users >= 2", "applies_to": "account"},
        ],
        "lifecycle": [
            {"stage": "active", "when": "active_days >= 2"},
            {"stage": "new", "when": "true"},
            {"stage": "customer", "when": "true", "applies_to": "account"},
        ],
    }
    out = run_transform([track("t1", "u1", "Create", "2026-03-01T10:00:00Z", "a1")], config)

    schemas = {
        m["stream"]: m["schema"]["properties"] for m in out.messages if m["type"] == "SCHEMA"
    }
    assert schemas["contacts"]["lifecycle_stage"]["enum"] == ["active", "new", None]
    assert schemas["contacts"]["segments"]["x-options"] == ["power"]
    assert schemas["companies"]["lifecycle_stage"]["enum"] == ["customer", None]
    assert schemas["companies"]["segments"]["x-options"] == ["big"]
    assert "enum" not in schemas["associations"]["lifecycle_stage"]
    assert schemas["associations"]["segments"]["x-options"] == []
    assert out.by_key("contacts")["u1"]["lifecycle_stage"] == "new"
