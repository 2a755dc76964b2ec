"""Benchmark: the HubSpot calls of the demo (`make demo`'s data) on the emulator, per run.

    .venv/bin/python bench/target_hubspot_demo_calls.py

Generates the demo archive (seed 7: 300 accounts, 1,000 users, 120 days) into a
throw-away Meltano project, runs `meltano --environment dev run tap-product-events
plg-scores target-plg-crm` twice into one emulated HubSpot portal (a clean run, then the
same input again with a full refresh of the tap and the transform), and prints each
run's line of the run history: records per object and outcome, calls per endpoint and
rate-limit waits.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.crm_emulators import TOKEN, HubSpotEmulator  # noqa: E402
from demo.generate_demo import generate  # noqa: E402

MELTANO = Path(sys.executable).parent / "meltano"
PLUGINS = (
    ("extractors", "tap-product-events"),
    ("mappers", "plg-transform"),
    ("loaders", "target-plg-crm"),
)


def project(root: Path) -> None:
    """A Meltano project in `root` using the repository's meltano.yml and installed plugins."""
    shutil.copy(REPO / "meltano.yml", root / "meltano.yml")
    for kind, name in PLUGINS:
        (root / ".meltano" / kind).mkdir(parents=True, exist_ok=True)
        (root / ".meltano" / kind / name).symlink_to(REPO / ".meltano" / kind / name)


def run(root: Path, emulator: HubSpotEmulator, *flags: str) -> None:
    """One `meltano run` of the dev pipeline into the emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MELTANO_")}
    env.update(
        MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
        TARGET_PLG_CRM_CRM="hubspot",
        TARGET_PLG_CRM_HUBSPOT_ACCESS_TOKEN=TOKEN,
        TARGET_PLG_CRM_HUBSPOT_BASE_URL=emulator.base_url,
    )
    command = [str(MELTANO), "--environment", "dev", "run", "--no-install", *flags]
    command += ["tap-product-events", "plg-scores", "target-plg-crm"]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(done.stderr[-4000:])


def main() -> None:
    """Print the run history of a clean run and of an unchanged re-run."""
    with tempfile.TemporaryDirectory() as folder, HubSpotEmulator(TOKEN) as emulator:
        root = Path(folder)
        project(root)
        counts = generate(root / "demo-data" / "events")
        run(root, emulator)
        run(root, emulator, "--full-refresh")
        history = (root / "output" / "run-history.jsonl").read_text().splitlines()
        rejects = (root / "output" / "rejects.jsonl").read_text().splitlines()
    print(f"demo: {counts['accounts']} accounts, {counts['users']} users")
    for name, line in zip(("clean run", "same again"), history, strict=True):
        entry = json.loads(line)
        print(f"\n{name}: {entry['seconds']:.1f} s, {entry['rejects']} rejects")
        for object_type, outcomes in entry["objects"].items():
            print(f"  {object_type:<13}" + ", ".join(f"{k} {v}" for k, v in outcomes.items()))
        calls = entry["calls"]
        print(f"  calls: {calls['total']}, rate-limit waits: {calls['rate_limit_waits']}")
        for endpoint, count in calls["by_endpoint"].items():
            print(f"    {count:>5}  {endpoint}")
    print(f"\nrejects file after the second run: {len(rejects)} lines")


if __name__ == "__main__":
    main()
