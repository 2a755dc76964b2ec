"""With default settings, raw rows and the push-down roll-up give the transform the same records.

`key_case` defaults to `columns` (traits and properties keep the column names), and
`account_columns` to `context_group_id`, `group_id`. The account of an event that names
it only in `properties.groupId` (column `group_id`) must reach the transform both ways:
the roll-up through `account_columns`, the raw rows as `properties.groupId`.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from tests.sql_pipeline.conftest import transform_config
from tests.sql_pipeline.demo_messages import DemoArchive, as_warehouse_loads
from tests.sql_pipeline.pipeline_runs import run_pipeline
from tests.sql_pipeline.record_comparison import explain, output_differences
from tests.tap_warehouse.segment_warehouse import load_messages

PROPS_ACCOUNT = "acc-only-in-properties"
PROPS_USER = "u-only-in-properties"


def _server_events() -> list[dict[str, t.Any]]:
    """A server library's tracks: the account only in properties.groupId, no context."""
    return [
        {
            "type": "track",
            "messageId": f"props-only-{day}",
            "event": "Project Created",
            "userId": PROPS_USER,
            "timestamp": f"2026-06-{day:02d}T10:00:00Z",
            "receivedAt": f"2026-06-{day:02d}T10:00:01Z",
            "properties": {"groupId": PROPS_ACCOUNT, "projectKind": "api"},
        }
        for day in (20, 21, 22)
    ]


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_raw_and_rollup_give_the_same_records_with_default_settings(
    backend: str,
    demo: DemoArchive,
    tmp_path: Path,
    new_postgres_database: t.Callable[[], str],
) -> None:
    url = (
        new_postgres_database()
        if backend == "postgres"
        else f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    )
    load_messages(url, as_warehouse_loads([*demo.messages, *_server_events()]))
    raw = run_pipeline(
        tmp_path, "raw", {"events_sql": {"url": url}}, transform_config(tmp_path / "raw.duckdb")
    )
    rolled = run_pipeline(
        tmp_path,
        "rollup",
        {"events_sql": {"url": url, "rollup": True}},
        transform_config(tmp_path / "rollup.duckdb"),
    )
    differences = output_differences(raw.records, rolled.records, "raw", "rollup")
    assert not differences, explain(differences)
    # The account named only in properties.groupId is there, with its user, both ways.
    for run in (raw, rolled):
        pairs = {(a.get("user_id"), a.get("account_id")) for a in run.records["associations"]}
        assert (PROPS_USER, PROPS_ACCOUNT) in pairs, sorted(pairs)[:10]
