"""Benchmark of the warehouse source: rows/s raw and rolled up, PostgreSQL and DuckDB.

    .venv/bin/python bench/warehouse_rollup.py [--sizes 50000,200000,800000]
                                               [--engines duckdb,postgres]

For each size, fills Segment-shaped `tracks` and `pages` tables (tests/tap_warehouse/
big_tables.py: generated inside the database) in a fresh DuckDB file and a fresh database
of a throw-away PostgreSQL server (tests/postgres_server.py), then runs the
`tap-product-events` console script with stdout to /dev/null: once raw (`events_sql`), once
with `rollup: true`, and prints rows read per second. A roll-up linear in the rows read
keeps its rows/s as the tables grow; the quadratic one (a nested loop of rows x keys on
PostgreSQL) lost an order of magnitude per 4x rows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.postgres_server import PostgresServer  # noqa: E402
from tests.tap_warehouse.big_tables import fill  # noqa: E402

TAP = Path(sys.executable).with_name("tap-product-events")


def run_tap(work: Path, url: str, rollup: bool) -> float:
    """Seconds one run of the tap takes over every row."""
    config = work / f"config-{uuid.uuid4().hex[:8]}.json"
    config.write_text(json.dumps({"events_sql": {"url": url, "rollup": rollup}}))
    started = time.perf_counter()
    with open("/dev/null", "w") as sink:
        subprocess.run(
            [str(TAP), "--config", str(config)],
            stdout=sink,
            stderr=subprocess.DEVNULL,
            check=True,
        )
    return time.perf_counter() - started


def main() -> None:
    """Fill the tables for each size and engine; print rows/s raw and rolled up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50000,200000,800000")
    parser.add_argument("--engines", default="duckdb,postgres")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    engines = args.engines.split(",")
    server = PostgresServer.start() if "postgres" in engines else None
    print(
        f"{'engine':<9} {'rows':>9} {'raw s':>8} {'raw rows/s':>11} {'roll-up s':>10} "
        f"{'roll-up rows/s':>15}"
    )
    try:
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            for size in sizes:
                for engine in engines:
                    if engine == "duckdb":
                        url = f"duckdb:///{work / f'w{size}.duckdb'}"
                    else:
                        assert server is not None
                        url = server.create_database(f"w{size}")
                    fill(url, size)
                    raw = run_tap(work, url, rollup=False)
                    rolled = run_tap(work, url, rollup=True)
                    print(
                        f"{engine:<9} {size:>9,} {raw:>8.1f} {size / raw:>11,.0f} "
                        f"{rolled:>10.1f} {size / rolled:>15,.0f}",
                        flush=True,
                    )
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
