"""dbt-duckdb on the store's own tables gives the embedded transform's records, field by field.

The input is the store the real `plg-transform` wrote (var plg_input: store), so any
difference is one of the generated models, not of the staging of warehouse tables.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, Phase, given, settings

from ..crosscheck.mapper_cli import run_mapper
from ..crosscheck.message_sets import MessageSet, message_sets
from ..crosscheck.test_fixed_scenarios import AS_OF, CONFIG, EVERY_FIELD_MESSAGES
from .dbt_runs import copy_store_tables, differences, duckdb_records, project_for, run_dbt


def scores_both_ways(config: dict, as_of: str, runs: list[list[dict]], folder: Path) -> None:
    """Each run: the mapper on the store, then dbt on the store's tables; same records."""
    project = project_for(config, folder)
    warehouse = folder / "warehouse.duckdb"
    env = {"PLG_DBT_DUCKDB_PATH": str(warehouse)}
    for number, messages in enumerate(runs, start=1):
        mapper_config = {**config, "store_path": str(folder / "store.duckdb"), "as_of": as_of}
        embedded = run_mapper(mapper_config, messages, folder, run=number)
        copy_store_tables(folder / "store.duckdb", warehouse)
        run_dbt(project, "duckdb", env, {"plg_input": "store", "as_of": as_of})
        found = differences(embedded, duckdb_records(warehouse))
        assert not found, f"run {number}: embedded != dbt:\n" + "\n".join(found[:40])


def test_every_field_scenario(tmp_path: Path) -> None:
    scores_both_ways(CONFIG, AS_OF, [EVERY_FIELD_MESSAGES], tmp_path)


def test_two_loads_of_the_scenario(tmp_path: Path) -> None:
    half = len(EVERY_FIELD_MESSAGES) // 2
    runs = [EVERY_FIELD_MESSAGES[:half], EVERY_FIELD_MESSAGES[half:]]
    scores_both_ways(CONFIG, AS_OF, runs, tmp_path)
    # The second run folded only the new tracks into the incremental per-day aggregates.
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        row = con.execute(
            "SELECT (SELECT sum(n) FROM plg_track_day_counts), (SELECT sum(n) FROM plg_track_days),"
            " (SELECT count(*) FROM plg_messages WHERE kind = 'track'),"
            " (SELECT count(*) - count(DISTINCT day_key) FROM plg_track_days)"
        ).fetchone()
    assert row is not None
    folded, kept, tracks, repeated_keys = row
    assert 0 < folded < tracks == kept and repeated_keys == 0


@settings(
    max_examples=3,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(message_sets())
def test_random_message_sets(message_set: MessageSet) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        scores_both_ways(message_set.config, message_set.as_of, [message_set.messages], Path(tmp))
