"""The full chaos run: many seeded SIGKILLs of each plugin, then a comparison.

    .venv/bin/python -m bench.chaos_runs [--seeds 5] [--kills-per-step 4] [--days 21]
    .venv/bin/python -m bench.chaos_runs --hubspot [--seeds 5]

Builds a clean history (the demo's archive, one incremental run per `--days-per-step`
days, piped tap | plg-transform | target-plg-crm on a local CRM, with the target's last
state kept between runs as Meltano keeps it), then for each seed replays it with
`--kills-per-step` SIGKILLs before each successful run (tap, transform or target, at a
seeded random line of either pipe; a tap kill may tear its last line; a target kill may
come while it writes after its input ended), re-running as a scheduler would.
`--hubspot` instead runs the target against the strict HubSpot emulator: per seed, the
run of each of two inputs meets one seeded event at a random call (the target killed,
or HubSpot down for 0.3 s, retried, or for 4 s, the run fails without STATE), then the
scheduler's re-runs; the portal must end as the clean runs left it.
Prints every kill point and whether each history's final CRM equals the clean one
(contacts, companies, associations, field by field); exits 1 if one does not. The CI
version is tests/chaos.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from tests.chaos import test_target_hubspot_chaos as hubspot
from tests.chaos.pipeline import Pipeline, chaotic_history, generate_days
from tests.target_hubspot.harness import HubSpotWorkspace


def hubspot_chaos(seeds: int) -> int:
    """Kills of the target and HubSpot outages at seeded random calls; print the figures."""
    started = time.monotonic()
    converged = kills = 0
    with tempfile.TemporaryDirectory(prefix="plg-chaos-hubspot-") as tmp:
        root = Path(tmp)
        emulator = hubspot.new_portal()
        try:
            clean = HubSpotWorkspace(root / "clean", emulator=emulator)
            clean.folder.mkdir()
            calls = []
            for messages in hubspot.INPUTS:
                before = len(emulator.calls)
                clean.run(messages())
                calls.append(len(emulator.calls) - before)
            expected = hubspot._portal(emulator)
        finally:
            emulator.stop()
        for seed in range(1, seeds + 1):
            rng = random.Random(seed)
            emulator = hubspot.new_portal()
            try:
                workspace = HubSpotWorkspace(root / f"seed-{seed}", emulator=emulator)
                workspace.folder.mkdir()
                events = []
                for messages, count in zip(hubspot.INPUTS, calls, strict=True):
                    # One seeded event on the run that has the work to do, then the
                    # scheduler's re-runs: a kill, a short or a long outage.
                    at = rng.randint(1, count)
                    event = rng.choice(("kill", "0.3", "4.0"))
                    if event == "kill":
                        hubspot.run_killed(workspace, messages(), emulator, at)
                        events.append(f"target killed at call {at} of {count}")
                    else:
                        down = partial(emulator.restart, float(event))
                        outage = hubspot.AtCall(emulator, at, down)
                        workspace.run(messages(), hubspot_max_retries=2)
                        outage.cancel()
                        events.append(f"HubSpot down {event} s at call {at} of {count}")
                    hubspot.run_until_it_succeeds(workspace, messages())
                same = hubspot._portal(emulator) == expected
            finally:
                emulator.stop()
            converged += same
            kills += len(events)
            print(f"seed {seed}: {'converged' if same else 'DIFFERS'}")  # noqa: T201
            for event in events:
                print(f"  {event}")  # noqa: T201
    print(  # noqa: T201
        f"{kills} target kills and HubSpot outages over {seeds} seeds; {converged}/{seeds} "
        f"portals equal the clean one ({time.monotonic() - started:.0f} s)"
    )
    return 0 if converged == seeds else 1


def main() -> int:
    """Run the clean history, then every seeded chaotic one; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--hubspot", action="store_true", help="the target on HubSpot")
    parser.add_argument("--kills-per-step", type=int, default=4)
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--days-per-step", type=int, default=3)
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--accounts", type=int, default=10)
    args = parser.parse_args()
    if args.hubspot:
        return hubspot_chaos(args.seeds)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="plg-chaos-") as tmp:
        root = Path(tmp)
        days = generate_days(
            root / "generated", users=args.users, accounts=args.accounts, days=args.days, seed=7
        )
        steps = [days[i : i + args.days_per_step] for i in range(0, len(days), args.days_per_step)]
        clean = Pipeline(root / "clean")
        lines_in, lines_out = [], []
        for step in steps:
            for day in step:
                clean.add_archive_folder(day)
            outcome = clean.run()
            if not outcome.ok:
                print(outcome.logs)  # noqa: T201
                return 1
            lines_in.append(outcome.lines_in)
            lines_out.append(outcome.lines_out)
        expected = clean.crm_records()
        kills = runs = failed = converged = 0
        for seed in range(1, args.seeds + 1):
            pipeline, report = chaotic_history(
                steps,
                lines_in,
                lines_out,
                root / f"chaos-{seed}",
                seed=seed,
                kills_per_step=args.kills_per_step,
            )
            same = pipeline.crm_records() == expected
            converged += same
            kills += len(report.kills)
            runs += report.runs
            failed += report.failed_runs
            print(f"seed {seed}: {'converged' if same else 'DIFFERS'}")  # noqa: T201
            for kill in report.kills:
                print(f"  {kill}")  # noqa: T201
    print(  # noqa: T201
        f"{kills} kills in {runs} runs ({failed} failed) over {len(steps)} incremental steps "
        f"x {args.seeds} seeds; {converged}/{args.seeds} histories converged to the clean "
        f"CRM ({time.monotonic() - started:.0f} s)"
    )
    return 0 if converged == args.seeds else 1


if __name__ == "__main__":
    sys.exit(main())
