"""daily_rollups stand in for raw track/page/screen events: same records either way.

Each test feeds the same events to two stores through the real CLI: (a) as raw messages,
(b) as roll-ups recounted here in Python from those messages (plus the raw identifies,
groups and aliases), and asserts the emitted records are identical.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .conftest import record

AS_OF = "2026-03-15T12:00:00Z"
FIRST_EVENTS = 10
CONFIG = {
    "as_of": AS_OF,
    "window_days": 7,
    "daily_cap": 2,
    "events": {
        "Create": {"weight": 3, "feature": "create"},
        "Share": {"weight": 1, "feature": "share"},
        "Page Viewed": {"weight": 0.5},
        "Screen Viewed": {"weight": 0},
    },
    "default_weight": 0,
    "activation": {
        "milestones": [
            {"name": "first", "event": "Create"},
            {"name": "sharer", "event": "Share", "count": 3},
        ]
    },
    "segments": [{"name": "busy", "when": "active_days >= 2"}],
    "pqa": "active_users >= 2",
}
STREAM = {
    "track": "tracks",
    "page": "pages",
    "screen": "screens",
    "identify": "identifies",
    "group": "groups",
    "alias": "aliases",
}
EVENT_TYPES = ("track", "page", "screen")


def msg(kind: str, mid: str, at: str, **fields: object) -> dict:
    """One Segment message as the tap emits it."""
    return {"type": kind, "messageId": mid, "timestamp": at, **fields}


def ev(mid: str, at: str, event: str, *, user=None, anon=None, account=None) -> dict:
    """A track event, its account in context.groupId."""
    fields: dict = {"event": event}
    if user is not None:
        fields["userId"] = user
    if anon is not None:
        fields["anonymousId"] = anon
    if account is not None:
        fields["context"] = {"groupId": account}
    return msg("track", mid, at, **fields)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "%Y-%m-%dT%H:%M:%SZ")


def recount(messages: list[dict]) -> dict[tuple, dict]:
    """The contract's daily_rollups of the track/page/screen messages, keyed."""
    seen: dict[tuple, dict[str, datetime]] = {}
    for m in messages:
        if m["type"] not in EVENT_TYPES:
            continue
        user = m.get("userId")
        anonymous = None if user else m.get("anonymousId")
        account = (m.get("context") or {}).get("groupId")
        event = {"page": "Page Viewed", "screen": "Screen Viewed"}.get(m["type"], m.get("event"))
        at = _instant(m["timestamp"])
        key = (user, anonymous, account, event, at.date().isoformat())
        ids = seen.setdefault(key, {})
        ids.setdefault(m["messageId"], at)  # the first delivered copy wins
    rollups = {}
    for key, ids in seen.items():
        ordered = sorted((at, mid) for mid, at in ids.items())
        rollups[key] = {
            "userId": key[0],
            "anonymousId": key[1],
            "accountId": key[2],
            "event": key[3],
            "day": key[4],
            "count": len(ids),
            "first_at": _iso(ordered[0][0]),
            "last_at": _iso(ordered[-1][0]),
            "first_events": [
                {"at": _iso(at), "messageId": mid} for at, mid in ordered[:FIRST_EVENTS]
            ],
        }
    return rollups


def lines_of(messages: list[dict]) -> list[str]:
    """RECORD lines of raw messages."""
    return [record(STREAM[m["type"]], **m) for m in messages]


def rollup_lines(rows: list[dict]) -> list[str]:
    """RECORD lines of the daily_rollups stream."""
    return [record("daily_rollups", **row) for row in rows]


def not_events(messages: list[dict]) -> list[dict]:
    """The identifies, groups and aliases (they stay raw in push-down mode)."""
    return [m for m in messages if m["type"] not in EVENT_TYPES]


def outputs(out) -> dict[str, list[dict]]:
    """The emitted records per stream, as a comparable structure."""
    return {s: out.records.get(s, []) for s in ("companies", "contacts", "associations")}


# Deliveries of one product's messages: several days, both windows, the daily cap,
# a milestone's 3rd occurrence across days, ties on time, pages and screens, anonymous
# events linked early and late (identify and alias), a never-linked visitor, an event
# with no account, an account known only through events, a re-delivered message, one
# event after as_of and a day straddling as_of.
DELIVERY_1 = [
    msg("identify", "i1", "2026-02-20T08:00:00Z", userId="u1", traits={"email": "a@b.io"}),
    msg("group", "g1", "2026-02-20T08:00:00Z", userId="u1", groupId="acc1"),
    msg("group", "g2", "2026-02-21T08:00:00Z", userId="u2", groupId="acc1"),
    ev("e01", "2026-03-02T09:00:00Z", "Create", user="u1", account="acc1"),  # previous window
    ev("e02", "2026-03-02T09:30:00Z", "Share", user="u1", account="acc1"),
    ev("e03", "2026-03-10T09:00:00Z", "Create", user="u1", account="acc1"),
    ev("e04", "2026-03-10T09:00:00Z", "Create", user="u1", account="acc1"),  # same time
    ev("e05", "2026-03-10T10:00:00Z", "Create", user="u1", account="acc1"),
    ev("e06", "2026-03-10T11:00:00Z", "Share", user="u1"),  # no account
    ev("e07", "2026-03-11T11:00:00Z", "Share", user="u2", account="acc2"),  # account via event
    ev("e08", "2026-03-09T12:00:00Z", "Create", anon="anon-1", account="acc1"),
    ev("e09", "2026-03-09T12:30:00Z", "Share", anon="anon-9"),  # never linked
    msg("page", "p1", "2026-03-12T07:00:00Z", userId="u2", name="Home"),
    msg("screen", "s1", "2026-03-12T07:05:00Z", userId="u2", name="Main"),
    ev("e10", "2026-03-12T08:00:00Z", "Share", user="u1", anon="anon-x", account="acc1"),
]
DELIVERY_2 = [
    # anon-1 is linked after its events: they become u3's, in acc1.
    msg("identify", "i2", "2026-03-13T08:00:00Z", userId="u3", anonymousId="anon-1"),
    ev("e11", "2026-03-10T12:00:00Z", "Create", user="u1", account="acc1"),  # day 10 again
    ev("e12", "2026-03-10T13:00:00Z", "Share", user="u1", account="acc1"),
    ev("e13", "2026-03-11T09:00:00Z", "Share", anon="anon-2"),
    ev("e05", "2026-03-10T10:00:00Z", "Create", user="u1", account="acc1"),  # re-delivered
    msg("page", "p2", "2026-03-12T07:30:00Z", userId="u2", name="Docs"),
]
DELIVERY_3 = [
    msg("alias", "a1", "2026-03-14T08:00:00Z", userId="u2", previousId="anon-2"),
    ev("e14", "2026-03-12T10:00:00Z", "Share", user="u1", account="acc1"),  # 3rd Share
    ev("e15", "2026-03-10T14:00:00Z", "Create", user="u1", account="acc1"),  # day 10 again
    ev("e16", "2026-03-15T10:00:00Z", "Create", user="u2", account="acc1"),  # before as_of
    ev("e17", "2026-03-15T14:00:00Z", "Create", user="u2", account="acc1"),  # same day, after
    ev("e18", "2026-03-16T09:00:00Z", "Create", user="u4", account="acc3"),  # after as_of
]
DELIVERIES = [DELIVERY_1, DELIVERY_2, DELIVERY_3]


@pytest.fixture
def two_stores(tmp_path: Path, run_transform):
    """run(raw_lines, rollup_lines) -> (raw output, roll-up output), each on its own store."""

    def run(raw: list[str], rolled: list[str], config: dict | None = None):
        cfg = {**CONFIG, **(config or {})}
        a = run_transform(raw, {**cfg, "store_path": str(tmp_path / "raw.duckdb")})
        b = run_transform(rolled, {**cfg, "store_path": str(tmp_path / "rollups.duckdb")})
        return a, b

    return run


def test_one_run_of_rollups_gives_the_records_of_the_raw_events(two_stores):
    everything = [m for d in DELIVERIES for m in d]
    raw, rolled = two_stores(
        lines_of(everything),
        lines_of(not_events(everything)) + rollup_lines(list(recount(everything).values())),
    )
    assert outputs(rolled) == outputs(raw)
    # The comparison is not vacuous: the events did count.
    users = raw.by_key("contacts")
    assert users["u1"]["score_reasons"] == "Create x2, Share x4"  # day 10: 5 Create, cap 2
    assert users["u1"]["activated"] is True
    assert users["u1"]["activated_at"] == "2026-03-10T13:00:00Z"  # 3rd Share (e02, e06, e12)
    assert users["u3"]["engagement_score"] > 0  # anon-1's Create, linked late
    assert users["u2"]["last_active_at"] == "2026-03-15T10:00:00Z"  # e17 is after as_of
    assert "u4" not in users
    assert raw.by_key("companies")["acc2"]["active_users"] == 1
    assert ("u3", "acc1") in raw.by_key("associations")
    assert "stored" in rolled.log and "roll-up rows" in rolled.log


def test_k_runs_resending_recounted_days_match_the_raw_path_after_every_run(two_stores):
    delivered: list[dict] = []
    for i, delivery in enumerate(DELIVERIES, start=1):
        delivered += delivery
        everything = recount(delivered)
        # The tap re-sends each whole day touched by this delivery, recounted.
        touched = set(recount(delivery))
        resent = [everything[k] for k in sorted(touched, key=str)]
        if i == 2:
            assert everything[("u1", None, "acc1", "Create", "2026-03-10")]["count"] == 4
        raw, rolled = two_stores(
            lines_of(delivery), lines_of(not_events(delivery)) + rollup_lines(resent)
        )
        assert outputs(rolled) == outputs(raw), f"after run {i}"
    assert raw.by_key("associations")[("u2", "acc1")]["activation_steps_completed"] == 1


def test_rollups_replace_raw_events_already_stored_for_the_same_key(two_stores, run_transform):
    # Run 1 stored raw events; run 2 switches to roll-ups, re-counting those days.
    everything = [m for d in DELIVERIES for m in d]
    raw, rolled = two_stores(lines_of(DELIVERY_1), lines_of(DELIVERY_1))
    assert outputs(rolled) == outputs(raw)
    later = DELIVERY_2 + DELIVERY_3
    raw, rolled = two_stores(
        lines_of(later),
        lines_of(not_events(later)) + rollup_lines(list(recount(everything).values())),
    )
    assert outputs(rolled) == outputs(raw)  # nothing counted twice


def test_a_lower_recount_replaces_a_higher_one(run_transform):
    events = [
        ev(f"c{i}", f"2026-03-10T0{i}:00:00Z", "Create", user="u1", account="acc1")
        for i in range(3)
    ]
    key = ("u1", None, "acc1", "Create", "2026-03-10")
    first = recount(events)[key]
    before = run_transform(rollup_lines([first]), CONFIG)
    assert before.by_key("contacts")["u1"]["score_reasons"] == "Create x2"  # capped
    assert before.by_key("contacts")["u1"]["last_active_at"] == "2026-03-10T02:00:00Z"
    # One event was deleted at the source: the day's recount now says 1.
    fewer = recount(events[:1])[key]
    after = run_transform(rollup_lines([fewer]), CONFIG)
    assert after.by_key("contacts")["u1"]["score_reasons"] == "Create x1"
    assert after.by_key("contacts")["u1"]["last_active_at"] == "2026-03-10T00:00:00Z"
    # The latest delivered row of a key wins within one run too.
    again = run_transform(rollup_lines([first, fewer]), CONFIG)
    assert again.by_key("contacts")["u1"]["score_reasons"] == "Create x1"
    back = run_transform(rollup_lines([fewer, first]), CONFIG)
    assert back.by_key("contacts")["u1"]["score_reasons"] == "Create x2"


def test_bad_rollup_rows_are_counted_and_the_good_ones_still_count(run_transform):
    good = recount([ev("c1", "2026-03-10T09:00:00Z", "Create", user="u1", account="acc1")])
    row = next(iter(good.values()))
    bad = [
        {k: v for k, v in row.items() if k != "day"},
        {k: v for k, v in row.items() if k != "event"},
        {k: v for k, v in row.items() if k != "count"},
        {**row, "count": -1},
        {**row, "userId": None},
        {**row, "day": "10 March"},
        {**row, "first_at": "2026-03-11T00:00:00Z", "last_at": "2026-03-11T00:00:00Z"},
    ]
    out = run_transform(rollup_lines([*bad, row]), {**CONFIG})
    assert out.returncode == 0
    assert out.by_key("contacts")["u1"]["score_reasons"] == "Create x1"
    line = next(x for x in out.log.splitlines() if "bad_rollup" in x)
    assert "bad_rollup: 7 " in line
    assert "day None is not a YYYY-MM-DD date" in line
    assert "no event name" in line


def test_rollups_feed_rules_and_emit_state_like_raw_events(run_transform):
    rows = recount(
        [
            ev("c1", "2026-03-10T09:00:00Z", "Create", user="u1", account="acc1"),
            ev("c2", "2026-03-11T09:00:00Z", "Create", user="u2", account="acc1"),
            ev("c3", "2026-03-11T10:00:00Z", "Create", user="u2", account="acc1"),
        ]
    )
    lines = rollup_lines(list(rows.values()))
    lines.append(json.dumps({"type": "STATE", "value": {"bookmarks": {"x": 1}}}))
    out = run_transform(lines, {**CONFIG})
    company = out.by_key("companies")["acc1"]
    assert company["is_pqa"] is True
    assert company["total_users"] == 2
    u2 = out.by_key("contacts")["u2"]
    assert u2["activation_steps_completed"] == 1
    assert (u2["first_seen_at"], u2["last_active_at"]) == (
        "2026-03-11T09:00:00Z",
        "2026-03-11T10:00:00Z",
    )
    assert out.messages[-1]["type"] == "STATE"  # after the records
    assert out.messages[-1]["value"]["bookmarks"] == {"x": 1}
