"""dbt-duckdb on Segment warehouse tables gives what the tap + plg-transform give on them.

The same messages are loaded into Segment-shaped tables (tests/tap_warehouse's loader);
the embedded path reads them with the tap's `events_sql` source into the real mapper, the
warehouse path stages them with the package's `segment` input and runs the models.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path

import duckdb

from ..crosscheck.mapper_cli import MAPPER, OUTPUT_STREAMS
from ..tap_runs import run_tap_cli
from ..tap_warehouse.message_set import segment_messages
from ..tap_warehouse.segment_warehouse import load_messages
from .dbt_runs import differences, duckdb_records, project_for, run_dbt

AS_OF = "2026-03-09T12:00:00Z"
SCORING = {
    "window_days": 7,
    "daily_cap": 2,
    "account_id_paths": ["context.groupId", "properties.groupId"],
    "events": {"Report Viewed": {"weight": 2, "feature": "reports"}, "Signed Up": {"weight": 5}},
    "activation": {"milestones": [{"name": "viewer", "event": "Report Viewed", "count": 2}]},
    "membership_traits": [],
    "user_traits": ["role"],
    "account_traits": ["plan", "seats"],
    "pql": "engagement_score >= 50 AND role = 'admin'",
    "pqa": "seats >= 10 AND plan = 'pro'",
    "segments": [
        {"name": "active", "when": "active_days >= 1"},
        {"name": "big", "when": "total_users >= 2", "applies_to": "account"},
    ],
    "lifecycle": [{"stage": "activated", "when": "activated", "applies_to": "user"}],
}


def embedded_from_warehouse(
    url: str, config: dict, folder: Path, state: dict | None = None
) -> tuple[dict[str, list[dict]], dict]:
    """The tap's warehouse source piped into the real plg-transform: records, last STATE."""
    tap = run_tap_cli(folder, {"events_sql": {"url": url}}, state)
    assert tap.returncode == 0, tap.stderr
    config_path = folder / "transform.json"
    config_path.write_text(json.dumps(config))
    done = subprocess.run(
        [str(MAPPER), "--config", str(config_path)],
        input="\n".join(tap.stdout_lines) + "\n",
        capture_output=True,
        text=True,
        cwd=folder,
        env=dict(os.environ, TZ="Pacific/Chatham"),
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    records: dict[str, list[dict]] = {s: [] for s in OUTPUT_STREAMS}
    last_state: dict = {}
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message.get("type") == "RECORD" and message["stream"] in records:
            records[message["stream"]].append(message["record"])
        if message.get("type") == "STATE":
            last_state = message["value"]
    return records, last_state


def test_segment_tables_score_as_the_tap_and_transform_score_them(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    load_messages(f"duckdb:///{warehouse}", segment_messages())
    config = {**SCORING, "store_path": str(tmp_path / "store.duckdb"), "as_of": AS_OF}
    embedded, _ = embedded_from_warehouse(f"duckdb:///{warehouse}", config, tmp_path)
    assert embedded["contacts"], "the scenario scores no contact"
    project = project_for(SCORING, tmp_path)
    env = {"PLG_DBT_DUCKDB_PATH": str(warehouse)}
    run_dbt(project, "duckdb", env, {"plg_input": "segment", "as_of": AS_OF})
    found = differences(embedded, duckdb_records(warehouse))
    assert not found, "embedded != dbt:\n" + "\n".join(found[:40])


def test_two_loads_scored_incrementally_as_the_tap_and_transform_score_them(
    tmp_path: Path,
) -> None:
    """Each load: new rows appended to the incremental staging, scores equal again."""
    messages = segment_messages()
    loads = [messages[: len(messages) // 2], messages[len(messages) // 2 :]]
    warehouse = tmp_path / "warehouse.duckdb"
    url = f"duckdb:///{warehouse}"
    config = {**SCORING, "store_path": str(tmp_path / "store.duckdb"), "as_of": AS_OF}
    project = project_for(SCORING, tmp_path)
    env = {"PLG_DBT_DUCKDB_PATH": str(warehouse)}
    state: dict | None = None
    for number, batch in enumerate(loads, start=1):
        loaded_at = dt.datetime(2026, 3, 10 + number, tzinfo=dt.UTC)
        load_messages(url, batch, loaded_at)
        embedded, state = embedded_from_warehouse(url, config, tmp_path, state)
        run_dbt(project, "duckdb", env, {"plg_input": "segment", "as_of": AS_OF})
        found = differences(embedded, duckdb_records(warehouse))
        assert not found, f"load {number}: embedded != dbt:\n" + "\n".join(found[:40])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        stored = con.execute("SELECT count(*), count(DISTINCT message_id) FROM plg_messages")
        count, distinct = stored.fetchone() or (0, 0)
    assert count == distinct == len({m["messageId"] for m in messages})
