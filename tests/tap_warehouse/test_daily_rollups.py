"""Push-down roll-up: the database's daily_rollups equal a recount of the raw rows in Python."""

from __future__ import annotations

import datetime as dt
import random
import typing as t

import pytest

from .segment_warehouse import load_messages

FIRST_EVENTS = 3


def _events(seed: int, count: int, day_offset: int = 0) -> list[dict[str, t.Any]]:
    rng = random.Random(seed)
    messages = []
    for i in range(count):
        kind = rng.choice(["track", "track", "track", "page", "screen"])
        at = dt.datetime(2026, 3, 1 + day_offset, tzinfo=dt.UTC) + dt.timedelta(
            minutes=rng.randrange(0, 3 * 24 * 60)
        )
        user = rng.choice(["u-1", "u-2", None])
        message: dict[str, t.Any] = {
            "type": kind,
            "messageId": f"m-{seed}-{i}",
            "userId": user,
            "anonymousId": rng.choice(["anon-1", "anon-2"]),
            "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "receivedAt": (at + dt.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "context": {"ip": "10.0.0.1"},
        }
        account = rng.choice(["ctx", "prop", None])
        if account == "ctx":
            message["context"]["groupId"] = rng.choice(["acc-1", "acc-2"])
        if kind == "track":
            message["event"] = rng.choice(["Report Viewed", "API Call"])
            message["properties"] = {"n": i}
            if account == "prop":
                message["properties"]["groupId"] = "acc-3"
        else:
            message["name"] = "Home"
            message["properties"] = {"path": "/"}
        messages.append(message)
    # A message loaded twice (Segment's warehouse duplicates happen) counts once.
    messages.append(dict(messages[0]))
    return messages


def python_rollups(messages: list[dict[str, t.Any]]) -> dict[tuple, dict[str, t.Any]]:
    """The contract's daily_rollups, computed from raw messages in Python."""
    groups: dict[tuple, dict[str, str]] = {}
    for m in messages:
        user = m.get("userId") or None
        anonymous = None if user else (m.get("anonymousId") or None)
        account = (m.get("context") or {}).get("groupId") or (m.get("properties") or {}).get(
            "groupId"
        )
        event = {"page": "Page Viewed", "screen": "Screen Viewed"}.get(m["type"], m.get("event"))
        at = m["timestamp"]
        key = (user, anonymous, account, event, at[:10])
        seen = groups.setdefault(key, {})
        seen[m["messageId"]] = min(at, seen.get(m["messageId"], at))
    rollups = {}
    for key, seen in groups.items():
        ordered = sorted((at, mid) for mid, at in seen.items())
        rollups[key] = {
            "userId": key[0],
            "anonymousId": key[1],
            "accountId": key[2],
            "event": key[3],
            "day": key[4],
            "count": len(seen),
            "first_at": ordered[0][0],
            "last_at": ordered[-1][0],
            "first_events": [{"at": at, "messageId": mid} for at, mid in ordered[:FIRST_EVENTS]],
        }
    return rollups


def _keyed(records: list[dict[str, t.Any]]) -> dict[tuple, dict[str, t.Any]]:
    return {
        (r["userId"], r["anonymousId"], r["accountId"], r["event"], r["day"]): r for r in records
    }


def _config(url: str) -> dict[str, t.Any]:
    return {"events_sql": {"url": url, "rollup": True, "rollup_first_events": FIRST_EVENTS}}


@pytest.mark.parametrize("database", ["postgres", "duckdb"])
def test_rollup_rows_equal_a_recount_of_the_raw_rows_and_only_rollups_cross_the_wire(
    database: str, request: pytest.FixtureRequest, run_tap
) -> None:
    url = request.getfixturevalue(f"{database}_url")
    messages = _events(seed=1, count=150)
    identify = {
        "type": "identify",
        "messageId": "i-1",
        "userId": "u-1",
        "timestamp": "2026-03-01T00:00:00Z",
        "receivedAt": "2026-03-01T00:00:01Z",
        "traits": {"email": "a@x.test"},
    }
    load_messages(url, [*messages, identify])

    run = run_tap(_config(url))

    assert run.returncode == 0, run.stderr
    expected = python_rollups(messages)
    assert _keyed(run.records("daily_rollups")) == expected
    assert len(run.records("daily_rollups")) == len(expected)
    assert any(r["count"] > FIRST_EVENTS for r in expected.values())  # the limit was exercised
    assert run.records("tracks") == run.records("pages") == run.records("screens") == []
    assert [r["messageId"] for r in run.records("identifies")] == ["i-1"]


@pytest.mark.parametrize("database", ["postgres", "duckdb"])
def test_next_run_recounts_whole_days_that_received_a_row_and_only_those(
    database: str, request: pytest.FixtureRequest, run_tap
) -> None:
    url = request.getfixturevalue(f"{database}_url")
    first_load = _events(seed=2, count=80)
    load_messages(url, first_load, loaded_at=dt.datetime(2026, 3, 5, tzinfo=dt.UTC))
    # The latest arrival is the bookmark; rows arrived exactly then are read again (>=).
    marker = dict(first_load[0], messageId="marker", userId="u-marker")
    load_messages(url, [marker], loaded_at=dt.datetime(2026, 3, 6, tzinfo=dt.UTC))
    config = _config(url)
    config["events_sql"]["overlap_minutes"] = 0  # the overlap would re-cover the first load
    first = run_tap(config)
    assert first.returncode == 0, first.stderr

    # A late row (old event time, new arrival) for an existing key and day.
    late = dict(first_load[3], messageId="late-1")
    load_messages(url, [late], loaded_at=dt.datetime(2026, 3, 9, tzinfo=dt.UTC))
    second = run_tap(config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    everything = python_rollups([*first_load, marker, late])
    (late_key,) = python_rollups([late])
    assert everything[late_key]["count"] > 1  # the re-sent day holds older rows too
    # Each table is read from its own bookmark (>=, so its last load comes again): the
    # days re-sent are those of such rows, each as a complete recount.
    marks = first.final_state["sources"]["events_sql"]["rollup"]
    loads = [(m, "2026-03-05T00:00:00Z") for m in first_load]
    loads += [(marker, "2026-03-06T00:00:00Z"), (late, "2026-03-09T00:00:00Z")]
    again = [m for m, at in loads if at >= marks[m["type"] + "s"]]
    resent = _keyed(second.records("daily_rollups"))
    assert set(resent) == set(python_rollups(again))
    assert late_key in resent
    assert all(record == everything[key] for key, record in resent.items())
    late_table = late["type"] + "s"
    assert second.final_state["sources"]["events_sql"]["rollup"][late_table] == (
        "2026-03-09T00:00:00Z"
    )


@pytest.mark.parametrize("database", ["postgres", "duckdb"])
def test_a_late_load_of_one_table_is_found_though_another_table_loaded_later(
    database: str, request: pytest.FixtureRequest, run_tap
) -> None:
    url = request.getfixturevalue(f"{database}_url")
    tracks = [m for m in _events(seed=4, count=40) if m["type"] == "track"]
    pages = [m for m in _events(seed=5, count=40) if m["type"] == "page"]
    load_messages(url, tracks, loaded_at=dt.datetime(2026, 3, 5, tzinfo=dt.UTC))
    load_messages(url, pages, loaded_at=dt.datetime(2026, 3, 10, tzinfo=dt.UTC))
    config = _config(url)
    first = run_tap(config)
    assert first.returncode == 0, first.stderr

    # The tracks loader was behind: its next load lands days before the pages' last one,
    # far outside the overlap of the pages' bookmark but after the tracks' own.
    late = dict(tracks[2], messageId="late-track")
    load_messages(url, [late], loaded_at=dt.datetime(2026, 3, 6, tzinfo=dt.UTC))
    second = run_tap(config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    (late_key,) = python_rollups([late])
    everything = python_rollups([*tracks, *pages, late])
    resent = _keyed(second.records("daily_rollups"))
    assert resent[late_key] == everything[late_key]
    assert all(record == everything[key] for key, record in resent.items())
