"""Messages become records exactly as docs/pipeline-contract.md says."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

CONTRACT_FIELDS = {
    "tracks": {"event", "properties"},
    "identifies": {"traits"},
    "groups": {"groupId", "traits"},
    "pages": {"name", "properties"},
    "screens": {"name", "properties"},
    "aliases": {"previousId"},
}
COMMON = {
    "messageId", "type", "userId", "anonymousId", "timestamp",
    "originalTimestamp", "sentAt", "receivedAt", "context",
}  # fmt: skip


def expected_message_id(message: dict) -> str:
    """The contract's rule, written out independently of the tap's code."""
    kept = {k: v for k, v in message.items() if k not in ("messageId", "receivedAt", "sentAt")}
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_each_message_type_lands_in_its_stream_with_exactly_the_contract_fields(
    tmp_path: Path, run_tap, archive
) -> None:
    path = archive(
        tmp_path / "a.jsonl",
        [
            {"type": "track", "messageId": "t", "event": "E", "channel": "client", "x": 1},
            {"type": "identify", "messageId": "i", "traits": {"a": 1}, "integrations": {}},
            {"type": "group", "messageId": "g", "groupId": "acct", "traits": {}},
            {"type": "page", "messageId": "p", "name": "Home", "category": "Docs"},
            {"type": "screen", "messageId": "s", "name": "Main"},
            {"type": "alias", "messageId": "a", "previousId": "old", "userId": "new"},
        ],
    )
    run = run_tap({"events_paths": [str(path)]})
    assert run.returncode == 0, run.stderr
    # One pass over the input serves all six streams.
    assert run.stderr.count("events_paths: 6 new messages, 1 file read") == 1
    for stream, extra in CONTRACT_FIELDS.items():
        records = run.records(stream)
        assert len(records) == 1, stream
        assert set(records[0]) == COMMON | extra, stream
    assert run.records("pages")[0]["name"] == "Home"
    assert run.records("aliases")[0]["previousId"] == "old"


def test_message_without_id_gets_the_sha256_of_its_canonical_json(
    tmp_path: Path, run_tap, archive
) -> None:
    message = {
        "type": "track",
        "userId": "u-1",
        "event": "Café ouvert",  # non-ASCII is hashed as UTF-8, not \\u-escaped
        "properties": {"z": 1, "a": {"y": [1, 2.5], "b": None}},
        "timestamp": "2026-03-01T09:00:00Z",
        "sentAt": "2026-03-01T09:00:01Z",
        "receivedAt": "2026-03-01T09:00:02Z",
    }
    resent = {**message, "sentAt": "2026-03-02T00:00:00Z", "receivedAt": "2026-03-02T00:00:01Z"}
    path = archive(tmp_path / "a.jsonl", [message, {**message, "messageId": ""}, resent])
    run = run_tap({"events_paths": [str(path)]})

    ids = [r["messageId"] for r in run.records("tracks")]
    assert ids == [expected_message_id(message)] * 3


def test_numeric_ids_become_decimal_strings_and_empty_ids_null(
    tmp_path: Path, run_tap, archive
) -> None:
    path = archive(
        tmp_path / "a.jsonl",
        [
            {"type": "group", "messageId": 42, "userId": 7, "anonymousId": "", "groupId": 9.0},
            {"type": "alias", "messageId": 43, "userId": "u", "previousId": 123456789012},
        ],
    )
    run = run_tap({"events_paths": [str(path)]})
    group = run.records("groups")[0]
    assert (group["messageId"], group["userId"], group["anonymousId"], group["groupId"]) == (
        "42", "7", None, "9",
    )  # fmt: skip
    alias = run.records("aliases")[0]
    assert (alias["messageId"], alias["previousId"]) == ("43", "123456789012")


def test_properties_traits_context_and_timestamps_pass_through_unchanged(
    tmp_path: Path, run_tap, archive
) -> None:
    properties = {"amount": 12.5, "tags": ["a", 1, None], "deep": {"x": {"y": "2026-01-01"}}}
    context = {"ip": "10.0.0.1", "traits": {"plan": "pro"}, "library": {"name": "x"}}
    path = archive(
        tmp_path / "a.jsonl",
        [
            {
                "type": "track",
                "messageId": "m",
                "event": "E",
                "properties": properties,
                "context": context,
                "timestamp": "2026-03-01 09:00:00+02:00",
                "originalTimestamp": "not a time",
            }
        ],
    )
    record = run_tap({"events_paths": [str(path)]}).records("tracks")[0]
    assert record["properties"] == properties
    assert record["context"] == context
    assert record["timestamp"] == "2026-03-01 09:00:00+02:00"
    assert record["originalTimestamp"] == "not a time"
