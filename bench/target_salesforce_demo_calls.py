"""Benchmark: the Salesforce requests of the demo (`make demo`'s data) on the emulator.

    .venv/bin/python bench/target_salesforce_demo_calls.py

Generates the demo archive (seed 7: 300 accounts, 1,000 users, 120 days) into a
throw-away Meltano project and runs `meltano --environment dev run tap-product-events
plg-scores target-plg-crm` with `crm: salesforce` into one emulated org (an empty org
with "Contacts to Multiple Accounts" on): a dry run, the clean run, then the same input
again (a full refresh of the tap and the transform). Prints, per run, the requests per
endpoint from the run history (the OAuth token requests are not API calls and are left
out), the write calls per object (sObject Collections calls carrying it; Bulk API jobs;
Metadata API calls) and the records per outcome.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.crm_emulators import CLIENT_ID, CLIENT_SECRET, SalesforceEmulator, new_emulator  # noqa: E402
from bench.target_hubspot_demo_calls import MELTANO, project  # noqa: E402
from demo.generate_demo import generate  # noqa: E402

SOBJECTS = ("Account", "Contact", "AccountContactRelation")


def run(root: Path, emulator: SalesforceEmulator, *flags: str, dry_run: bool = False) -> None:
    """One `meltano run` of the dev pipeline into the emulated org."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MELTANO_")}
    env.update(
        MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
        TARGET_PLG_CRM_CRM="salesforce",
        TARGET_PLG_CRM_SALESFORCE_LOGIN_URL=emulator.base_url,
        TARGET_PLG_CRM_SALESFORCE_CLIENT_ID=CLIENT_ID,
        TARGET_PLG_CRM_SALESFORCE_CLIENT_SECRET=CLIENT_SECRET,
        TARGET_PLG_CRM_DRY_RUN="true" if dry_run else "false",
    )
    command = [str(MELTANO), "--environment", "dev", "run", "--no-install", *flags]
    command += ["tap-product-events", "plg-scores", "target-plg-crm"]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(done.stderr[-4000:])


def writes_per_object(emulator: SalesforceEmulator, since: int) -> dict[str, int]:
    """Write calls of the run whose requests start at `since`, per object and API."""
    calls = emulator.calls[since:]
    mine = {id(c) for c in calls}
    counts: dict[str, int] = {}
    for sobject in SOBJECTS:
        carrying = [c for c in emulator.writes(sobject) if id(c) in mine]
        counts[f"{sobject} (collections)"] = len(carrying)
    jobs = [c for c in calls if c.method == "POST" and c.path.endswith("/jobs/ingest")]
    counts["Bulk API jobs"] = len(jobs)
    counts["Metadata API (roles)"] = len([c for c in calls if "/Soap/m/" in c.path])
    tooling = [c for c in calls if "/tooling/" in c.path]
    counts["Tooling API (fields)"] = len(tooling)
    return counts


def main() -> None:
    """Print the dry run's plan total, then each real run's requests and writes."""
    with tempfile.TemporaryDirectory() as folder, new_emulator(watchdog_seconds=3600) as org:
        root = Path(folder)
        project(root)
        counts = generate(root / "demo-data" / "events")
        run(root, org, dry_run=True)
        plan = json.loads((root / "output" / "plan.json").read_text())
        writes = []
        for flags in ((), ("--full-refresh",)):
            since = len(org.calls)
            run(root, org, *flags)
            writes.append(writes_per_object(org, since))
        history = (root / "output" / "run-history.jsonl").read_text().splitlines()
    print(f"demo: {counts['accounts']} accounts, {counts['users']} users")
    print(f"dry run: planned {plan['calls']['total']} requests")
    real = [json.loads(line) for line in history if not json.loads(line)["dry_run"]]
    for name, entry, written in zip(("clean run", "same again"), real, writes, strict=True):
        print(f"\n{name}: {entry['seconds']:.1f} s, {entry['rejects']} rejects")
        if entry["error"]:
            print(f"  error: {entry['error']}")
        for object_type, outcomes in entry["objects"].items():
            print(f"  {object_type:<13}" + ", ".join(f"{k} {v}" for k, v in outcomes.items()))
        calls = entry["calls"]
        print(f"  requests: {calls['total']} ({calls['retries']} retries)")
        for endpoint, count in calls["by_endpoint"].items():
            print(f"    {count:>5}  {endpoint}")
        print("  write calls:")
        for what, count in written.items():
            print(f"    {count:>5}  {what}")
    planned = plan["calls"]["by_endpoint"]
    same = planned == real[0]["calls"]["by_endpoint"]
    print(f"\nthe clean run made exactly the planned requests: {same}")


if __name__ == "__main__":
    main()
