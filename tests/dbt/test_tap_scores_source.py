"""The tap's `scores_sql` source emits what plg-transform emits: same SCHEMAs, same records.

dbt-duckdb computes the scores of the every-field scenario from the store's tables; the
real tap reads them (`scores_sql`) and its output is compared, message by message, with
the real mapper's output for the same messages.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from ..crosscheck.mapper_cli import MAPPER, singer_input
from ..crosscheck.test_fixed_scenarios import AS_OF, CONFIG, EVERY_FIELD_MESSAGES
from ..tap_runs import run_tap_cli
from .dbt_runs import copy_store_tables, differences, project_for, run_dbt

STREAMS = ("companies", "contacts", "associations")


def mapper_output(config: dict, folder: Path) -> list[dict]:
    """Every Singer message the real plg-transform writes for the scenario."""
    path = folder / "transform.json"
    path.write_text(json.dumps(config))
    done = subprocess.run(
        [str(MAPPER), "--config", str(path)],
        input=singer_input(EVERY_FIELD_MESSAGES, {}),
        capture_output=True,
        text=True,
        cwd=folder,
        env=dict(os.environ, TZ="Pacific/Chatham"),
        timeout=300,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def by_stream(messages: list[dict], kind: str) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {s: [] for s in STREAMS}
    for message in messages:
        if message.get("type") == kind and message.get("stream") in found:
            found[message["stream"]].append(message)
    return found


def test_tap_emits_the_mappers_schemas_and_records(tmp_path: Path) -> None:
    config = {**CONFIG, "store_path": str(tmp_path / "store.duckdb"), "as_of": AS_OF}
    expected = mapper_output(config, tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    copy_store_tables(tmp_path / "store.duckdb", warehouse)
    project = project_for(CONFIG, tmp_path)
    run_dbt(
        project,
        "duckdb",
        {"PLG_DBT_DUCKDB_PATH": str(warehouse)},
        {"plg_input": "store", "as_of": AS_OF},
    )

    tap = run_tap_cli(tmp_path, {"scores_sql": {"url": f"duckdb:///{warehouse}"}})
    assert tap.returncode == 0, tap.stderr[-3000:]

    order = [m["stream"] for m in tap.messages if m["type"] == "SCHEMA"]
    assert sorted(order) == ["associations", "companies", "contacts"]  # the SDK sorts by name
    for stream in STREAMS:
        (mine,) = by_stream(tap.messages, "SCHEMA")[stream]
        (theirs,) = by_stream(expected, "SCHEMA")[stream]
        differing = {
            k
            for k in set(mine["schema"]["properties"]) | set(theirs["schema"]["properties"])
            if mine["schema"]["properties"].get(k) != theirs["schema"]["properties"].get(k)
        }
        assert mine["schema"] == theirs["schema"], (
            stream,
            {
                k: (mine["schema"]["properties"].get(k), theirs["schema"]["properties"].get(k))
                for k in differing
            },
        )
        assert mine["key_properties"] == theirs["key_properties"], stream
    records = {s: [m["record"] for m in ms] for s, ms in by_stream(tap.messages, "RECORD").items()}
    embedded = {s: [m["record"] for m in ms] for s, ms in by_stream(expected, "RECORD").items()}
    assert sum(map(len, records.values())) == 8
    found = differences(embedded, records)
    assert not found, "\n".join(found)


def test_tap_without_dbt_results_says_so_in_one_line(tmp_path: Path) -> None:
    warehouse = tmp_path / "empty.duckdb"
    tap = run_tap_cli(tmp_path, {"scores_sql": {"url": f"duckdb:///{warehouse}"}})
    assert tap.returncode == 1
    assert "scores_sql: cannot read the dbt package's results" in tap.stderr
    assert "Traceback" not in tap.stderr
