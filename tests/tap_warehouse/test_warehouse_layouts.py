"""Warehouse layouts other than one default-named table per type, read like the JSONL archive.

- Segment's per-event tables (`report_exported`...: the track's common columns plus its
  properties as columns) listed under `events_sql.tables.tracks`;
- tables in a schema of their own (`events_sql.schema`, Segment's schema per source);
- tables and columns named otherwise (`events_sql.tables` / `events_sql.columns`).
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from ..tap_runs import TapRun
from .message_set import segment_messages
from .schema_tables import create_tables
from .segment_warehouse import TABLE_OF_TYPE, snake_case, warehouse_row

STREAMS = ("tracks", "identifies", "groups", "pages", "screens", "aliases")


@pytest.fixture(params=["postgres", "duckdb"])
def warehouse_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on each backend."""
    return t.cast(str, request.getfixturevalue(f"{request.param}_url"))


def _by_stream(run: TapRun) -> dict[str, list[dict[str, t.Any]]]:
    return {s: sorted(run.records(s), key=lambda r: r["messageId"]) for s in STREAMS}


def _jsonl_run(
    tmp_path: Path, run_tap: t.Callable[..., TapRun], messages: list[dict[str, t.Any]]
) -> TapRun:
    archive = tmp_path / "events.jsonl"
    archive.write_text("".join(json.dumps(m) + "\n" for m in messages))
    run = run_tap({"events_paths": [str(archive)]})
    assert run.returncode == 0, run.stderr
    return run


def _track_messages() -> list[dict[str, t.Any]]:
    exported = [
        {
            "type": "track",
            "messageId": f"x-{n}",
            "userId": "u-3",
            "event": "Report Exported",
            "timestamp": f"2026-03-02T10:0{n}:00Z",
            "receivedAt": f"2026-03-02T10:0{n}:01Z",
            "context": {"groupId": "acc-3", "libraryName": "analytics.js"},
            "properties": {"format": fmt, "rows": rows, "scheduled": n == 2},
        }
        for n, fmt, rows in ((1, "csv", 120), (2, "xlsx", 7))
    ]
    return [m for m in segment_messages() if m["type"] == "track"] + exported


def test_segment_per_event_tables_listed_under_tracks_give_the_jsonl_tracks_with_properties(
    tmp_path: Path, run_tap: t.Callable[..., TapRun], warehouse_url: str
) -> None:
    messages = _track_messages()
    # Segment's layout: `tracks` holds every track's common columns only, and one table
    # per event holds the same rows plus the event's properties as columns.
    per_event: dict[str, list[dict[str, t.Any]]] = {}
    common: list[dict[str, t.Any]] = []
    for message in messages:
        row = warehouse_row(message)
        per_event.setdefault(snake_case(message["event"]), []).append(row)
        property_columns = {snake_case(k) for k in message.get("properties") or {}}
        common.append({k: v for k, v in row.items() if k not in property_columns})
    create_tables(warehouse_url, {"tracks": common, **per_event})
    event_tables = sorted(per_event)
    assert "report_exported" in event_tables

    from_jsonl = _jsonl_run(tmp_path, run_tap, messages)
    # A listed table that is not there (no such event yet) is a warning, not a failure.
    listed = [*event_tables, "order_completed"]
    from_sql = run_tap({"events_sql": {"url": warehouse_url, "tables": {"tracks": listed}}})

    assert from_sql.returncode == 0, from_sql.stderr
    assert _by_stream(from_sql) == _by_stream(from_jsonl)
    exported = {r["messageId"]: r for r in from_sql.records("tracks")}["x-1"]
    assert exported["event"] == "Report Exported"
    assert exported["properties"] == {"format": "csv", "rows": 120, "scheduled": False}
    assert "no table order_completed; its tracks are skipped" in from_sql.stderr
    bookmarks = from_sql.final_state["sources"]["events_sql"]["tables"]
    assert sorted(bookmarks) == event_tables


def test_tables_of_the_configured_schema_are_read_and_not_those_of_the_default_schema(
    tmp_path: Path, run_tap: t.Callable[..., TapRun], warehouse_url: str
) -> None:
    messages = segment_messages()
    tables: dict[str, list[dict[str, t.Any]]] = {}
    for message in messages:
        tables.setdefault(TABLE_OF_TYPE[message["type"]], []).append(warehouse_row(message))
    create_tables(warehouse_url, tables, schema="segment_prod")
    decoy = dict(messages[0], messageId="decoy-in-default-schema")
    create_tables(warehouse_url, {"tracks": [warehouse_row(decoy)]})

    from_jsonl = _jsonl_run(tmp_path, run_tap, messages)
    from_sql = run_tap({"events_sql": {"url": warehouse_url, "schema": "segment_prod"}})

    assert from_sql.returncode == 0, from_sql.stderr
    assert _by_stream(from_sql) == _by_stream(from_jsonl)
    bookmarks = from_sql.final_state["sources"]["events_sql"]["tables"]
    assert sorted(bookmarks) == sorted(f"segment_prod.{name}" for name in tables)


# A custom naming (an in-house loader): other table names, other column names.
RENAMED_TABLES = {
    "tracks": "product_events",
    "identifies": "user_profiles",
    "groups": "account_profiles",
    "pages": "page_views",
    "screens": "screen_views",
}
RENAMED_COLUMNS = {
    "id": "message_id",
    "user_id": "customer_id",
    "anonymous_id": "device_id",
    "timestamp": "event_time",
    "received_at": "received_time",
    "uuid_ts": "_loaded_at",
    "event_text": "event_name",
    "group_id": "account_id",
    "context_ip": "ip_address",
}


def test_renamed_tables_and_columns_give_the_jsonl_records_and_an_empty_list_skips_a_type(
    tmp_path: Path, run_tap: t.Callable[..., TapRun], warehouse_url: str
) -> None:
    messages = segment_messages()
    tables: dict[str, list[dict[str, t.Any]]] = {}
    for message in messages:
        stream = TABLE_OF_TYPE[message["type"]]
        row = {RENAMED_COLUMNS.get(k, k): v for k, v in warehouse_row(message).items()}
        tables.setdefault(RENAMED_TABLES.get(stream, stream), []).append(row)
    assert "aliases" in tables  # present, but configured away below
    create_tables(warehouse_url, tables)

    from_jsonl = _jsonl_run(tmp_path, run_tap, messages)
    from_sql = run_tap(
        {
            "events_sql": {
                "url": warehouse_url,
                # A plain string names one table; an empty list skips the type.
                "tables": {**RENAMED_TABLES, "aliases": []},
                "columns": RENAMED_COLUMNS,
            }
        }
    )

    assert from_sql.returncode == 0, from_sql.stderr
    expected = _by_stream(from_jsonl)
    assert expected["aliases"]
    expected["aliases"] = []
    assert _by_stream(from_sql) == expected
    # The renamed bookkeeping column (`_loaded_at` for uuid_ts) is the arrival column and
    # stays out of the messages; the renamed ip column lands in context as `ip`.
    track = {r["messageId"]: r for r in from_sql.records("tracks")}["t-4"]
    assert "_loaded_at" not in track["properties"]
    assert track["context"] == {"ip": "10.0.0.2"}
    bookmarks = from_sql.final_state["sources"]["events_sql"]["tables"]
    assert sorted(bookmarks) == sorted(RENAMED_TABLES.values())
