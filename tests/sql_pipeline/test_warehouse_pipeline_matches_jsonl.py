"""The same messages through JSON lines, PostgreSQL and DuckDB tables, raw and rolled up.

Each pipeline is `tap-product-events | plg-transform` as real piped processes with the
scoring model of meltano.yml and an explicit as_of after the data; the companies,
contacts and associations must be identical field by field to the JSON-lines path's.
The warehouse tables are rebuilt with `key_case: camel`, so traits and properties come
back with the names the JSON-lines messages have (`firstName`, `properties.groupId`) and
the transform's config needs no change for the warehouse.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from tests.sql_pipeline.conftest import transform_config
from tests.sql_pipeline.demo_messages import DemoArchive, as_warehouse_loads
from tests.sql_pipeline.pipeline_runs import PipelineRun, read_counts, run_pipeline, sql_tap_config
from tests.sql_pipeline.record_comparison import explain, output_differences
from tests.tap_warehouse.segment_warehouse import load_messages

SOURCES = [
    pytest.param("postgres", False, id="postgres-raw"),
    pytest.param("postgres", True, id="postgres-rollup"),
    pytest.param("duckdb", False, id="duckdb-raw"),
    pytest.param("duckdb", True, id="duckdb-rollup"),
]


@pytest.fixture
def warehouse_url(
    request: pytest.FixtureRequest, tmp_path: Path, new_postgres_database: t.Callable[[], str]
) -> t.Callable[[str], str]:
    """An empty warehouse database of a backend: a new PostgreSQL database or DuckDB file."""

    def make(backend: str) -> str:
        if backend == "postgres":
            return new_postgres_database()
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"

    return make


def test_the_jsonl_reference_scores_the_demo_for_real(jsonl_run: PipelineRun) -> None:
    # The comparisons below are only as good as the reference: it must exercise the model.
    contacts = jsonl_run.by_key("contacts")
    companies = jsonl_run.by_key("companies")
    associations = jsonl_run.by_key("associations")
    assert len(contacts) >= 20 and len(companies) == 8 and len(associations) >= len(contacts)
    assert sum(r["engagement_score"] > 0 for r in contacts.values()) >= 15
    assert any(r["activated"] for r in contacts.values())
    assert any(r["segments"] for r in contacts.values())
    assert any(r["features_used"] for r in companies.values())
    assert all(r["as_of"] == "2026-07-01T00:00:00Z" for r in contacts.values())


@pytest.mark.parametrize(("backend", "rollup"), SOURCES)
def test_warehouse_tables_give_the_crm_records_of_the_jsonl_archive(
    backend: str,
    rollup: bool,
    demo: DemoArchive,
    jsonl_run: PipelineRun,
    warehouse_url: t.Callable[[str], str],
    tmp_path: Path,
) -> None:
    url = warehouse_url(backend)
    load_messages(url, as_warehouse_loads(demo.messages))
    name = f"{backend}-{'rollup' if rollup else 'raw'}"
    run = run_pipeline(
        tmp_path, name, sql_tap_config(url, rollup), transform_config(tmp_path / "store.duckdb")
    )
    differences = output_differences(run.records, jsonl_run.records, name)
    assert not differences, explain(differences)
    # Every row was read (the warehouse keeps re-delivered copies as rows too), none skipped.
    raw_read, rollups_read = read_counts(run.tap_log)
    events = sum(m["type"] in ("track", "page", "screen") for m in demo.messages)
    if rollup:
        assert raw_read == len(demo.messages) - events and rollups_read > 0
        assert f"stored {rollups_read} roll-up rows" in run.transform_log
    else:
        assert (raw_read, rollups_read) == (len(demo.messages), 0)
    assert "Skipped bad row" not in run.tap_log
