"""Benchmark plg-transform's incremental runs: what a run with a small share of new messages costs.

Usage: python -m bench.transform_incremental [--users U] [--new-share S] [N ...]
       (default: 10,000 users, 1% new, sizes 1000000 3000000)

For each N, the synthetic messages of bench/transform_throughput_and_memory.py (tracks
over 60 days, 1% identifies, 0.5% groups) are split in two: the first (1 - S) go through
`plg-transform` on a fresh store (the full run), the last S through a second run on the
same store (the incremental run). Each run is the real CLI in a subprocess; the table
shows its wall time, its CPU time (user + system, from the kernel: steadier than wall
time on a shared machine), the phases the mapper logs (storing, scoring, computing and
emitting) and its peak RSS, then the store's size: stored track messages and the rows of
its per-day aggregates (`track_days`, absent before they existed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from bench.transform_throughput_and_memory import CLI, CONFIG, write_input


@dataclass
class Run:
    """One measured plg-transform run."""

    messages: int
    wall_s: float
    cpu_s: float
    store_s: float
    score_s: float
    compute_emit_s: float
    rss_mb: float


def _phase(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    if found is None:
        raise SystemExit(f"{pattern!r} not found in the log:\n{text[-3000:]}")
    return float(found.group(1))


def run_transform(source: Path, config_path: Path, log_path: Path, messages: int) -> Run:
    """Run the CLI on one input file; timings from its log and from the kernel."""
    started = time.perf_counter()
    with source.open("rb") as stdin, log_path.open("wb") as log:
        proc = subprocess.Popen(
            [CLI, "--config", str(config_path)], stdin=stdin, stdout=subprocess.DEVNULL, stderr=log
        )
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    text = log_path.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"plg-transform failed:\n{text[-3000:]}")
    return Run(
        messages=messages,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        store_s=_phase(r"metric observations in ([\d.]+) s", text),
        score_s=_phase(r"\(score references[^)]*\) in ([\d.]+) s", text),
        compute_emit_s=_phase(r"computed and emitted in ([\d.]+) s", text),
        rss_mb=usage.ru_maxrss / 1024,
    )


def split_input(source: Path, full: Path, new: Path, share: float) -> tuple[int, int]:
    """Write the first (1 - share) RECORD lines to `full`, the rest to `new`, each with a STATE.

    Streamed line by line: this process stays small, so the peak RSS the kernel reports
    for the mapper (at least its parent's at fork) is the mapper's own.
    """
    with source.open() as lines:
        records = sum(1 for line in lines if '"type": "RECORD"' in line)
    cut = records - max(1, int(records * share))
    with source.open() as lines, full.open("w") as first, new.open("w") as rest:
        seen = 0
        for line in lines:
            if '"type": "RECORD"' in line:
                (first if seen < cut else rest).write(line)
                seen += 1
        for out, run in ((first, 1), (rest, 2)):
            state = {"type": "STATE", "value": {"bookmarks": {"run": run}}}
            out.write(json.dumps(state) + "\n")
    return cut, records - cut


def store_sizes(store: Path) -> tuple[int, int | None]:
    """Stored track messages, and rows of the per-day aggregates (None: no such table)."""
    with duckdb.connect(str(store), read_only=True) as con:
        row = con.execute("SELECT count(*) FROM messages WHERE kind = 'track'").fetchone()
        tracks = int(row[0]) if row else 0
        found = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'track_days'"
        ).fetchone()
        if not (found and found[0]):
            return tracks, None
        row = con.execute("SELECT count(*) FROM track_days").fetchone()
        return tracks, int(row[0]) if row else 0


def main() -> None:
    """Run a full and an incremental run per size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, help="numbers of messages")
    parser.add_argument("--users", type=int, default=10_000, help="fixed number of users")
    parser.add_argument("--new-share", type=float, default=0.01)
    args = parser.parse_args()
    sizes = args.sizes or [1_000_000, 3_000_000]
    print(
        f"users: {args.users:,}, accounts: {max(2, args.users // 20):,}; new share "
        f"{args.new_share:.0%}; load average before: {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores"
    )
    header = (
        "stored messages",
        "run",
        "messages",
        "wall s",
        "CPU s",
        "store s",
        "score s",
        "compute+emit s",
        "peak RSS MB",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("-" * (len(h) + 2) for h in header) + "|")
    summaries = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for n in sizes:
            source, full, new = tmp / "all.jsonl", tmp / "full.jsonl", tmp / "new.jsonl"
            write_input(source, n, args.users)
            full_n, new_n = split_input(source, full, new, args.new_share)
            source.unlink()
            store = tmp / f"store-{n}.duckdb"
            config_path = tmp / "config.json"
            # A short interval makes the mapper log every phase with its duration.
            settings = {**CONFIG, "store_path": str(store), "progress_interval_seconds": 1}
            config_path.write_text(json.dumps(settings))
            runs = {
                "full": run_transform(full, config_path, tmp / "full.log", full_n),
                "incremental": run_transform(new, config_path, tmp / "new.log", new_n),
            }
            for name, r in runs.items():
                print(
                    f"| {n:,} | {name} | {r.messages:,} | {r.wall_s:.1f} | {r.cpu_s:.1f} | "
                    f"{r.store_s:.1f} | {r.score_s:.1f} | {r.compute_emit_s:.1f} | "
                    f"{r.rss_mb:.0f} |",
                    flush=True,
                )
            tracks, rows = store_sizes(store)
            incr, whole = runs["incremental"], runs["full"]
            summaries.append(
                f"{n:,}: incremental / full: wall {incr.wall_s / whole.wall_s:.2f}, CPU "
                f"{incr.cpu_s / whole.cpu_s:.2f}; {tracks:,} stored tracks in "
                + ("no per-day aggregates" if rows is None else f"{rows:,} track_days rows")
            )
            store.unlink()
    print()
    print("\n".join(summaries))
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
