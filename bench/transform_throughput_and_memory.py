"""Benchmark plg-transform: N synthetic Segment messages through the real CLI.

Usage: python bench/transform_throughput_and_memory.py [--users U] [--memory-limit L] [N ...]
       (default sizes: 200000 1000000)

--users U fixes the number of users (and accounts, U // 20) whatever N is, so the table
shows how memory grows with events at a constant number of entities; without it there
are N // 100 users and N // 2000 accounts. --memory-limit L sets `store_memory_limit`
(e.g. 512MB; default: the setting's default).

For each N the input is written to a file first (streamed, never held in memory), then
`plg-transform --config ...` runs as a subprocess reading that file on stdin, as in a
pipeline. Ingest time and records/s come from the mapper's own log line ("read and staged
N input records in X s", with its peak RSS then), compute+emit from "computed and
emitted in X s". The mapper's peak RSS over the whole run is the subprocess's own
(os.wait4), apart from this script's.
Prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = str(Path(sys.executable).parent / "plg-transform")
CONFIG = {
    "as_of": "2026-03-01T00:00:00Z",
    "events": {
        "Report Created": {"weight": 3, "feature": "reports"},
        "Dashboard Viewed": {"weight": 1, "feature": "dashboards"},
        "Invite Sent": {"weight": 5},
    },
    "user_traits": ["plan"],
    "pql": "engagement_score >= 60 AND plan = 'pro'",
    "segments": [{"name": "busy", "when": "active_users >= 3", "applies_to": "account"}],
    "activation": {"milestones": [{"name": "report", "event": "Report Created"}]},
}


def write_input(path: Path, n: int, users: int | None = None, seed: int = 7) -> None:
    """n RECORD lines (1% identifies, 0.5% groups, the rest tracks over 60 days), a STATE.

    `users` fixes the number of users (accounts: users // 20); default n // 100.
    """
    rng = random.Random(seed)
    if users is None:
        users, accounts = max(10, n // 100), max(2, n // 2000)
    else:
        accounts = max(2, users // 20)
    events = ["Report Created", "Dashboard Viewed", "Invite Sent", "Export Run", "Login"]
    with path.open("w") as out:
        for i in range(n):
            user = f"u{rng.randrange(users)}"
            account = f"acc{int(user[1:]) % accounts}"
            day = rng.randrange(60)
            ts = f"2026-{1 + day // 30:02d}-{1 + day % 28:02d}T{rng.randrange(24):02d}:17:03Z"
            roll = rng.random()
            if roll < 0.01:
                stream = "identifies"
                record: dict = {
                    "messageId": f"m{i}",
                    "type": "identify",
                    "userId": user,
                    "anonymousId": f"anon-{user}",
                    "timestamp": ts,
                    "traits": {"email": f"{user}@example.com", "plan": "pro"},
                }
            elif roll < 0.015:
                stream = "groups"
                record = {
                    "messageId": f"m{i}",
                    "type": "group",
                    "userId": user,
                    "groupId": account,
                    "timestamp": ts,
                    "traits": {"name": account, "website": f"www.{account}.com", "role": "admin"},
                }
            else:
                stream = "tracks"
                record = {
                    "messageId": f"m{i}",
                    "type": "track",
                    "userId": user,
                    "event": rng.choice(events),
                    "timestamp": ts,
                    "context": {"groupId": account, "library": {"name": "analytics.js"}},
                    "properties": {"value": rng.randrange(100)},
                }
            out.write(json.dumps({"type": "RECORD", "stream": stream, "record": record}))
            out.write("\n")
        out.write(json.dumps({"type": "STATE", "value": {"bookmarks": {"tracks": {"n": n}}}}))
        out.write("\n")


def run_once(n: int, tmp: Path, users: int | None, memory_limit: str | None) -> dict[str, float]:
    """Run the CLI on n messages; timings from its log, peak RSS from the kernel."""
    source = tmp / f"input-{n}.jsonl"
    write_input(source, n, users)
    config = {**CONFIG, "store_path": str(tmp / f"store-{n}.duckdb")}
    if memory_limit is not None:
        config["store_memory_limit"] = memory_limit
    config_path = tmp / "config.json"
    config_path.write_text(json.dumps(config))
    log_path = tmp / f"log-{n}.txt"
    start = time.perf_counter()
    with source.open("rb") as stdin, log_path.open("wb") as log:
        proc = subprocess.Popen(
            [CLI, "--config", str(config_path)],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    total = time.perf_counter() - start
    text = log_path.read_text()
    if proc.returncode != 0:
        raise SystemExit(f"plg-transform failed on {n} messages:\n{text[-3000:]}")
    read = re.search(r"read and staged (\d+) input records in ([\d.]+) s .*peak RSS (\d+) MB", text)
    compute = re.search(r"computed and emitted in ([\d.]+) s", text)
    if read is None or compute is None:
        raise SystemExit(f"timing lines not found in the log:\n{text[-3000:]}")
    ingest_s = float(read.group(2))
    input_mb = source.stat().st_size / 1e6
    source.unlink()  # keep the temporary folder small for the next size
    return {
        "ingest_s": ingest_s,
        "rate": int(read.group(1)) / ingest_s,
        "compute_s": float(compute.group(1)),
        "total_s": total,
        "ingest_mb": float(read.group(3)),
        "mapper_mb": usage.ru_maxrss / 1024,
        "input_mb": input_mb,
    }


def main() -> None:
    """Run the benchmark for each size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, help="numbers of messages")
    parser.add_argument("--users", type=int, help="fixed number of users (accounts: / 20)")
    parser.add_argument("--memory-limit", help="store_memory_limit setting, e.g. 512MB")
    args = parser.parse_args()
    sizes = args.sizes or [200_000, 1_000_000]
    if args.users is not None:
        print(f"users: {args.users:,}, accounts: {max(2, args.users // 20):,} (fixed)")
    else:
        print("users: messages / 100, accounts: messages / 2000")
    print(f"store_memory_limit: {args.memory_limit or 'default'}")
    header = (
        "messages",
        "input MB",
        "ingest s",
        "messages/s",
        "compute+emit s",
        "wall s",
        "mapper RSS MB, ingest",
        "mapper RSS MB, whole run",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("-" * (len(h) + 2) for h in header) + "|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            r = run_once(n, Path(tmp), args.users, args.memory_limit)
            cells = (
                f"{n:,}",
                f"{r['input_mb']:.0f}",
                f"{r['ingest_s']:.2f}",
                f"{r['rate']:,.0f}",
                f"{r['compute_s']:.2f}",
                f"{r['total_s']:.2f}",
                f"{r['ingest_mb']:.0f}",
                f"{r['mapper_mb']:.0f}",
            )
            print(
                "| "
                + " | ".join(c.rjust(len(h)) for c, h in zip(cells, header, strict=True))
                + " |"
            )
    own_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this script's own peak RSS, input generation included: {own_mb:.0f} MB)")


if __name__ == "__main__":
    main()
