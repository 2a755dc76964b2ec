"""BATCH output from warehouse tables (raw and rolled up) gives the RECORD path's outputs.

The warehouse source still hands the tap one row at a time; with `batch_config` its
records (and the `daily_rollups` stream's) are staged and written as batch files all the
same, and the transform must compute the same CRM records from them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sql_pipeline.conftest import transform_config
from tests.sql_pipeline.demo_messages import DemoArchive, as_warehouse_loads, demo_archive
from tests.sql_pipeline.pipeline_runs import sql_tap_config
from tests.tap_batch.pipelines import assert_same_outcome, batch_config, record_and_batch_runs
from tests.tap_warehouse.segment_warehouse import load_messages


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoArchive:
    """The small demo archive with the edge cases of other libraries."""
    return demo_archive(tmp_path_factory.mktemp("small-demo"))


@pytest.mark.parametrize("rollup", [False, True], ids=["raw", "rollup"])
def test_duckdb_warehouse_in_batch_mode_gives_the_same_crm_records(
    small_demo: DemoArchive, tmp_path: Path, rollup: bool
) -> None:
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    load_messages(url, as_warehouse_loads(small_demo.messages))
    record, batched = record_and_batch_runs(
        tmp_path,
        sql_tap_config(url, rollup),
        lambda folder: transform_config(folder / "store.duckdb"),
        batch_config(tmp_path / "batches", "parquet", "none"),
    )
    assert_same_outcome(record, batched)
    if rollup:
        assert any("daily_rollups" in p.name for p in (tmp_path / "batches").iterdir())
