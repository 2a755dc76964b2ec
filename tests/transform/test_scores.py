"""Engagement definitions on small hand-made inputs, expected values worked out here."""

from __future__ import annotations

import math

from .conftest import record, track


def py_score(raw: float, ref: float) -> int:
    return math.floor(100 * (1 - 10 ** (-raw / ref)) + 0.5)


def test_daily_cap_applies_per_user_and_account_sums_capped_memberships(run_transform):
    lines = [track(f"a{i}", "u1", "Run", "2026-02-20T10:00:00Z", "acc") for i in range(5)]
    lines += [track(f"b{i}", "u2", "Run", "2026-02-20T11:00:00Z", "acc") for i in range(3)]
    lines += [track(f"c{i}", "u1", "Run", "2026-02-21T10:00:00Z") for i in range(4)]  # no account
    out = run_transform(lines, {"daily_cap": 2, "score_reference": {"user": 4}})
    users = out.by_key("contacts")
    # u1: min(5,2) + min(4,2) = 4 ; u2: min(3,2) = 2
    assert users["u1"]["score_reasons"] == "Run x4"
    assert users["u1"]["engagement_score"] == 90  # raw == reference
    assert users["u2"]["score_reasons"] == "Run x2"
    # account: sum of capped membership counts (2 + 2); u1's account-less events excluded
    assert out.by_key("companies")["acc"]["score_reasons"] == "Run x4"
    assert out.by_key("associations")[("u1", "acc")]["score_reasons"] == "Run x2"


def test_no_cap_when_daily_cap_is_zero(run_transform):
    lines = [track(f"a{i}", "u1", "Run", "2026-02-20T10:00:00Z") for i in range(30)]
    out = run_transform(lines, {"daily_cap": 0})
    assert out.by_key("contacts")["u1"]["score_reasons"] == "Run x30"


def test_reference_is_nearest_rank_p90_of_positive_raws(run_transform):
    # users u1..u10 with raw 1..10, plus a user with raw 0 (not in the population)
    lines = []
    for n in range(1, 11):
        lines += [track(f"m{n}-{i}", f"u{n:02d}", "Run", "2026-02-25T10:00:00Z") for i in range(n)]
    lines.append(record("identifies", messageId="i0", userId="u00", timestamp="2026-02-01"))
    out = run_transform(lines)
    users = out.by_key("contacts")
    # n = 10 -> rank ceil(0.9 * 10) = 9 -> ref = 9
    assert users["u09"]["engagement_score"] == 90
    assert users["u10"]["engagement_score"] == py_score(10, 9)
    assert users["u01"]["engagement_score"] == py_score(1, 9)
    assert users["u00"]["engagement_score"] == 0
    assert users["u00"]["score_reasons"] == ""


def test_scores_match_python_double_arithmetic_including_rounding(run_transform):
    # ref = 7: raws 1..40 cover many fractional parts near .5
    lines = []
    for n in range(1, 41):
        lines += [track(f"m{n}-{i}", f"u{n}", "Run", "2026-02-25T10:00:00Z") for i in range(n)]
    out = run_transform(lines, {"score_reference": {"user": 7}, "daily_cap": 0})
    users = out.by_key("contacts")
    assert {u: r["engagement_score"] for u, r in users.items()} == {
        f"u{n}": py_score(n, 7) for n in range(1, 41)
    }
    # floor(x + 0.5): raw 3 / ref 7 -> 62.72.. -> 63 ; raw 1 -> 28.03.. -> 28
    assert users["u3"]["engagement_score"] == 63
    assert users["u1"]["engagement_score"] == 28


def test_previous_window_trend_and_labels(run_transform):
    # window 10 days, as_of 2026-03-01: current 02-20..03-01, previous 02-10..02-19
    lines = [track(f"p{i}", "down", "Run", "2026-02-12T10:00:00Z") for i in range(4)]
    lines += [track(f"q{i}", "up", "Run", "2026-02-25T10:00:00Z") for i in range(4)]
    lines += [track("r1", "flat", "Run", "2026-02-12T10:00:00Z")]
    lines += [track("r2", "flat", "Run", "2026-02-26T10:00:00Z")]
    out = run_transform(lines, {"window_days": 10, "score_reference": {"user": 4}})
    users = out.by_key("contacts")
    assert (users["down"]["engagement_score"], users["down"]["engagement_score_previous"]) == (
        0,
        90,
    )
    assert users["down"]["engagement_trend"] == -90
    assert users["down"]["engagement_trend_label"] == "falling"
    assert users["up"]["engagement_trend_label"] == "rising"
    assert users["flat"]["engagement_trend"] == 0
    assert users["flat"]["engagement_trend_label"] == "steady"
    assert users["down"]["active_days"] == 0


def test_score_reasons_top_three_by_contribution_then_event_name(run_transform):
    events = {
        "B": {"weight": 2},
        "A": {"weight": 2},
        "C": {"weight": 1},
        "D": {"weight": 5},
        "Zero": {"weight": 0},
    }
    lines = [
        track("1", "u", "B", "2026-02-25T10:00:00Z"),
        track("2", "u", "A", "2026-02-25T10:00:00Z"),
        track("3", "u", "C", "2026-02-25T10:00:00Z"),
        track("4", "u", "C", "2026-02-25T10:01:00Z"),
        track("5", "u", "D", "2026-02-25T10:00:00Z"),
        track("6", "u", "Zero", "2026-02-25T10:00:00Z"),
    ]
    out = run_transform(lines, {"events": events})
    # contributions: D 5, A 2, B 2, C 2 -> ties by name: A, B (C dropped)
    assert out.by_key("contacts")["u"]["score_reasons"] == "D x1, A x1, B x1"


def test_unlisted_events_use_default_weight_and_empty_events_weigh_one(run_transform):
    lines = [
        track("1", "u", "Listed", "2026-02-25T10:00:00Z"),
        track("2", "u", "Other", "2026-02-25T10:00:00Z"),
    ]
    out = run_transform(lines, {"events": {"Listed": {"weight": 1}}})
    assert out.by_key("contacts")["u"]["score_reasons"] == "Listed x1"
    assert out.by_key("contacts")["u"]["active_days"] == 1


def test_events_after_as_of_count_for_nothing(run_transform):
    lines = [
        track("1", "u", "Run", "2026-02-25T10:00:00Z"),
        track("2", "u", "Run", "2026-03-01T12:00:01Z"),
        track("3", "late", "Run", "2026-03-02T10:00:00Z"),
    ]
    out = run_transform(lines)
    users = out.by_key("contacts")
    assert set(users) == {"u"}
    assert users["u"]["score_reasons"] == "Run x1"
    assert users["u"]["last_active_at"] == "2026-02-25T10:00:00Z"
    assert users["u"]["days_since_last_active"] == 4
