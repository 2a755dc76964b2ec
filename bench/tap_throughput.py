"""Benchmark of tap-product-events alone: synthetic Segment archives in, /dev/null out.

    .venv/bin/python bench/tap_throughput.py [--messages 200000] [--files 8]

Generates Segment-spec messages (80% track, the rest identify/page/group/screen/alias,
with realistic `context` and `properties`) into a temporary folder, half the files plain
JSON lines and half gzip, then runs the `tap-product-events` console script on them with
stdout to /dev/null, and prints a table (wall-clock and CPU seconds). The second row runs
the same tap in-process with the SDK's default message writer instead of ours, to show
what that writer costs.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import logging
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from singer_sdk.io_base import SingerWriter
from tap_product_events.tap import TapProductEvents

TYPES = ["track"] * 16 + ["identify", "page", "group", "screen"]
EVENTS = ["Report Viewed", "Dashboard Shared", "Seat Added", "Export Created", "Login"]


def synthetic_message(rng: random.Random, n: int) -> dict:
    """One Segment-spec message as an archive would hold it."""
    kind = rng.choice(TYPES) if n % 1000 else "alias"
    user = f"user-{rng.randrange(5000)}"
    ts = f"2026-03-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:{(n * 7) % 60:02d}.{n % 1000:03d}Z"
    message: dict = {
        "type": kind,
        "messageId": f"ajs-{n:012d}-{rng.getrandbits(48):012x}",
        "userId": user,
        "anonymousId": f"anon-{rng.getrandbits(40):010x}",
        "timestamp": ts,
        "originalTimestamp": ts,
        "sentAt": ts,
        "receivedAt": ts,
        "channel": "client",
        "version": 2,
        "integrations": {},
        "context": {
            "library": {"name": "analytics.js", "version": "5.2.0"},
            "ip": f"10.0.{n % 256}.{rng.randrange(256)}",
            "locale": "en-US",
            "page": {"path": "/app/reports", "url": "https://app.example.com/app/reports"},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0",
            "groupId": f"acct-{rng.randrange(500)}",
        },
    }
    if kind == "track":
        message["event"] = rng.choice(EVENTS)
        message["properties"] = {"plan": "pro", "seats": rng.randrange(1, 50), "value": 1.5}
    elif kind in ("page", "screen"):
        message["name"] = "Reports"
        message["properties"] = {"path": "/app/reports", "title": "Reports"}
    elif kind == "identify":
        message["traits"] = {"email": f"{user}@example.com", "name": "Ada", "plan": "pro"}
    elif kind == "group":
        message["groupId"] = f"acct-{rng.randrange(500)}"
        message["traits"] = {"name": "Acme", "employees": 120, "plan": "enterprise"}
    else:
        message["previousId"] = message.pop("anonymousId")
    return message


def write_archives(folder: Path, messages: int, files: int) -> int:
    """Write `messages` messages over `files` files (alternating plain / gzip); bytes."""
    rng = random.Random(7)
    per_file = messages // files
    total = 0
    for index in range(files):
        count = per_file if index < files - 1 else messages - per_file * (files - 1)
        start = index * per_file
        lines = b"".join(
            orjson.dumps(synthetic_message(rng, start + i)) + b"\n" for i in range(count)
        )
        total += len(lines)
        if index % 2:
            (folder / f"part-{index:03d}.jsonl.gz").write_bytes(gzip.compress(lines, 6))
        else:
            (folder / f"part-{index:03d}.jsonl").write_bytes(lines)
    return total


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_cli(config_path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one `tap-product-events --config ...` run, stdout to /dev/null."""
    exe = Path(sys.executable).with_name("tap-product-events")
    with open(os.devnull, "wb") as devnull:
        cpu_before = _cpu_seconds(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [str(exe), "--config", str(config_path)],
            stdout=devnull,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        wall = time.perf_counter() - started
        return wall, _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before


def run_in_process_with_sdk_writer(config: dict) -> tuple[float, float]:
    """(wall, CPU) seconds of the same sync in-process, with the SDK's default writer."""

    class TapWithSdkWriter(TapProductEvents):
        message_writer_class = SingerWriter

    logging.disable(logging.WARNING)
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        cpu_before = _cpu_seconds(resource.RUSAGE_SELF)
        started = time.perf_counter()
        TapWithSdkWriter(config=config).sync_all()
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds(resource.RUSAGE_SELF) - cpu_before
    logging.disable(logging.NOTSET)
    return elapsed, cpu


def main() -> None:
    """Generate, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--skip-sdk-writer", action="store_true")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-tap-"))
    try:
        size = write_archives(folder, args.messages, args.files)
        config = {"events_paths": [str(folder / "*.jsonl"), str(folder / "*.gz")]}
        config_path = folder / "config.json"
        config_path.write_text(json.dumps(config))

        rows = [("tap-product-events CLI (orjson writer)", run_cli(config_path))]
        if not args.skip_sdk_writer:
            sdk_writer_seconds = run_in_process_with_sdk_writer(config)
            rows.append(("same, in-process, SDK default writer", sdk_writer_seconds))

        print(f"\n{args.messages} messages, {size / 1e6:.1f} MB uncompressed, {args.files} files")
        # CPU seconds too: on a busy machine the wall clock measures the neighbours.
        print(
            f"{'run':<40} {'messages':>10} {'seconds':>9} {'messages/s':>12}"
            f" {'CPU s':>7} {'messages/CPU s':>15}"
        )
        for name, (seconds, cpu) in rows:
            print(
                f"{name:<40} {args.messages:>10} {seconds:>9.2f} {args.messages / seconds:>12,.0f}"
                f" {cpu:>7.2f} {args.messages / cpu:>15,.0f}"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
