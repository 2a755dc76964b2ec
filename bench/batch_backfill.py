"""Benchmark a backfill: RECORD mode, BATCH mode, the plain Singer peer and the DuckDB floor.

On one generated history (demo/generate_demo.py, at least a million messages by default),
in one run on one machine, times
  record   tap-product-events | plg-transform | target-plg-crm (local CRM), RECORD lines
  batch    the same with the tap's `batch_config` (Parquet files, read by DuckDB)
  peer     MeltanoLabs tap-jsonl | target-jsonl, installed in a throw-away virtualenv
  floor    DuckDB read_json of the same files with the roll-up GROUP BY user, event, day
  incr     a BATCH run after 1% new messages arrived (same store and STATE as `batch`)
and prints messages/s, the peak RSS of every process, and the ratios. The targets (BATCH
within 3x of the floor, at least 10x the peer) are printed, not asserted.

Usage: python bench/batch_backfill.py [--users N --accounts N --days N] [--keep DIR]
       [--no-peer]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import typing as t
import venv
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


BIN = Path(sys.executable).parent
PEER_PACKAGES = ("tap-jsonl==0.3.1", "target-jsonl==0.1.4")
FLOOR_SQL = """
SELECT userId, event, CAST(left(timestamp, 10) AS DATE) AS day, count(*) AS n
FROM read_json(?, format='newline_delimited',
               columns={userId: 'VARCHAR', event: 'VARCHAR', timestamp: 'VARCHAR'})
GROUP BY ALL
"""


@dataclass
class Timing:
    """One measured run: wall seconds and each process's peak RSS in MB."""

    name: str
    seconds: float
    rss_mb: dict[str, float]
    messages: int
    cpu_seconds: float = 0.0  # user + system time of all its processes (less load-bound)

    @property
    def rate(self) -> float:
        """Messages per second."""
        return self.messages / self.seconds if self.seconds else 0.0


def run_chain(
    commands: list[tuple[str, list[str]]], work: Path, name: str, messages: int
) -> Timing:
    """Pipe the commands into each other; wall time and every process's peak RSS."""
    started = time.perf_counter()
    processes: list[tuple[str, subprocess.Popen[bytes]]] = []
    upstream: t.IO[bytes] | None = None
    logs = []
    for index, (label, command) in enumerate(commands):
        log = open(work / f"{name}-{label}.log", "wb")  # noqa: SIM115 - closed below
        logs.append(log)
        last = index == len(commands) - 1
        if last:
            out = open(work / f"{name}-out.jsonl", "wb")  # noqa: SIM115 - closed below
            logs.append(out)
        process = subprocess.Popen(
            command,
            stdin=upstream,
            stdout=out if last else subprocess.PIPE,
            stderr=log,
            cwd=work,
            env=compiled_env(work),
        )
        if upstream is not None:
            upstream.close()
        upstream = process.stdout
        processes.append((label, process))
    rss: dict[str, float] = {}
    cpu = 0.0
    failed = []
    for label, process in processes:
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        rss[label] = usage.ru_maxrss / 1024
        cpu += usage.ru_utime + usage.ru_stime
        if process.returncode:
            failed.append(f"{label} exited {process.returncode} (see {work}/{name}-{label}.log)")
    seconds = time.perf_counter() - started
    for log in logs:
        log.close()
    if failed:
        raise SystemExit(f"{name}: " + "; ".join(failed))
    return Timing(name, seconds, rss, messages, cpu)


def compiled_env(work: Path) -> dict[str, str]:
    """The environment of the timed processes: Python may cache compiled modules.

    With PYTHONDONTWRITEBYTECODE set (as in some containers) every process would compile
    its imports again, about a CPU-second for the SDK's; pip compiled the peer's at install
    time. The caches go to the work folder, never into the virtualenvs.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def warm_up(work: Path, executables: list[str]) -> None:
    """Run each executable once (`--about`) so its modules are compiled before timing."""
    for executable in executables:
        subprocess.run(
            [executable, "--about"], env=compiled_env(work), capture_output=True, check=False
        )


def write_configs(work: Path, events_glob: str, name: str, batch: bool) -> dict[str, Path]:
    """The tap, transform and target configs of one pipeline run."""
    project = yaml.safe_load((REPO / "meltano.yml").read_text())
    (mapper,) = [m for m in project["plugins"]["mappers"] if m["name"] == "plg-transform"]
    scoring = mapper["mappings"][0]["config"]
    tap: dict[str, t.Any] = {"events_paths": [events_glob]}
    if batch:
        tap["batch_config"] = {
            "encoding": {"format": "parquet", "compression": "none"},
            "storage": {"root": (work / "batches").as_uri(), "prefix": f"{name}-"},
        }
    configs = {
        "tap": tap,
        "transform": {
            **scoring,
            "as_of": "2026-07-01T00:00:00Z",
            "store_path": str(work / f"{name}-store.duckdb"),
        },
        "target": {
            "local_path": str(work / f"{name}-crm.sqlite"),
            "ledger_path": str(work / f"{name}-ledger.sqlite"),
            "rejects_path": str(work / f"{name}-rejects.jsonl"),
            "summary_path": str(work / f"{name}-summary.json"),
        },
    }
    paths = {}
    for key, config in configs.items():
        path = work / f"{name}-{key}.json"
        path.write_text(json.dumps(config))
        paths[key] = path
    return paths


def pipeline(
    work: Path,
    events_glob: str,
    name: str,
    messages: int,
    *,
    batch: bool,
    state: Path | None = None,
    store_of: str | None = None,
) -> Timing:
    """tap | transform | target on the archive; STATE of the run saved as <name>-state.json."""
    configs = write_configs(work, events_glob, store_of or name, batch)
    tap = [str(BIN / "tap-product-events"), "--config", str(configs["tap"])]
    if state is not None:
        tap += ["--state", str(state)]
    target = [str(BIN / "target-plg-crm"), "--config", str(configs["target"])]
    timing = run_chain(
        [
            ("tap", tap),
            ("transform", [str(BIN / "plg-transform"), "--config", str(configs["transform"])]),
            ("target", target),
        ],
        work,
        name,
        messages,
    )
    # A target prints each STATE value as a bare JSON line: the last one is the run's.
    lines = (work / f"{name}-out.jsonl").read_bytes().splitlines()
    if lines:
        (work / f"{name}-state.json").write_bytes(lines[-1])
    return timing


def floor(work: Path, events_glob: str, messages: int) -> Timing:
    """DuckDB alone: read_json of the same files and the roll-up GROUP BY."""
    script = (
        "import duckdb, sys; c = duckdb.connect(); "
        f"print(len(c.execute({FLOOR_SQL!r}, [sys.argv[1]]).fetchall()))"
    )
    return run_chain(
        [("duckdb", [sys.executable, "-c", script, events_glob])], work, "floor", messages
    )


def peer(work: Path, events: Path, messages: int) -> Timing | str:
    """MeltanoLabs tap-jsonl | target-jsonl from a throw-away virtualenv, or why not."""
    # Two virtualenvs: target-jsonl pins libraries the SDK-based tap-jsonl cannot share.
    executables = {}
    for package in PEER_PACKAGES:
        name = package.split("==")[0]
        env_dir = work / f"peer-{name}"
        executable = env_dir / "bin" / name
        if not executable.exists():
            venv.create(env_dir, with_pip=True)
            install = subprocess.run(
                [str(env_dir / "bin" / "pip"), "install", "-q", package],
                capture_output=True,
                text=True,
            )
            if install.returncode:
                return f"{package} not installed: {install.stderr.strip().splitlines()[-1:]}"
        executables[name] = str(executable)
    warm_up(work, list(executables.values()))
    plain = work / "peer-input"
    plain.mkdir(exist_ok=True)
    # tap-jsonl reads plain JSON lines: the same messages, decompressed once beforehand.
    for number, path in enumerate(sorted(events.rglob("*.jsonl.gz"))):
        (plain / f"{number:05d}.jsonl").write_bytes(gzip.decompress(path.read_bytes()))
    tap_config = work / "peer-tap.json"
    tap_config.write_text(json.dumps({"path": str(plain / "*.jsonl"), "stream_name": "events"}))
    out = work / "peer-out"
    out.mkdir(exist_ok=True)
    target_config = work / "peer-target.json"
    target_config.write_text(json.dumps({"destination_path": str(out)}))
    return run_chain(
        [
            ("tap-jsonl", [executables["tap-jsonl"], "--config", str(tap_config)]),
            ("target-jsonl", [executables["target-jsonl"], "--config", str(target_config)]),
        ],
        work,
        "peer",
        messages,
    )


def add_new_messages(events: Path, share: float, seed: int = 7) -> int:
    """Append `share` of the history as new messages (new ids, arrived after the rest)."""
    files = sorted(events.rglob("*.jsonl.gz"))
    rng = random.Random(seed)
    new: list[bytes] = []
    for path in files:
        for line in gzip.decompress(path.read_bytes()).splitlines():
            if rng.random() < share:
                message = json.loads(line)
                message["messageId"] = "new-" + str(message.get("messageId"))
                message["receivedAt"] = "2026-07-01T00:00:00Z"
                new.append(json.dumps(message).encode())
    target = events / "2026" / "07" / "01" / "segment-new.jsonl.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(gzip.compress(b"\n".join(new) + b"\n"))
    return len(new)


def count_messages(events: Path) -> int:
    """Lines of the archive."""
    return sum(gzip.decompress(p.read_bytes()).count(b"\n") for p in events.rglob("*.jsonl.gz"))


def table(rows: list[Timing | tuple[str, str]], floor_rate: float, peer_rate: float | None) -> str:
    """The results as a fixed-width table."""
    lines = [
        f"{'run':<12} {'messages':>10} {'seconds':>8} {'msg/s':>10} {'x floor':>8} "
        f"{'x peer':>7} {'CPU s':>7}  peak RSS MB per process"
    ]
    for row in rows:
        if isinstance(row, tuple):
            lines.append(f"{row[0]:<12} {row[1]}")
            continue
        vs_floor = floor_rate / row.rate if row.rate else float("inf")
        vs_peer = f"{row.rate / peer_rate:7.1f}" if peer_rate else f"{'-':>7}"
        rss = ", ".join(f"{k} {v:.0f}" for k, v in row.rss_mb.items())
        lines.append(
            f"{row.name:<12} {row.messages:>10,} {row.seconds:>8.1f} {row.rate:>10,.0f} "
            f"{vs_floor:>7.1f}x {vs_peer} {row.cpu_seconds:>7.1f}  {rss}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3800)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--new-share", type=float, default=0.01)
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: temporary)")
    parser.add_argument("--no-peer", action="store_true", help="skip the peer")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="plg-batch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    events = work / "events"
    try:
        if not events.exists():
            # In a process of its own: Linux reports a child's peak RSS at least as high as
            # its parent's at fork, so this process must stay small.
            subprocess.run(
                [
                    sys.executable,
                    str(REPO / "demo" / "generate_demo.py"),
                    *("--out", str(events), "--seed", str(args.seed)),
                    *("--accounts", str(args.accounts), "--users", str(args.users)),
                    *("--days", str(args.days)),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        messages = count_messages(events)
        glob = str(events / "**" / "*.jsonl.gz")
        print(
            f"history: {messages:,} messages in {len(list(events.rglob('*.gz')))} files; "
            f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
            flush=True,
        )
        warm_up(
            work, [str(BIN / n) for n in ("tap-product-events", "plg-transform", "target-plg-crm")]
        )
        floor_run = floor(work, glob, messages)
        print(f"floor done in {floor_run.seconds:.1f}s", flush=True)
        # BATCH right after the floor: the ratio the target is about, at the same load.
        batch = pipeline(work, glob, "batch", messages, batch=True)
        print(f"batch done in {batch.seconds:.1f}s", flush=True)
        record = pipeline(work, glob, "record", messages, batch=False)
        print(f"record done in {record.seconds:.1f}s", flush=True)
        peer_run = None if args.no_peer else peer(work, events, messages)
        new = add_new_messages(events, args.new_share)
        incremental = pipeline(
            work, glob, "incr", new, batch=True, state=work / "batch-state.json", store_of="batch"
        )
        rows: list[Timing | tuple[str, str]] = [floor_run, record, batch]
        peer_rate = None
        if isinstance(peer_run, Timing):
            rows.append(peer_run)
            peer_rate = peer_run.rate
        elif isinstance(peer_run, str):
            rows.append(("peer", peer_run))
        rows.append(incremental)
        print()
        print(table(rows, floor_run.rate, peer_rate))
        print()
        print(f"batch / record speed:        {batch.rate / record.rate:.1f}x")
        print(
            f"batch time / floor time:     {batch.seconds / floor_run.seconds:.1f}x (target <= 3)"
        )
        print(
            f"batch CPU / floor CPU:       {batch.cpu_seconds / floor_run.cpu_seconds:.1f}x "
            "(CPU seconds of all processes: less sensitive to the machine's load)"
        )
        if peer_rate:
            print(f"batch / peer speed:          {batch.rate / peer_rate:.1f}x (target >= 10)")
        print(
            f"incremental ({new:,} new = {new / messages:.1%}) time / full batch time: "
            f"{incremental.seconds / batch.seconds:.2f}"
        )
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
