"""Run the dbt package (dbt/plg_scores) for a config on a warehouse, and read its records.

dbt is the one `make setup` installs for Meltano's transformers (meltano.yml:
dbt-duckdb, dbt-postgres), so the tests run what `meltano run dbt-<adapter>:run` runs.
Each test gets a copy of the project with the models generated for its own config.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import typing as t
from pathlib import Path

import duckdb
from plg_transform.dbt_models import generate, write_package
from plg_transform.mapper import PLGTransform
from tap_product_events.sources.scores.score_records import (
    KIND_OF_STREAM,
    STREAM_OF_KIND,
    score_record,
)

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "dbt" / "plg_scores"
STORE_TABLES = ("messages", "traits", "observations", "rollups")


class DbtFailed(AssertionError):
    """dbt exited non-zero (the tail of its output is the message)."""


def dbt_executable(adapter: str) -> Path:
    """The dbt of Meltano's transformer `dbt-<adapter>`."""
    return ROOT / ".meltano" / "transformers" / f"dbt-{adapter}" / "venv" / "bin" / "dbt"


def settings_of(config: dict) -> t.Any:
    """The mapper's typed settings of a config (validated as the mapper validates it)."""
    config = {"store_path": "unused.duckdb", **config}
    return PLGTransform(config=config, validate_config=True, parse_env_config=False).settings


def project_for(config: dict, folder: Path) -> Path:
    """A copy of the dbt project whose models are generated for `config`."""
    project = folder / "plg_scores"
    shutil.copytree(
        PROJECT, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    write_package(generate(settings_of(config)), project)
    return project


def run_dbt(project: Path, adapter: str, env: dict[str, str], variables: dict[str, t.Any]) -> None:
    """`dbt run` of the project on the adapter's target."""
    command = [
        str(dbt_executable(adapter)),
        "run",
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target",
        adapter,
        "--vars",
        json.dumps(variables),
    ]
    work = project.parent
    environment = dict(os.environ, DBT_LOG_PATH=str(work / "dbt-logs"), **env)
    environment["DBT_TARGET_PATH"] = str(work / "dbt-target")
    done = subprocess.run(
        command, capture_output=True, text=True, env=environment, timeout=600, check=False
    )
    if done.returncode != 0:
        raise DbtFailed(
            f"dbt exited {done.returncode}:\n{done.stdout[-4000:]}{done.stderr[-2000:]}"
        )


def copy_store_tables(store: Path, warehouse: Path) -> None:
    """Replace the warehouse's store-shaped tables with the store's (plg_input: store)."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(f"ATTACH '{store}' AS store (READ_ONLY)")
        for table in STORE_TABLES:
            con.execute(f"CREATE OR REPLACE TABLE main.{table} AS SELECT * FROM store.{table}")
    finally:
        con.close()


def records_from_rows(
    cursor_of: t.Callable[[str], tuple[list[str], list[tuple]]],
) -> dict[str, list[dict]]:
    """The records of the final tables, by stream; `cursor_of(sql)` gives columns, rows."""
    _, rows = cursor_of("SELECT kind, metric FROM plg_metric_names ORDER BY metric")
    names: dict[str, list[str]] = {}
    for kind, metric in rows:
        names.setdefault(kind, []).append(metric)
    found: dict[str, list[dict]] = {}
    for kind, stream in STREAM_OF_KIND.items():
        columns, rows = cursor_of(f"SELECT * FROM plg_final_{kind}")
        found[stream] = [score_record(columns, row, names.get(kind, [])) for row in rows]
    return found


def duckdb_records(warehouse: Path) -> dict[str, list[dict]]:
    """The records the models wrote into a DuckDB warehouse."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:

        def cursor_of(sql: str) -> tuple[list[str], list[tuple]]:
            result = con.execute(sql)
            return [d[0] for d in result.description], result.fetchall()

        return records_from_rows(cursor_of)
    finally:
        con.close()


def _key(stream: str, record: dict) -> tuple:
    kind = KIND_OF_STREAM[stream]
    return tuple(
        str(record[k])
        for k in (
            ("user_id", "account_id")
            if kind == "membership"
            else ("user_id",)
            if kind == "user"
            else ("account_id",)
        )
    )


def differences(embedded: dict[str, list[dict]], warehouse: dict[str, list[dict]]) -> list[str]:
    """`stream key field: embedded=... dbt=...` lines; empty when every record is equal."""
    lines = []
    for stream in STREAM_OF_KIND.values():
        mine = {_key(stream, r): r for r in embedded.get(stream, [])}
        theirs = {_key(stream, r): r for r in warehouse.get(stream, [])}
        for key in sorted(set(mine) | set(theirs)):
            if key not in theirs or key not in mine:
                where = "dbt" if key not in theirs else "embedded"
                lines.append(f"{stream} {key}: missing from {where}")
                continue
            a, b = mine[key], theirs[key]
            for field in sorted(set(a) | set(b)):
                if a.get(field, "<absent>") != b.get(field, "<absent>"):
                    lines.append(
                        f"{stream} {key} {field}: embedded={a.get(field, '<absent>')!r} "
                        f"dbt={b.get(field, '<absent>')!r}"
                    )
    return lines
