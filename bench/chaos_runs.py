"""The full chaos run: many seeded SIGKILLs of the tap and the transform, then a comparison.

    .venv/bin/python -m bench.chaos_runs [--seeds 5] [--kills-per-step 4] [--days 21]

Builds a clean history (the demo's archive, one incremental run per `--days-per-step`
days, piped tap | plg-transform | target-plg-crm on a local CRM, with the target's last
state kept between runs as Meltano keeps it), then for each seed replays it with
`--kills-per-step` SIGKILLs before each successful run (tap or transform, at a seeded
random line of either pipe; a tap kill may tear its last line), re-running as a
scheduler would. Prints every kill point and whether each history's final CRM equals
the clean one (contacts, companies, associations, field by field); exits 1 if one does
not. The CI version is tests/chaos (3 kills).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tests.chaos.pipeline import Pipeline, chaotic_history, generate_days


def main() -> int:
    """Run the clean history, then every seeded chaotic one; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--kills-per-step", type=int, default=4)
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--days-per-step", type=int, default=3)
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--accounts", type=int, default=10)
    args = parser.parse_args()
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
