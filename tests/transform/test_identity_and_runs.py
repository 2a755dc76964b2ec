"""Stitching, dedup, incremental runs and STATE ordering, through the real CLI."""

from __future__ import annotations

import json

from .conftest import record, state, track


def test_late_link_in_a_later_run_moves_anonymous_events_to_the_user(run_transform):
    first = run_transform(
        [
            track("t1", None, "Run", "2026-02-20T10:00:00Z", "acc", anon="anon1"),
            track("t2", None, "Run", "2026-02-21T10:00:00Z", anon="never-linked"),
            record("identifies", messageId="i0", userId="u1", timestamp="2026-02-01T00:00:00Z"),
        ]
    )
    assert first.by_key("contacts")["u1"]["score_reasons"] == ""
    assert "companies" not in first.records  # only never-linked events named acc
    second = run_transform(
        [
            record(
                "identifies",
                messageId="i1",
                userId="u1",
                anonymousId="anon1",
                timestamp="2026-02-22T00:00:00Z",
            ),
        ]
    )
    user = second.by_key("contacts")["u1"]
    assert user["score_reasons"] == "Run x1"
    assert second.by_key("companies")["acc"]["active_users"] == 1
    assert set(second.by_key("associations")) == {("u1", "acc")}


def test_earliest_link_wins_by_time_then_message_id(run_transform):
    out = run_transform(
        [
            record(
                "aliases",
                messageId="b",
                userId="late",
                previousId="anon",
                timestamp="2026-02-10T00:00:00Z",
            ),
            record(
                "identifies",
                messageId="z",
                userId="second",
                anonymousId="anon",
                timestamp="2026-02-05T00:00:00Z",
            ),
            record(
                "identifies",
                messageId="a",
                userId="first",
                anonymousId="anon",
                timestamp="2026-02-05T00:00:00Z",
            ),
            track("t", None, "Run", "2026-02-25T10:00:00Z", anon="anon"),
            # a track event carrying both ids does not link
            track("t2", "other", "Run", "2026-02-25T10:00:00Z", anon="anon2"),
            track("t3", None, "Run", "2026-02-25T10:00:00Z", anon="anon2"),
        ]
    )
    users = out.by_key("contacts")
    assert users["first"]["score_reasons"] == "Run x1"
    assert users["second"]["score_reasons"] == ""
    assert users["other"]["score_reasons"] == "Run x1"


def test_redelivered_message_counts_once_within_and_across_runs(run_transform):
    line = track("dup", "u", "Run", "2026-02-25T10:00:00Z")
    changed_copy = track("dup", "u", "Run", "2026-02-26T10:00:00Z")  # first copy wins
    first = run_transform([line, line, changed_copy])
    assert first.by_key("contacts")["u"]["score_reasons"] == "Run x1"
    second = run_transform([changed_copy, line])
    user = second.by_key("contacts")["u"]
    assert user["score_reasons"] == "Run x1"
    assert user["last_active_at"] == "2026-02-25T10:00:00Z"
    assert "re-delivered" in second.log


def _history() -> list[str]:
    lines = []
    for i in range(60):
        user = f"u{i % 7}"
        day = 1 + (i * 5) % 28
        month = 1 + i % 2
        ts = f"2026-{month:02d}-{day:02d}T{i % 24:02d}:00:00Z"
        if i % 11 == 0:
            lines.append(
                record(
                    "identifies",
                    messageId=f"i{i}",
                    userId=user,
                    anonymousId=f"a{i}",
                    timestamp=ts,
                    traits={"email": f"{user}@x.io", "plan": f"p{i}"},
                )
            )
        elif i % 13 == 0:
            lines.append(
                record(
                    "groups",
                    messageId=f"g{i}",
                    userId=user,
                    groupId=f"acc{i % 3}",
                    timestamp=ts,
                    traits={"name": f"N{i}", "role": f"r{i}"},
                )
            )
        elif i % 5 == 0:
            lines.append(track(f"t{i}", None, "Run", ts, f"acc{i % 3}", anon=f"a{(i // 11) * 11}"))
        else:
            lines.append(track(f"t{i}", user, ["Run", "Walk", "Jump"][i % 3], ts, f"acc{i % 3}"))
    lines.append(
        record(
            "metrics",
            entity="account",
            account_id="acc1",
            metric="seats",
            value=i,
            observed_at="2026-02-01T00:00:00Z",
        )
    )
    return lines


def test_k_incremental_runs_give_exactly_the_records_of_one_full_run(run_transform, tmp_path):
    config = {
        "events": {"Run": {"weight": 2, "feature": "f1"}, "Walk": {"weight": 1}},
        "user_traits": ["plan"],
        "activation": {"milestones": [{"name": "m", "event": "Run", "count": 2}]},
    }
    lines = _history()
    incremental = None
    for part in (lines[:20], lines[20:45] + lines[:5], lines[45:]):
        incremental = run_transform(part, config)
    (tmp_path / "store.duckdb").unlink()
    full = run_transform(lines, config)
    assert incremental is not None
    for stream in ("companies", "contacts", "associations"):
        assert incremental.records[stream] == full.records[stream], stream


def test_state_is_held_back_and_only_the_latest_is_forwarded_after_records(run_transform):
    out = run_transform(
        [
            state({"bookmarks": {"tracks": {"n": 1}}}),
            track("1", "u", "Run", "2026-02-25T10:00:00Z"),
            state({"bookmarks": {"tracks": {"n": 2}}}),
        ]
    )
    kinds = [(m["type"], m.get("stream")) for m in out.messages]
    assert kinds == [
        ("SCHEMA", "companies"),
        ("SCHEMA", "contacts"),
        ("RECORD", "contacts"),
        ("SCHEMA", "associations"),
        ("STATE", None),
    ]
    forwarded = out.messages[-1]["value"]
    assert forwarded["bookmarks"] == {"tracks": {"n": 2}}
    assert set(forwarded) == {"bookmarks", "plg_transform"}


def test_state_is_forwarded_even_without_any_records(run_transform):
    out = run_transform([state({"bookmarks": {"x": 1}})])
    assert out.messages[-1]["type"] == "STATE"
    assert out.messages[-1]["value"]["bookmarks"] == {"x": 1}
    assert "store_id" in out.messages[-1]["value"]["plg_transform"]
    assert [m["type"] for m in out.messages].count("RECORD") == 0


def test_bad_input_is_counted_and_reported_without_stopping(run_transform):
    out = run_transform(
        [
            track("ok", "u", "Run", "2026-02-25T10:00:00Z"),
            record("tracks", messageId="notime", userId="u", event="Run", timestamp="yesterday"),
            record("tracks", messageId="noid", event="Run", timestamp="2026-02-25"),
            record(
                "identifies",
                messageId="badtraits",
                userId="u",
                traits="oops",
                timestamp="2026-02-25",
            ),
            record(
                "identifies",
                messageId="mail",
                userId="v",
                traits={"email": "not-an-email"},
                timestamp="2026-02-25",
            ),
            record("unknown_stream", x=1),
        ]
    )
    assert out.by_key("contacts")["v"]["email"] is None
    log = out.log
    assert "bad input: no_time: 1" in log and "notime" in log
    assert "bad input: no_identity: 1" in log
    assert "bad input: malformed_traits: 1" in log
    assert "bad input: invalid_email: 1" in log
    assert "unknown stream 'unknown_stream': 1" in log


def test_strict_mode_stops_at_bad_input(run_transform):
    out = run_transform(
        [record("tracks", messageId="noid", event="Run", timestamp="2026-02-25")],
        {"strict": True},
        check=False,
    )
    assert out.returncode != 0
    assert "no_identity" in out.log


def test_missing_message_id_gets_a_content_id_so_copies_count_once(run_transform):
    body = {"type": "track", "userId": 42, "event": "Run", "timestamp": "2026-02-25"}
    lines = [
        json.dumps({"type": "RECORD", "stream": "tracks", "record": {**body, "sentAt": "a"}}),
        json.dumps({"type": "RECORD", "stream": "tracks", "record": {**body, "sentAt": "b"}}),
    ]
    out = run_transform(lines)
    assert out.by_key("contacts")["42"]["score_reasons"] == "Run x1"
