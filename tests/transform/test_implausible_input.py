"""Implausible event times and huge input lines are reported bad input, never scored as given.

Rule (docs/metrics.md): an event time before `earliest_event_time` (default 2000-01-01) or
more than `max_clock_skew_hours` (default 24) after the run started is replaced by the
message's `receivedAt` when that is plausible (reported `implausible_time`); otherwise the
message is ignored (`implausible_time_dropped`). A `createdAt` trait before the earliest
time is ignored. A RECORD line over `max_record_bytes` is skipped and reported.
"""

from __future__ import annotations

import json

from .conftest import record, track


def test_a_year_one_timestamp_falls_back_to_received_at_and_is_reported(run_transform):
    out = run_transform(
        [
            record(
                "tracks",
                messageId="old",
                type="track",
                userId="u",
                event="Run",
                timestamp="0001-01-01T00:00:00Z",
                receivedAt="2026-02-20T10:00:00Z",
            ),
            record(
                "tracks",
                messageId="nowhere",
                type="track",
                userId="u",
                event="Run",
                timestamp="0001-01-01T00:00:00Z",
            ),
            record(
                "tracks",
                messageId="later",
                type="track",
                userId="u",
                event="Run",
                timestamp="2999-01-01T00:00:00Z",
                receivedAt="2999-01-01T00:00:00Z",
            ),
            record(
                "identifies",
                messageId="id1",
                type="identify",
                userId="u",
                timestamp="2026-02-20T10:00:00Z",
                traits={"createdAt": "0001-01-01T00:00:00Z"},
            ),
        ]
    )
    contact = out.by_key("contacts")["u"]
    assert contact["tenure_days"] < 30  # not 739,000 days
    assert contact["first_seen_at"].startswith("2026-02-20")
    assert contact["score_reasons"] == "Run x1"
    assert "bad input: implausible_time: 1 " in out.log and "old (0001-01-01" in out.log
    assert "bad input: implausible_time_dropped: 2 " in out.log
    assert "nowhere" in out.log and "later" in out.log
    assert "bad input: implausible_created_at: 1 " in out.log


def test_a_huge_record_line_is_reported_and_skipped_and_the_rest_scored(run_transform):
    huge = json.dumps(
        {
            "type": "RECORD",
            "stream": "tracks",
            "record": {"messageId": "big", "type": "track", "blob": "x" * (5 * 1024 * 1024)},
        }
    )
    out = run_transform(
        [
            track("a", "u", "Run", "2026-02-20T10:00:00Z"),
            huge,
            track("b", "u", "Run", "2026-02-21T10:00:00Z"),
        ],
        {"max_record_bytes": 4 * 1024 * 1024, "store_memory_limit": "128MB"},
    )
    assert out.by_key("contacts")["u"]["score_reasons"] == "Run x2"
    assert "bad input: oversize_line: 1 " in out.log
    assert "input line 2 (5242" in out.log


def test_strict_stops_at_an_implausible_time_that_cannot_be_repaired(run_transform):
    out = run_transform(
        [track("a", "u", "Run", "1970-01-01T00:00:00Z")], {"strict": True}, check=False
    )
    assert out.returncode != 0
    assert "implausible_time_dropped" in out.log
