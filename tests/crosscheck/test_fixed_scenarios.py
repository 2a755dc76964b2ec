"""Deterministic scenarios that give every output field a non-trivial value.

Each compares the real mapper with the reference field by field, and also pins a few
values worked out by hand so the test fails even if both sides were wrong the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ..reference.metrics_reference import compute
from .mapper_cli import delivery_order, run_mapper
from .record_diff import explain, output_differences

AS_OF = "2026-03-15T12:00:00Z"
AS_OF_TIME = datetime(2026, 3, 15, 12, tzinfo=UTC)

CONFIG = {
    "window_days": 7,
    "events": {
        "Created Project": {"weight": 3, "feature": "projects"},
        "Invited Teammate": {"weight": 5, "feature": "collaboration"},
        "Exported Report": {"weight": 1, "feature": "reports"},
        "Page Viewed": {"weight": 0.5},
        "Screen Viewed": {"weight": 0},
    },
    "default_weight": 0,
    "daily_cap": 2,
    "membership_traits": ["role", "title"],
    "activation": {
        "milestones": [
            {"name": "first project", "event": "Created Project"},
            {"name": "team", "event": "Invited Teammate", "count": 2},
        ]
    },
    "pql": "engagement_score >= 50 AND plan = 'free'",
    "pqa": "metric_seats_used >= 0.8 * metric_seat_limit",
    "segments": [
        {"name": "power", "when": "engagement_score >= 80"},
        {"name": "big", "when": "total_users >= 2", "applies_to": "account"},
        {"name": "admins", "when": "role = 'admin'", "applies_to": "membership"},
        {"name": "busy", "when": "active_days >= 2"},
    ],
    "lifecycle": [
        {"stage": "activated", "when": "activated"},
        {"stage": "engaged", "when": "engagement_score > 0"},
        {"stage": "customer", "when": "metric_plan_tier = 'enterprise'", "applies_to": "account"},
        {"stage": "prospect", "when": "TRUE", "applies_to": "account"},
        {"stage": "owner", "when": "is_champion", "applies_to": "membership"},
    ],
    "user_traits": ["plan"],
    "account_traits": ["industry"],
}


def track(who: dict, event: str, when: str, message_id: object = None, **extra: object) -> dict:
    message = {"type": "track", "event": event, "timestamp": when, **who, **extra}
    if message_id is not None:
        message["messageId"] = message_id
    return message


def in_account(account: object) -> dict:
    return {"context": {"groupId": account}}


ANN = {"userId": "ann"}
BOB = {"userId": 42}  # a numeric user id: "42"
VISITOR = {"anonymousId": "anon-1"}

EVERY_FIELD_MESSAGES: list[dict] = [
    # Traits: user, account (name/domain/website/industry/createdAt), membership (role/title).
    {
        "type": "identify",
        "userId": "ann",
        "messageId": "id-1",
        "timestamp": "2026-02-20T09:00:00+01:00",
        "traits": {"email": " Ann@Acme.COM ", "plan": "free", "createdAt": "2026-01-05"},
    },
    {
        "type": "identify",
        "userId": "ann",
        "messageId": "id-2",
        "timestamp": "2026-03-01T09:00:00Z",
        "traits": {"plan": "pro"},
    },
    {
        "type": "identify",
        "userId": 42,
        "anonymousId": "anon-1",  # late link: the visitor's earlier events become bob's
        "messageId": 77,
        "timestamp": "2026-03-14T18:00:00.5Z",
        "traits": {"email": "bob@", "plan": "free"},
    },
    {
        "type": "group",
        "userId": "ann",
        "groupId": "acme",
        "messageId": "g-1",
        "timestamp": "2026-02-01T00:00:00Z",
        "traits": {
            "name": "Acme",
            "website": "https://www.Acme.io/pricing",
            "industry": "saas",
            "role": "admin",
            "title": "CTO",
            "createdAt": "2025-12-31T23:00:00-02:00",
        },
    },
    {
        "type": "group",
        "userId": 42,
        "groupId": "acme",
        "messageId": "g-2",
        "timestamp": "2026-02-10",
        "traits": {"role": "member"},
    },
    {
        "type": "group",
        "userId": 42,
        "groupId": 9001,
        "messageId": "g-3",
        "timestamp": "2026-03-02T12:00:00",
        "traits": {"name": "Globex", "domain": "WWW.Globex.com", "role": "admin"},
    },
    # Ann: both windows, a capped burst, features, activation.
    track(ANN, "Created Project", "2026-03-03T10:00:00Z", "a-1", **in_account("acme")),
    track(ANN, "Invited Teammate", "2026-03-05T10:00:00Z", "a-2", **in_account("acme")),
    track(ANN, "Invited Teammate", "2026-03-10T10:00:00Z", "a-3", **in_account("acme")),
    track(ANN, "Exported Report", "2026-03-12T08:00:00Z", "a-4", **in_account("acme")),
    track(ANN, "Exported Report", "2026-03-12T09:00:00Z", "a-5", **in_account("acme")),
    track(ANN, "Exported Report", "2026-03-12T10:00:00Z", "a-6", **in_account("acme")),
    track(ANN, "Exported Report", "2026-03-12T11:00:00Z", "a-7"),  # no account
    track(ANN, "Created Project", "2026-03-14T23:59:59.999Z", "a-8", **in_account("acme")),
    {"type": "page", "userId": "ann", "messageId": "a-9", "timestamp": "2026-03-15T08:00:00Z"},
    # Ann after as_of: kept, counts for nothing yet.
    track(ANN, "Invited Teammate", "2026-03-15T12:00:01Z", "a-10", **in_account("acme")),
    # The visitor (bob once linked), without messageIds, one re-delivered.
    track(VISITOR, "Created Project", "2026-03-11T07:00:00Z", **in_account(9001)),
    track(VISITOR, "Created Project", "2026-03-11T07:00:00Z", receivedAt="x", **in_account(9001)),
    track(VISITOR, "Invited Teammate", "2026-03-13", properties={"groupId": "acme"}),
    # Bob's own events, one per account and one re-delivered with another sentAt.
    track(BOB, "Created Project", "2026-03-14T09:00:00Z", "b-1", **in_account("acme")),
    track(BOB, "Created Project", "2026-03-14T09:00:00Z", "b-1", sentAt="2026-03-16T00:00:00Z"),
    {
        "type": "screen",
        "userId": 42,
        "messageId": "b-2",
        "timestamp": "2026-03-06T10:00:00Z",
        "context": {"groupId": 9001},
    },
    # Previous-window only user: falling trend.
    track({"userId": "cleo"}, "Created Project", "2026-03-04T10:00:00Z", "c-1"),
    track({"userId": "cleo"}, "Created Project", "2026-03-05T10:00:00Z", "c-2"),
    # An anonymous visitor never linked: appears nowhere, counts for no account.
    track({"anonymousId": "ghost"}, "Created Project", "2026-03-14T10:00:00Z", "z-1",
          **in_account("ghost-co")),
    # Backend metrics for each kind of entity; the later observation wins.
    {"type": "metric", "entity": "account", "user_id": None, "account_id": "acme",
     "metric": "seats_used", "value": 5, "observed_at": "2026-03-01T00:00:00Z"},
    {"type": "metric", "entity": "account", "user_id": None, "account_id": "acme",
     "metric": "seats_used", "value": 9, "observed_at": "2026-03-14T00:00:00Z"},
    {"type": "metric", "entity": "account", "user_id": None, "account_id": "acme",
     "metric": "seat_limit", "value": 10, "observed_at": "2026-03-01T00:00:00Z"},
    {"type": "metric", "entity": "account", "user_id": None, "account_id": "9001",
     "metric": "plan_tier", "value": "enterprise", "observed_at": "2026-03-02T00:00:00Z"},
    {"type": "metric", "entity": "user", "user_id": "ann", "account_id": None,
     "metric": "projects", "value": 4, "observed_at": "2026-03-10T00:00:00Z"},
    {"type": "metric", "entity": "user", "user_id": "ann", "account_id": None,
     "metric": "projects", "value": 99, "observed_at": "2026-03-16T00:00:00Z"},  # after as_of
    {"type": "metric", "entity": "membership", "user_id": "42", "account_id": "acme",
     "metric": "permissions", "value": 3, "observed_at": "2026-03-10T00:00:00Z"},
]  # fmt: skip


def compare(output: dict, messages: list[dict], config: dict, as_of: datetime) -> dict:
    """Assert mapper == reference; return the reference records keyed for spot checks."""
    expected = compute(messages, config, as_of)
    differences = output_differences(output, expected)
    assert not differences, "mapper != reference:\n" + explain(differences)
    return {
        "contacts": {r["user_id"]: r for r in expected["contacts"]},
        "companies": {r["account_id"]: r for r in expected["companies"]},
        "associations": {(r["user_id"], r["account_id"]): r for r in expected["associations"]},
    }


def mapper_config(tmp_path: Path, config: dict = CONFIG, as_of: str = AS_OF) -> dict:
    return {**config, "store_path": str(tmp_path / "store.duckdb"), "as_of": as_of}


def test_every_field_matches_the_reference(tmp_path: Path) -> None:
    output = run_mapper(mapper_config(tmp_path), EVERY_FIELD_MESSAGES, tmp_path)
    records = compare(output, delivery_order(EVERY_FIELD_MESSAGES), CONFIG, AS_OF_TIME)
    ann, bob, cleo = (records["contacts"][u] for u in ("ann", "42", "cleo"))
    acme, globex = records["companies"]["acme"], records["companies"]["9001"]
    assert set(records["contacts"]) == {"ann", "42", "cleo"}
    assert set(records["companies"]) == {"acme", "9001"}
    # Hand-checked values (so agreement on a shared mistake still fails).
    assert ann["email"] == "ann@acme.com" and bob["email"] is None
    assert ann["plan"] == "pro" and ann["is_pql"] is False
    assert ann["score_reasons"] == "Invited Teammate x1, Created Project x1, Exported Report x2"
    assert ann["activated"] is True and ann["activated_at"] == "2026-03-10T10:00:00Z"
    assert ann["features_used"] == "collaboration;projects;reports"
    assert ann["first_seen_at"] == "2026-01-05T00:00:00Z"
    assert ann["as_of"] == AS_OF and ann["last_active_at"] == "2026-03-15T08:00:00Z"
    assert bob["first_seen_at"] == "2026-02-10T00:00:00Z"
    assert bob["primary_account_id"] in ("acme", "9001")
    assert cleo["engagement_trend_label"] == "falling" and cleo["engagement_score"] == 0
    assert acme["domain"] == "acme.io" and globex["domain"] == "globex.com"
    assert acme["total_users"] == 2 and acme["is_pqa"] is True
    assert acme["metric_seats_used"] == 9 and globex["lifecycle_stage"] == "customer"
    assert acme["first_seen_at"] == "2026-01-01T01:00:00Z"
    assert records["associations"][("ann", "acme")]["title"] == "CTO"
    assert records["associations"][("42", "acme")]["metric_permissions"] == 3
    assert "ghost-co" not in records["companies"]


def test_numeric_ids_from_another_tap_read_as_strings(tmp_path: Path) -> None:
    output = run_mapper(mapper_config(tmp_path), EVERY_FIELD_MESSAGES, tmp_path, raw_ids=True)
    compare(output, delivery_order(EVERY_FIELD_MESSAGES), CONFIG, AS_OF_TIME)


def test_empty_events_config_weighs_every_event_one(tmp_path: Path) -> None:
    config = {"window_days": 30, "daily_cap": 0, "segments": [], "lifecycle": []}
    output = run_mapper(mapper_config(tmp_path, config), EVERY_FIELD_MESSAGES, tmp_path)
    records = compare(output, delivery_order(EVERY_FIELD_MESSAGES), config, AS_OF_TIME)
    ann = records["contacts"]["ann"]
    assert ann["adoption_rate"] is None and ann["activation_rate"] is None
    assert ann["activated"] is False and ann["lifecycle_stage"] is None


def test_later_run_without_messages_moves_scores_with_as_of(tmp_path: Path) -> None:
    first = run_mapper(mapper_config(tmp_path), EVERY_FIELD_MESSAGES, tmp_path, run=1)
    compare(first, delivery_order(EVERY_FIELD_MESSAGES), CONFIG, AS_OF_TIME)
    later = AS_OF_TIME + timedelta(days=5)
    later_text = later.strftime("%Y-%m-%dT%H:%M:%SZ")
    second = run_mapper(mapper_config(tmp_path, as_of=later_text), [], tmp_path, run=2)
    records = compare(second, delivery_order(EVERY_FIELD_MESSAGES), CONFIG, later)
    # The message after the first as_of now counts; the metric observed after it too.
    assert records["contacts"]["ann"]["last_active_at"] == "2026-03-15T12:00:01Z"
    assert records["contacts"]["ann"]["metric_projects"] == 99


@pytest.mark.parametrize("runs", [2, 4])
def test_k_runs_with_late_link_and_redeliveries_equal_one_run(tmp_path: Path, runs: int) -> None:
    def is_link(message: dict) -> bool:
        return message["type"] == "identify" and message.get("anonymousId") == "anon-1"

    messages = [m for m in EVERY_FIELD_MESSAGES if not is_link(m)]
    link = [m for m in EVERY_FIELD_MESSAGES if is_link(m)]
    size = -(-len(messages) // runs)
    batches = [messages[i * size : (i + 1) * size] for i in range(runs)]
    batches[-1] = batches[-1] + link + [dict(m, sentAt="2026-03-20T00:00:00Z") for m in batches[0]]
    delivered: list[dict] = []
    for number, batch in enumerate(batches, start=1):
        output = run_mapper(mapper_config(tmp_path), batch, tmp_path, run=number)
        delivered.extend(delivery_order(batch))
    compare(output, delivered, CONFIG, AS_OF_TIME)


def test_rule_on_a_metric_no_data_has_provided_reads_null(tmp_path: Path) -> None:
    config = {
        "pql": "metric_projects >= 1 OR engagement_score > 0",
        "lifecycle": [
            {"stage": "full", "when": "metric_seats_used >= 1", "applies_to": "account"},
            {"stage": "known", "when": "metric_seats_used IS NULL", "applies_to": "account"},
        ],
    }
    messages = [
        {"type": "group", "userId": "u1", "groupId": "a1", "messageId": "g1",
         "timestamp": "2026-03-10T00:00:00Z"},
    ]  # fmt: skip
    output = run_mapper(mapper_config(tmp_path, config), messages, tmp_path)
    records = compare(output, messages, config, AS_OF_TIME)
    assert records["companies"]["a1"]["lifecycle_stage"] == "known"
    assert records["contacts"]["u1"]["is_pql"] is False


def test_no_input_emits_no_records(tmp_path: Path) -> None:
    output = run_mapper(mapper_config(tmp_path, {}), [], tmp_path)
    assert output == {"companies": [], "contacts": [], "associations": []}
