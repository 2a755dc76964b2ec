"""How columns become message fields: `json_columns`, `ignore_columns`, `key_case`, `type`."""

from __future__ import annotations

import datetime as dt
import json
import typing as t
from pathlib import Path

import pytest

from ..tap_runs import TapRun
from .schema_tables import create_tables
from .segment_warehouse import TABLE_OF_TYPE, warehouse_row

T = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


@pytest.fixture(params=["postgres", "duckdb"])
def warehouse_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on each backend."""
    return t.cast(str, request.getfixturevalue(f"{request.param}_url"))


def _common(mid: str) -> dict[str, t.Any]:
    return {
        "id": mid,
        "user_id": "u-1",
        "timestamp": T,
        "received_at": T,
        "uuid_ts": T,
        "context_library_name": "analytics.js",
        "context_page_path": "/reports",
    }


def _load(url: str) -> None:
    track = {
        **_common("t-1"),
        "event": "report_exported",
        "event_text": "Report Exported",
        "properties": '{"source": "web"}',  # named `properties`: always JSON
        "cart_items": '{"sku": "a-1", "qty": 2}',  # JSON text: parsed only if listed
        "internal_note": "do not ship",
        "plan_name": "pro",
        "seat_count": 3,
    }
    identify = {**_common("i-1"), "traits": '{"role": "admin"}', "first_name": "Ada"}
    create_tables(url, {"tracks": [track], "identifies": [identify]})


def test_json_columns_are_parsed_ignored_columns_dropped_and_keys_keep_column_names(
    warehouse_url: str, run_tap: t.Callable[..., TapRun]
) -> None:
    _load(warehouse_url)
    run = run_tap(
        {
            "events_sql": {
                "url": warehouse_url,
                "json_columns": ["cart_items"],
                "ignore_columns": ["internal_note"],
            }
        }
    )

    assert run.returncode == 0, run.stderr
    [track] = run.records("tracks")
    assert track["event"] == "Report Exported"
    assert track["properties"] == {
        "source": "web",
        "cart_items": {"sku": "a-1", "qty": 2},
        "plan_name": "pro",
        "seat_count": 3,
    }
    assert track["context"] == {"libraryName": "analytics.js", "pagePath": "/reports"}
    [identify] = run.records("identifies")
    assert identify["traits"] == {"role": "admin", "first_name": "Ada"}


def test_key_case_camel_turns_column_keys_into_camel_case_and_unlisted_columns_stay_as_they_are(
    warehouse_url: str, run_tap: t.Callable[..., TapRun]
) -> None:
    _load(warehouse_url)
    run = run_tap({"events_sql": {"url": warehouse_url, "key_case": "camel"}})

    assert run.returncode == 0, run.stderr
    [track] = run.records("tracks")
    # Not in json_columns: the JSON text is passed as text; not ignored: it is a property.
    assert track["properties"] == {
        "source": "web",
        "cartItems": '{"sku": "a-1", "qty": 2}',
        "internalNote": "do not ship",
        "planName": "pro",
        "seatCount": 3,
    }
    # Context keys are camelCase in both modes.
    assert track["context"] == {"libraryName": "analytics.js", "pagePath": "/reports"}
    [identify] = run.records("identifies")
    assert identify["traits"] == {"role": "admin", "firstName": "Ada"}


def test_a_type_column_is_a_property_or_trait_unless_it_holds_the_message_type(
    tmp_path: Path, warehouse_url: str, run_tap: t.Callable[..., TapRun]
) -> None:
    def message(mid: str, kind: str, **fields: t.Any) -> dict[str, t.Any]:
        return {
            "type": kind,
            "messageId": mid,
            "userId": "u-1",
            "timestamp": "2026-03-01T09:00:00Z",
            "receivedAt": "2026-03-01T09:00:01Z",
            **fields,
        }

    messages = [
        message("t-1", "track", event="Report Exported", properties={"type": "csv"}),
        message("t-2", "track", event="Report Exported", properties={"rows": 3}),
        message("g-1", "group", groupId="acc-1", traits={"type": "enterprise", "seats": 5}),
        message("i-1", "identify", traits={"email": "ada@example.com"}),
    ]
    tables: dict[str, list[dict[str, t.Any]]] = {}
    for m in messages:
        row = warehouse_row(m)
        if m["type"] == "identify":
            row["type"] = "identify"  # a loader's bookkeeping column: the message type
        tables.setdefault(TABLE_OF_TYPE[m["type"]], []).append(row)
    create_tables(warehouse_url, tables)
    archive = tmp_path / "events.jsonl"
    archive.write_text("".join(json.dumps(m) + "\n" for m in messages))

    from_jsonl = run_tap({"events_paths": [str(archive)]})
    from_sql = run_tap({"events_sql": {"url": warehouse_url}})

    assert from_sql.returncode == 0, from_sql.stderr
    assert sorted(from_sql.records(), key=lambda r: r["messageId"]) == sorted(
        from_jsonl.records(), key=lambda r: r["messageId"]
    )
    groups = from_sql.records("groups")
    assert groups[0]["traits"] == {"type": "enterprise", "seats": 5}
