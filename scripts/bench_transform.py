"""Benchmark plg-transform: N synthetic Segment messages through the real mapper.

Usage: python scripts/bench_transform.py [N]   (default 1,000,000)
Prints a table: messages, ingest s, compute+emit s, messages/s (ingest), peak RSS.
"""

from __future__ import annotations

import io
import json
import os
import random
import resource
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

from plg_transform.mapper import PLGTransform


def synthetic_lines(n: int, seed: int = 7) -> list[str]:
    """n RECORD lines: 1% identifies, 0.5% groups, the rest tracks over 60 days."""
    rng = random.Random(seed)
    users, accounts = max(10, n // 100), max(2, n // 2000)
    events = ["Report Created", "Dashboard Viewed", "Invite Sent", "Export Run", "Login"]
    lines = []
    for i in range(n):
        user = f"u{rng.randrange(users)}"
        account = f"acc{hash(user) % accounts}"
        day = rng.randrange(60)
        ts = f"2026-{1 + day // 30:02d}-{1 + day % 28:02d}T{rng.randrange(24):02d}:17:03Z"
        roll = rng.random()
        if roll < 0.01:
            stream = "identifies"
            record = {
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
        lines.append(json.dumps({"type": "RECORD", "stream": stream, "record": record}))
    lines.append(json.dumps({"type": "STATE", "value": {"bookmarks": {"tracks": {"n": n}}}}))
    return lines


class TimedTransform(PLGTransform):
    """Records when the input ends, to split ingest from compute+emit."""

    input_done: float = 0.0

    def process_endofpipe(self) -> None:
        """Flush the last chunk, note the time, then compute and emit."""
        self._flush()
        TimedTransform.input_done = time.perf_counter()
        super().process_endofpipe()


def main() -> None:
    """Run the benchmark and print the table."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    lines = synthetic_lines(n)
    with tempfile.TemporaryDirectory() as tmp:
        config = {
            "store_path": str(Path(tmp) / "store.duckdb"),
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
        mapper = TimedTransform(config=config)
        mapper.logger.setLevel("WARNING")
        source = io.StringIO("\n".join(lines) + "\n")
        sink = open(os.devnull, "w")  # noqa: SIM115
        start = time.perf_counter()
        with redirect_stdout(sink):
            mapper.listen(source)
        end = time.perf_counter()
        sink.close()
    ingest = TimedTransform.input_done - start
    compute = end - TimedTransform.input_done
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"| {'messages':>10} | {'ingest s':>9} | {'compute+emit s':>14} | "
        f"{'messages/s':>10} | {'peak RSS MB':>11} |"
    )
    print(f"|{'-' * 12}|{'-' * 11}|{'-' * 16}|{'-' * 12}|{'-' * 13}|")
    print(
        f"| {n:>10,} | {ingest:>9.2f} | {compute:>14.2f} | {n / ingest:>10,.0f} | "
        f"{peak_mb:>11.0f} |"
    )
    print("(peak RSS includes the generated input held in memory)")


if __name__ == "__main__":
    main()
