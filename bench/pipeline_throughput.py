"""Benchmark the whole pipeline on the demo archive: messages per second, end to end.

Generates the demo archive (default size: ~300 accounts, ~1,000 users, 120 days) into a
temporary folder, then times
  1. the three executables piped by hand: tap-product-events | plg-transform | target-plg-crm
  2. the same through `meltano run` (the dev environment's settings, in a throw-away project)
  3. a second, incremental `meltano run` with nothing new (the cost of a scheduled no-op run)
and prints a table. Usage: python bench/pipeline_throughput.py [--accounts N --users N --days N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from demo.generate_demo import generate  # noqa: E402

BIN = Path(sys.executable).parent


def piped(work: Path, events: Path) -> float:
    """Run tap | transform | target with plain config files; return seconds."""
    project = yaml.safe_load((REPO / "meltano.yml").read_text())
    scoring = project["plugins"]["mappers"][0]["mappings"][0]["config"]
    configs = {
        "tap.json": {"events_paths": [str(events / "**" / "*.jsonl.gz")]},
        "transform.json": {
            **scoring,
            "as_of": "2026-07-01T00:00:00Z",
            "store_path": str(work / "store.duckdb"),
        },
        "target.json": {
            "local_path": str(work / "crm.sqlite"),
            "ledger_path": str(work / "ledger.sqlite"),
            "rejects_path": str(work / "rejects.jsonl"),
            "summary_path": str(work / "summary.json"),
        },
    }
    for name, config in configs.items():
        (work / name).write_text(json.dumps(config))
    started = time.perf_counter()
    with open(work / "pipe.log", "w") as log:
        tap = subprocess.Popen(
            [BIN / "tap-product-events", "--config", work / "tap.json"],
            stdout=subprocess.PIPE,
            stderr=log,
        )
        transform = subprocess.Popen(
            [BIN / "plg-transform", "--config", work / "transform.json"],
            stdin=tap.stdout,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        target = subprocess.Popen(
            [BIN / "target-plg-crm", "--config", work / "target.json"],
            stdin=transform.stdout,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        assert tap.stdout and transform.stdout
        tap.stdout.close()
        transform.stdout.close()
        codes = [target.wait(), transform.wait(), tap.wait()]
    if any(codes):
        raise SystemExit(f"pipeline failed {codes}; see {work / 'pipe.log'}")
    return time.perf_counter() - started


def meltano_run(project: Path) -> float:
    """Run the pipeline through `meltano run` in the project; return seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MELTANO_")}
    started = time.perf_counter()
    subprocess.run(
        [
            BIN / "meltano",
            "--environment",
            "dev",
            "run",
            "--no-install",
            "tap-product-events",
            "plg-scores",
            "target-plg-crm",
        ],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main() -> int:
    """Generate the demo archive, run the benchmarks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--days", type=int, default=120)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        project = work / "project"
        events = project / "demo-data" / "events"
        counts = generate(events, accounts=args.accounts, users=args.users, days=args.days)
        messages = counts["messages"]

        seconds_piped = piped(work, events)
        shutil.copy(REPO / "meltano.yml", project / "meltano.yml")
        for kind, name in (
            ("extractors", "tap-product-events"),
            ("mappers", "plg-transform"),
            ("loaders", "target-plg-crm"),
        ):
            (project / ".meltano" / kind).mkdir(parents=True, exist_ok=True)
            (project / ".meltano" / kind / name).symlink_to(REPO / ".meltano" / kind / name)
        seconds_meltano = meltano_run(project)
        seconds_noop = meltano_run(project)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    print(
        f"demo archive: {messages:,} messages, {args.accounts} accounts, {args.users} users, "
        f"{args.days} days; {os.cpu_count()} cores"
    )
    print(f"{'path':<46} {'seconds':>8} {'messages/s':>11}")
    for label, seconds in (
        ("tap | transform | target (piped by hand)", seconds_piped),
        ("meltano run (first, full history)", seconds_meltano),
        ("meltano run (incremental, nothing new)", seconds_noop),
    ):
        rate = f"{messages / seconds:>11,.0f}" if "nothing new" not in label else f"{'-':>11}"
        print(f"{label:<46} {seconds:>8.1f} {rate}")
    print(f"peak RSS of the largest process: {peak_mb:,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
