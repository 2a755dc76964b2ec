"""A backfill's log under `meltano run`, read as a user reads it: progress from every plugin.

One log (meltano's, with each plugin's lines relayed) must show the tap's and the
transform's progress while they read, at most once per `progress_interval_seconds`, the
transform's phases, the target's records and calls per object type, and one summary line
per plugin at the end; a quiet run shows only the three summary lines.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
import yaml

from demo.generate_demo import generate
from tests.e2e.conftest import MeltanoProject

pytestmark = pytest.mark.e2e

PLUGINS = ("tap-product-events", "plg-transform", "target-plg-crm")
# A plugin's INFO line as meltano relays it: `2026-07-01T10:00:00.123456Z [info ] name message`.
LINE = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z \[info\s*\] "
    r"(tap-product-events|plg-transform|target-plg-crm) (.*)$"
)
PROGRESS = {
    "tap-product-events": "Progress: ",
    "plg-transform": "reading input: ",
    "target-plg-crm": "progress after ",
}
SUMMARY = {
    "tap-product-events": "Read ",
    "plg-transform": "run summary: ",
    "target-plg-crm": "run summary: ",
}


# Lines the SDK logs in every run (not ours to shorten).
SDK_LINES = ("Skipping parse", "Reader '", "Beginning sync of", "METRIC")


def plugin_lines(log: str) -> dict[str, list[tuple[datetime, str]]]:
    """Each plugin's own INFO lines (time, message) in the order meltano relayed them."""
    found: dict[str, list[tuple[datetime, str]]] = {name: [] for name in PLUGINS}
    for line in log.splitlines():
        match = LINE.search(line)
        if match and not match[3].startswith((*SDK_LINES, f"{match[2]} v")):
            moment = datetime.fromisoformat(match[1])
            found[match[2]].append((moment, match[3]))
    return found


def set_intervals(project: MeltanoProject, **seconds: float) -> None:
    """`progress_interval_seconds` of each plugin in the project's dev environment.

    Written to meltano.yml: Meltano 4.4.1 reads a number from an environment variable as a
    Decimal, which it then fails to pass on as JSON.
    """
    path = project.root / "meltano.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    dev = next(e for e in config["environments"] if e["name"] == "dev")
    for plugins in dev["config"]["plugins"].values():
        for plugin in plugins:
            key = plugin["name"].replace("-", "_")
            if key in seconds:
                plugin.setdefault("config", {})["progress_interval_seconds"] = seconds[key]
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def test_a_backfill_log_shows_each_plugins_progress_then_one_summary_each(
    meltano_project: MeltanoProject,
) -> None:
    generate(meltano_project.events_dir, seed=3, accounts=40, users=160, days=90)
    # The tap reads this archive in about half a second: its interval is shorter.
    intervals = {"tap-product-events": 0.1, "plg-transform": 0.5, "target-plg-crm": 0}
    set_intervals(meltano_project, **{k.replace("-", "_"): v for k, v in intervals.items()})
    lines = plugin_lines(meltano_project.run_pipeline().stderr)
    for name in PLUGINS:
        progress = [(at, m) for at, m in lines[name] if m.startswith(PROGRESS[name])]
        summaries = [m for _, m in lines[name] if m.startswith(SUMMARY[name])]
        assert progress, (name, lines[name])
        assert len(summaries) == 1, (name, summaries)
        assert lines[name][-1][1] == summaries[0]  # the summary closes each plugin's lines
        interval = intervals[name]
        if interval:  # the target's is 0: every call reports
            # At most one line per interval (meltano stamps lines when it relays them,
            # so the count over the span is checked, not each gap).
            span = (progress[-1][0] - progress[0][0]).total_seconds()
            assert len(progress) <= span / interval + 2, (name, span, len(progress))
    tap = [m for _, m in lines["tap-product-events"] if m.startswith("Progress: ")]
    counts = [int(m.split(" files/tables, ")[1].split()[0]) for m in tap]
    assert counts == sorted(counts) and counts[-1] > 0
    transform = [m for _, m in lines["plg-transform"]]
    for phase in ("read and staged ", "stored ", "scored ", "emitted "):
        assert any(m.startswith(phase) for m in transform), (phase, transform)
    target = [m for _, m in lines["target-plg-crm"] if m.startswith("progress after ")]
    assert any(re.search(r"contacts \d+ records \(.*\), \d+ calls", m) for m in target), target


def test_a_quiet_run_logs_one_summary_line_per_plugin(meltano_project: MeltanoProject) -> None:
    generate(meltano_project.events_dir, seed=5, accounts=6, users=15, days=20)
    set_intervals(meltano_project, tap_product_events=120, plg_transform=120, target_plg_crm=120)
    lines = plugin_lines(meltano_project.run_pipeline().stderr)
    for name in PLUGINS:
        ours = [m for _, m in lines[name]]
        assert len(ours) == 1 and ours[0].startswith(SUMMARY[name]), (name, ours)
