"""Hand-computed checks of the reference implementation itself.

If the reference is wrong, the cross-check proves nothing; these pin its readings of
metrics.md with numbers worked out by hand in the comments.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from .metrics_reference import (
    compute,
    content_id,
    format_time,
    p90,
    score,
    trend_label,
)

AS_OF = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def track(user: str | None, event: str, when: str, **extra: object) -> dict:
    message: dict = {"type": "track", "event": event, "timestamp": when}
    if user is not None:
        message["userId"] = user
    message.update(extra)
    return message


def by_key(records: list[dict], *keys: str) -> dict:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in records}


def test_daily_cap_limits_one_event_per_user_per_date() -> None:
    messages = [
        track("u1", "Export", f"2026-03-14T10:00:0{i}Z", messageId=f"m{i}") for i in range(5)
    ]
    messages.append(track("u1", "Export", "2026-03-13T10:00:00Z", messageId="other-day"))
    capped = by_key(compute(messages, {"daily_cap": 2}, AS_OF)["contacts"], "user_id")
    # 2 (capped) on the 14th + 1 on the 13th.
    assert capped["u1"]["score_reasons"] == "Export x3"
    uncapped = by_key(compute(messages, {"daily_cap": 0}, AS_OF)["contacts"], "user_id")
    assert uncapped["u1"]["score_reasons"] == "Export x6"


def test_account_count_is_sum_of_capped_member_counts() -> None:
    messages = []
    for user in ("u1", "u2"):
        for i in range(3):
            messages.append(
                track(user, "Export", f"2026-03-14T10:00:0{i}Z", context={"groupId": "acc"})
            )
    out = compute(messages, {"daily_cap": 2}, AS_OF)
    # Each member is capped at 2; the account sums them: 4, not min(6, 2).
    assert by_key(out["companies"], "account_id")["acc"]["score_reasons"] == "Export x4"
    assert by_key(out["companies"], "account_id")["acc"]["active_users"] == 2


def test_p90_is_the_nearest_rank_value() -> None:
    assert p90([]) is None
    assert p90([5]) == 5
    # n = 10: rank ceil(9.0) = 9 -> the 9th smallest.
    assert p90(list(range(10, 0, -1))) == 9
    # n = 11: rank ceil(9.9) = 10.
    assert p90(list(range(1, 12))) == 10


def test_user_at_the_population_p90_scores_90() -> None:
    messages = []
    for n in range(1, 11):  # user u<n> has raw n (weight 1, no cap problems)
        for i in range(n):
            messages.append(track(f"u{n:02d}", "Use", f"2026-03-{1 + i:02d}T08:00:00Z"))
    contacts = by_key(compute(messages, {"window_days": 30}, AS_OF)["contacts"], "user_id")
    assert contacts["u09"]["engagement_score"] == 90
    # 100 * (1 - 10 ** (-10 / 9)) = 92.26 -> 92; raw 1: 100 * (1 - 10 ** (-1/9)) = 22.57 -> 23
    assert contacts["u10"]["engagement_score"] == 92
    assert contacts["u01"]["engagement_score"] == 23


def test_score_formula_rounds_half_up_and_saturates() -> None:
    assert score(0, 4) == 0
    assert score(4, 4) == 90
    assert score(8, 4) == 99  # 100 * (1 - 0.01)
    assert score(12, 4) == 100  # 99.9 + 0.5 -> 100
    # 100 * (1 - 10 ** -0.2966) = 49.487 -> 49 ; 10 ** -0.2968 -> 49.510 -> 50
    assert score(0.2966, 1) == 49
    assert score(0.2968, 1) == 50
    assert score(3, None) == 0


def test_empty_population_scores_everything_zero() -> None:
    # Only a previous-window event: current population is empty, so previous is 0 too.
    messages = [track("u1", "Use", "2026-02-01T08:00:00Z")]
    contact = compute(messages, {"window_days": 30}, AS_OF)["contacts"][0]
    assert (contact["engagement_score"], contact["engagement_score_previous"]) == (0, 0)
    # With a fixed reference, previous raw 1 = ref scores 90: falling by 90.
    fixed = compute(messages, {"window_days": 30, "score_reference": {"user": 1}}, AS_OF)
    contact = fixed["contacts"][0]
    assert contact["engagement_score_previous"] == 90
    assert contact["engagement_trend"] == -90
    assert contact["engagement_trend_label"] == "falling"


@pytest.mark.parametrize(
    ("trend", "label"),
    [(10, "rising"), (9, "steady"), (0, "steady"), (-9, "steady"), (-10, "falling")],
)
def test_trend_label_thresholds(trend: int, label: str) -> None:
    assert trend_label(trend) == label


def test_late_link_stitches_earlier_anonymous_events_and_earliest_link_wins() -> None:
    messages = [
        track(None, "Use", "2026-03-10T08:00:00Z", anonymousId="anon", context={"groupId": "g"}),
        # The link arrives after the event, and a second (later) link to u2 loses.
        {
            "type": "identify",
            "userId": "u2",
            "anonymousId": "anon",
            "timestamp": "2026-03-12T08:00:00Z",
        },
        {
            "type": "alias",
            "previousId": "anon",
            "userId": "u1",
            "timestamp": "2026-03-11T08:00:00Z",
        },
        # Linked only after as_of: counts for nothing yet.
        track(None, "Use", "2026-03-10T09:00:00Z", anonymousId="late"),
        {"type": "alias", "previousId": "late", "userId": "u3", "timestamp": "2026-03-16"},
    ]
    out = compute(messages, {}, AS_OF)
    contacts = by_key(out["contacts"], "user_id")
    assert set(contacts) == {"u1", "u2"}
    assert contacts["u1"]["score_reasons"] == "Use x1"
    assert contacts["u1"]["first_seen_at"] == "2026-03-10T08:00:00Z"
    assert contacts["u2"]["last_active_at"] is None
    assert set(by_key(out["associations"], "user_id", "account_id")) == {("u1", "g")}


def test_redelivered_message_without_id_counts_once() -> None:
    original = track("u1", "Use", "2026-03-14T08:00:00Z", receivedAt="2026-03-14T08:00:01Z")
    copy = dict(original, receivedAt="2026-03-14T09:30:00Z", sentAt="2026-03-14T09:00:00Z")
    assert content_id(original) == content_id(copy)
    contact = compute([original, copy], {}, AS_OF)["contacts"][0]
    assert contact["score_reasons"] == "Use x1"


def test_activation_completes_at_the_count_th_occurrence() -> None:
    config = {
        "activation": {
            "milestones": [
                {"name": "two projects", "event": "Create", "count": 2},
                {"name": "invited", "event": "Invite"},
            ]
        }
    }
    messages = [
        track("u1", "Create", "2026-03-01T08:00:00Z"),
        track("u1", "Create", "2026-03-03T08:00:00+01:00"),
        track("u1", "Create", "2026-03-05"),
        track("u1", "Invite", "2026-03-02T08:00:00.5Z"),
    ]
    contact = compute(messages, config, AS_OF)["contacts"][0]
    assert contact["activation_steps_completed"] == 2
    assert contact["activated"] is True
    assert contact["activated_at"] == "2026-03-03T07:00:00Z"
    only_first = compute(messages[:1] + messages[3:], config, AS_OF)["contacts"][0]
    assert only_first["activation_rate"] == 0.5
    assert only_first["activated"] is False and only_first["activated_at"] is None


def test_email_domain_and_time_formats() -> None:
    messages = [
        {
            "type": "identify",
            "userId": 42,
            "timestamp": "2026-03-01T08:00:00.250Z",
            "traits": {"email": "  Ann@Example.COM "},
        },
        {
            "type": "group",
            "userId": 42,
            "groupId": 7,
            "timestamp": "2026-03-01",
            "traits": {"website": "WWW.Acme.io:8080/pricing", "role": "admin"},
        },
    ]
    out = compute(messages, {}, AS_OF)
    contact = out["contacts"][0]
    assert contact["user_id"] == "42" and contact["email"] == "ann@example.com"
    assert contact["first_seen_at"] == "2026-03-01T00:00:00Z"
    assert contact["primary_account_id"] == "7"
    company = out["companies"][0]
    assert company["domain"] == "acme.io"
    assert out["associations"][0]["role"] == "admin"
    assert format_time(datetime(2026, 3, 1, 8, 0, 0, 250000, tzinfo=UTC)) == (
        "2026-03-01T08:00:00.250000Z"
    )


def test_rules_read_metrics_and_null_is_false() -> None:
    config = {
        "pqa": "metric_seats_used >= 0.8 * metric_seat_limit",
        "segments": [
            {
                "name": "full",
                "when": "metric_seats_used >= metric_seat_limit",
                "applies_to": "account",
            },
            {"name": "unknown", "when": "metric_never_seen > 1", "applies_to": "account"},
        ],
    }
    messages = [
        {"type": "group", "userId": "u", "groupId": "a", "timestamp": "2026-03-01"},
        {"type": "group", "userId": "u", "groupId": "b", "timestamp": "2026-03-01"},
    ]
    for account, used in (("a", 8), ("b", 7)):
        messages.append(
            {
                "type": "metric",
                "entity": "account",
                "account_id": account,
                "metric": "seats_used",
                "value": used,
                "observed_at": "2026-03-02",
            }
        )
    messages.append(
        {
            "type": "metric",
            "entity": "account",
            "account_id": "a",
            "metric": "seat_limit",
            "value": 10,
            "observed_at": "2026-03-02",
        }
    )
    companies = by_key(compute(messages, config, AS_OF)["companies"], "account_id")
    assert companies["a"]["is_pqa"] is True
    assert companies["b"]["is_pqa"] is False  # limit unknown -> NULL -> false
    assert companies["a"]["segments"] == ""
    assert companies["b"]["metric_seat_limit"] is None
