"""Embedded transform vs the dbt package (dbt/plg_scores) as the generated history grows.

Usage: python -m bench.dbt_scale [N ...]     (default sizes: 100000 400000)

For each N, N synthetic Segment messages (bench/transform_throughput_and_memory.py's
generator: N // 100 users, N // 2000 accounts, 60 days) go through the real
`plg-transform` CLI (time and peak RSS of the process: ingest + compute + emit). The store
it wrote is then copied into a DuckDB warehouse as the package's `store` input, and
`dbt run` of models generated for the same config (the dbt-duckdb that `make setup`
installs for Meltano) computes the same records there: its time and peak RSS (the dbt
process, DuckDB in it). The models' records are checked equal to the mapper's count.
PostgreSQL: the generated SQL is DuckDB's (dbt/plg_scores/README.md), so no figure yet.
Prints a table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.transform_throughput_and_memory import CLI, CONFIG, write_input  # noqa: E402
from tests.dbt.dbt_runs import (  # noqa: E402
    copy_store_tables,
    dbt_executable,
    duckdb_records,
    project_for,
)


def timed(command: list[str], stdin_path: Path | None, env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of a subprocess; fails when it fails."""
    started = time.perf_counter()
    with stdin_path.open() if stdin_path else open(os.devnull) as stdin:
        proc = subprocess.Popen(
            command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        )
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(
            f"{command[0]} failed: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}"
        )
    return seconds, usage.ru_maxrss / 1024


def run_once(n: int, tmp: Path) -> dict[str, float]:
    """Figures of one size."""
    source = tmp / "input.jsonl"
    write_input(source, n)
    config_path = tmp / "config.json"
    config_path.write_text(json.dumps({**CONFIG, "store_path": str(tmp / "store.duckdb")}))
    embedded_s, embedded_mb = timed([CLI, "--config", str(config_path)], source, dict(os.environ))
    warehouse = tmp / "warehouse.duckdb"
    copy_store_tables(tmp / "store.duckdb", warehouse)
    project = project_for(CONFIG, tmp)
    env = dict(
        os.environ,
        PLG_DBT_DUCKDB_PATH=str(warehouse),
        DBT_LOG_PATH=str(tmp / "logs"),
        DBT_TARGET_PATH=str(tmp / "target"),
    )
    variables = json.dumps({"plg_input": "store", "as_of": CONFIG["as_of"]})
    command = [
        str(dbt_executable("duckdb")), "run", "--project-dir", str(project),
        "--profiles-dir", str(project), "--target", "duckdb", "--vars", variables,
    ]  # fmt: skip
    dbt_s, dbt_mb = timed(command, None, env)
    records = sum(len(v) for v in duckdb_records(warehouse).values())
    return {
        "n": n,
        "records": records,
        "embedded_s": embedded_s,
        "embedded_mb": embedded_mb,
        "dbt_s": dbt_s,
        "dbt_mb": dbt_mb,
    }


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [100_000, 400_000]
    print(
        "| messages | records | embedded transform s | peak RSS MB | dbt-duckdb run s "
        "| peak RSS MB | dbt-postgres |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="plg-dbt-bench-") as folder:
            r = run_once(n, Path(folder))
        print(
            f"| {n:,} | {r['records']:,} | {r['embedded_s']:.1f} | {r['embedded_mb']:.0f} "
            f"| {r['dbt_s']:.1f} | {r['dbt_mb']:.0f} | not yet (SQL is DuckDB's) |",
            flush=True,
        )


if __name__ == "__main__":
    main()
