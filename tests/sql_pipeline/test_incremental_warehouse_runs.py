"""Warehouse runs on one store, STATE handed over, equal one JSON-lines run over everything.

Rows arrive in the warehouse in two loads: everything received before a cut-off, then the
rest. The second load holds late rows (messages of mobile clients sent days later, whose
days the first run already counted or rolled up) and one row that committed late: its load
time (`uuid_ts`) lies before the first run's bookmark, within `overlap_minutes`. Each run
is `tap-product-events --state <the transform's last STATE> | plg-transform` on the same
store, as Meltano runs them.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from pathlib import Path

import pytest

from tests.sql_pipeline.conftest import transform_config
from tests.sql_pipeline.demo_messages import (
    DemoArchive,
    as_warehouse_loads,
    event_day,
    instant,
    write_jsonl,
)
from tests.sql_pipeline.pipeline_runs import (
    PipelineRun,
    read_counts,
    run_pipeline,
    sql_tap_config,
)
from tests.sql_pipeline.record_comparison import explain, output_differences
from tests.tap_warehouse.segment_warehouse import load_messages

# 30 of the archive's 40 days arrive before the first run; the first load ends with tracks,
# so the late commit below lies before both the tracks table's bookmark (raw mode) and the
# roll-up's bookmark (the latest arrival of tracks, pages and screens).
CUT_OFF = "2026-06-20T07:00:00Z"
LOAD_DELAY = dt.timedelta(seconds=30)  # segment_warehouse: uuid_ts = receivedAt + 30 s
LATE_COMMIT = dt.timedelta(minutes=10)  # before the bookmark, within the 60 min overlap


class Deliveries(t.NamedTuple):
    """The two loads, and the row of the second that committed before the first run's mark."""

    first: list[dict[str, t.Any]]
    second: list[dict[str, t.Any]]
    late_commit: dict[str, t.Any]
    late_commit_loaded_at: dt.datetime


def _day_key(message: dict[str, t.Any]) -> tuple[t.Any, ...]:
    return (message.get("userId"), message.get("event"), event_day(message))


@pytest.fixture(scope="session")
def deliveries(demo: DemoArchive) -> Deliveries:
    """Split the demo's messages by arrival around CUT_OFF."""
    cut = instant(CUT_OFF)
    arrived = sorted(demo.messages, key=lambda m: instant(m["receivedAt"]))
    first = [m for m in arrived if instant(m["receivedAt"]) < cut]
    second = [m for m in arrived if instant(m["receivedAt"]) >= cut]
    # The latest track of the first load but one commits only after the first run,
    # stamped 10 minutes before that run's bookmark (the first load's last row, a track).
    assert first[-1]["type"] == "track"
    late_commit = next(m for m in reversed(first[:-1]) if m["type"] == "track")
    first.remove(late_commit)
    bookmark = instant(first[-1]["receivedAt"]) + LOAD_DELAY
    return Deliveries(first, [late_commit, *second], late_commit, bookmark - LATE_COMMIT)


@pytest.fixture(scope="session")
def first_delivery_jsonl_run(
    deliveries: Deliveries, tmp_path_factory: pytest.TempPathFactory
) -> PipelineRun:
    """The reference after the first load: those messages as JSON lines, as of CUT_OFF."""
    folder = tmp_path_factory.mktemp("jsonl-first-delivery")
    archive = write_jsonl(folder / "first.jsonl", deliveries.first)
    return run_pipeline(
        folder,
        "jsonl-first",
        {"events_paths": [str(archive)]},
        transform_config(folder / "store.duckdb", as_of=CUT_OFF),
    )


def test_the_second_load_has_late_rows_for_days_already_counted(deliveries: Deliveries) -> None:
    counted_days = {_day_key(m) for m in deliveries.first if m["type"] == "track"}
    late = [
        m
        for m in deliveries.second
        if m["type"] == "track" and event_day(m) < CUT_OFF[:10] and _day_key(m) in counted_days
    ]
    assert len(late) >= 3  # besides the late commit, mobile clients' late messages
    assert event_day(deliveries.late_commit) <= CUT_OFF[:10]


RUNS = [
    pytest.param("postgres", False, False, id="postgres-raw"),
    pytest.param("postgres", True, True, id="postgres-rollup"),
    pytest.param("duckdb", False, False, id="duckdb-raw"),
    pytest.param("duckdb", True, True, id="duckdb-rollup"),
    # Switching a source to push-down: the second run re-counts the days sent raw.
    pytest.param("postgres", False, True, id="postgres-raw-then-rollup"),
    pytest.param("duckdb", False, True, id="duckdb-raw-then-rollup"),
]


@pytest.mark.parametrize(("backend", "first_rollup", "then_rollup"), RUNS)
def test_incremental_warehouse_runs_equal_one_jsonl_run_over_everything(
    backend: str,
    first_rollup: bool,
    then_rollup: bool,
    deliveries: Deliveries,
    jsonl_run: PipelineRun,
    first_delivery_jsonl_run: PipelineRun,
    new_postgres_database: t.Callable[[], str],
    tmp_path: Path,
) -> None:
    if backend == "postgres":
        url = new_postgres_database()
    else:
        url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    name = f"{backend}-{'rollup' if first_rollup else 'raw'}"
    then = f"{backend}-{'rollup' if then_rollup else 'raw'}"
    store = tmp_path / "store.duckdb"

    load_messages(url, as_warehouse_loads(deliveries.first))
    first = run_pipeline(
        tmp_path, "run-1", sql_tap_config(url, first_rollup), transform_config(store, CUT_OFF)
    )
    differences = output_differences(first.records, first_delivery_jsonl_run.records, name)
    assert not differences, "after the first run:\n" + explain(differences)
    assert first.state is not None and "plg_transform" in first.state

    load_messages(
        url, as_warehouse_loads([deliveries.late_commit]), deliveries.late_commit_loaded_at
    )
    load_messages(url, as_warehouse_loads(deliveries.second[1:]))
    tap_config = sql_tap_config(url, then_rollup)
    second = run_pipeline(tmp_path, "run-2", tap_config, transform_config(store), first.state)
    differences = output_differences(second.records, jsonl_run.records, then)
    assert not differences, "after the second run:\n" + explain(differences)

    # The second run was incremental: it read the new rows (and the overlap), not everything.
    raw_read, rollups_read = read_counts(second.tap_log)
    _, rollups_before = read_counts(first.tap_log)
    if first_rollup:
        assert 0 < rollups_read < rollups_before
    elif not then_rollup:
        assert len(deliveries.second) <= raw_read < len(deliveries.second) + 50

    # A third run with nothing new (only the overlap comes again) changes nothing.
    third = run_pipeline(tmp_path, "run-3", tap_config, transform_config(store), second.state)
    differences = output_differences(third.records, jsonl_run.records, then)
    assert not differences, "after a run with no new rows:\n" + explain(differences)
