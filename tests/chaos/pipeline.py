"""A scheduler's view of the pipeline: tap | plg-transform | target (crm: local), with kills.

Runs the three real console scripts piped as `meltano run` pipes them, and keeps the
pipeline's state as Meltano does: only the last STATE the target emitted is kept and
handed to the tap next run. A run can SIGKILL the tap or the transform at a chosen point
(after n lines passed a pipe; a tap kill may cut its next line in half), which is how a
crash, an OOM kill or a pulled plug looks to the others. The final local CRM is read
field by field, to compare a chaotic history with the clean one.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-07-01T00:00:00Z"
PLUGIN_ENV_PREFIXES = ("TAP_PRODUCT_EVENTS_", "PLG_TRANSFORM_", "TARGET_PLG_CRM_")


def scoring_config() -> dict[str, t.Any]:
    """The plg-scores mapping config of the project's meltano.yml (the demo's model)."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    for mapper in project["plugins"]["mappers"]:
        for mapping in mapper.get("mappings", []):
            if mapping["name"] == "plg-scores":
                return dict(mapping["config"])
    raise LookupError("no plg-scores mapping in meltano.yml")


def generate_days(folder: Path, *, users: int, accounts: int, days: int, seed: int) -> list[Path]:
    """The demo generator's archive, one folder per day, oldest first."""
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "demo" / "generate_demo.py"),
            "--out",
            str(folder),
            "--users",
            str(users),
            "--accounts",
            str(accounts),
            "--days",
            str(days),
            "--seed",
            str(seed),
            "--end",
            "2026-06-30",
        ],
        check=True,
        capture_output=True,
    )
    return sorted(p for p in folder.glob("*/*/*") if p.is_dir())


@dataclass(frozen=True)
class Kill:
    """Where to SIGKILL: `tap`, `transform` or `target`, after `after` lines passed `pipe`.

    pipe `in`: lines from the tap to the transform; `out`: lines from the transform to the
    target. `cut`: a tap kill also forwards half of its next line (a torn write). A target
    kill at the end of its input (`after` = every line) comes `delay` seconds after the
    input ended, while the target writes to the CRM.
    """

    plugin: str
    pipe: str
    after: int
    cut: bool = False
    delay: float = 0.0

    def describe(self) -> str:
        """E.g. `transform after 120 lines in`."""
        torn = ", torn line" if self.cut else ""
        late = f", {self.delay:.2f} s after its input ended" if self.delay else ""
        return f"{self.plugin} after {self.after} lines {self.pipe}{torn}{late}"


#: The plugins a random kill may hit.
PLUGINS = ("tap", "transform", "target")


def random_kill(
    rng: random.Random, lines_in: int, lines_out: int, plugins: tuple[str, ...] = PLUGINS
) -> Kill:
    """A kill of one of `plugins` at a random point of a run whose pipes carried these many
    lines."""
    plugin = rng.choice(plugins)
    if plugin == "tap":
        return Kill("tap", "in", rng.randrange(max(lines_in, 1)), cut=rng.random() < 0.5)
    if plugin == "transform":
        if rng.random() < 0.5:
            return Kill("transform", "in", rng.randrange(max(lines_in, 1)))
        return Kill("transform", "out", rng.randrange(max(lines_out, 1)))
    # The target: while it reads, or while it writes after its input ended.
    if rng.random() < 0.5:
        return Kill("target", "out", rng.randrange(max(lines_out, 1)))
    return Kill("target", "out", lines_out, delay=round(rng.uniform(0.0, 1.5), 2))


@dataclass
class RunOutcome:
    """What one pipeline run did."""

    returncodes: dict[str, int]
    lines_in: int
    lines_out: int
    logs: dict[str, str]
    state_emitted: bool

    @property
    def ok(self) -> bool:
        """True if every plugin exited 0."""
        return all(code == 0 for code in self.returncodes.values())


@dataclass
class Pipeline:
    """One pipeline's files in `folder`: archive folder, store, state, CRM, ledger."""

    folder: Path
    transform_overrides: dict[str, t.Any] = field(default_factory=dict)

    @property
    def events(self) -> Path:
        """The folder the tap reads (archives are added to it between runs)."""
        return self.folder / "events"

    @property
    def store(self) -> Path:
        """The transform's DuckDB store."""
        return self.folder / "store.duckdb"

    @property
    def state(self) -> Path:
        """The pipeline's state as Meltano keeps it (the target's last STATE)."""
        return self.folder / "state.json"

    @property
    def crm(self) -> Path:
        """The local CRM file."""
        return self.folder / "crm.sqlite"

    def _configs(self) -> dict[str, Path]:
        self.folder.mkdir(parents=True, exist_ok=True)
        configs = {
            "tap": {"events_paths": [str(self.events)]},
            "transform": {
                **scoring_config(),
                "as_of": AS_OF,
                "store_path": str(self.store),
                **self.transform_overrides,
            },
            "target": {
                "crm": "local",
                "local_path": str(self.crm),
                "ledger_path": str(self.folder / "ledger.sqlite"),
                "rejects_path": str(self.folder / "rejects.jsonl"),
                "summary_path": str(self.folder / "summary.json"),
            },
        }
        paths = {}
        for name, config in configs.items():
            paths[name] = self.folder / f"{name}-config.json"
            paths[name].write_text(json.dumps(config))
        return paths

    def add_archive_folder(self, day: Path) -> None:
        """Make one more day of archives visible to the tap."""
        target = self.events / day.name
        shutil.copytree(day, target, dirs_exist_ok=True)

    def run(self, kill: Kill | None = None, *, full_refresh: bool = False) -> RunOutcome:
        """One `meltano run`-like pipeline run; the target's last STATE becomes the state."""
        configs = self._configs()
        env = {k: v for k, v in os.environ.items() if not k.startswith(PLUGIN_ENV_PREFIXES)}
        tap_args = [str(BIN / "tap-product-events"), "--config", str(configs["tap"])]
        if self.state.exists() and not full_refresh:
            tap_args += ["--state", str(self.state)]
        logs = {name: self.folder / f"{name}.log" for name in ("tap", "transform", "target")}
        handles = {name: path.open("wb") for name, path in logs.items()}
        pipe = subprocess.PIPE
        procs = {
            "tap": subprocess.Popen(tap_args, stdout=pipe, stderr=handles["tap"], env=env),
            "transform": subprocess.Popen(
                [str(BIN / "plg-transform"), "--config", str(configs["transform"])],
                stdin=pipe,
                stdout=pipe,
                stderr=handles["transform"],
                env=env,
            ),
            "target": subprocess.Popen(
                [str(BIN / "target-plg-crm"), "--config", str(configs["target"])],
                stdin=pipe,
                stdout=pipe,
                stderr=handles["target"],
                env=env,
            ),
        }
        counts = {"in": 0, "out": 0}
        relays = [
            threading.Thread(
                target=_relay, args=(procs["tap"], procs["transform"], "in", kill, procs, counts)
            ),
            threading.Thread(
                target=_relay,
                args=(procs["transform"], procs["target"], "out", kill, procs, counts),
            ),
        ]
        for relay in relays:
            relay.start()
        assert procs["target"].stdout is not None
        target_out = procs["target"].stdout.read()
        for relay in relays:
            relay.join()
        codes = {name: proc.wait(timeout=600) for name, proc in procs.items()}
        for handle in handles.values():
            handle.close()
        # A Singer target prints each state value it commits as one JSON line.
        states = [line for line in target_out.splitlines() if line.strip().startswith(b"{")]
        if states:  # Meltano keeps the target's last state, even from a failed run
            self.state.write_bytes(states[-1].strip())
        return RunOutcome(
            returncodes=codes,
            lines_in=counts["in"],
            lines_out=counts["out"],
            logs={name: path.read_text(errors="replace") for name, path in logs.items()},
            state_emitted=bool(states),
        )

    def crm_records(self) -> dict[str, dict[str, t.Any]]:
        """The local CRM's contacts, companies and associations, field by field."""
        with sqlite3.connect(self.crm) as db:
            contacts = {
                e: json.loads(p) for e, p in db.execute("SELECT email, properties FROM contacts")
            }
            companies = {
                k: json.loads(p)
                for k, p in db.execute("SELECT account_key, properties FROM companies")
            }
            associations = {
                f"{e}|{k}": json.loads(labels)
                for e, k, labels in db.execute(
                    "SELECT c.email, co.account_key, a.labels FROM associations a "
                    "JOIN contacts c ON c.id = a.contact_id "
                    "JOIN companies co ON co.id = a.company_id"
                )
            }
        return {"contacts": contacts, "companies": companies, "associations": associations}


def _relay(
    source: subprocess.Popen,
    sink: subprocess.Popen,
    pipe: str,
    kill: Kill | None,
    procs: dict[str, subprocess.Popen],
    counts: dict[str, int],
) -> None:
    """Copy lines from one plugin to the next, killing at the chosen point."""
    assert source.stdout is not None and sink.stdin is not None
    try:
        for line in source.stdout:
            if kill is not None and kill.pipe == pipe and counts[pipe] == kill.after:
                victim = procs[kill.plugin]
                victim.send_signal(signal.SIGKILL)
                if kill.cut and kill.plugin == "tap":
                    sink.stdin.write(line[: len(line) // 2])
                if victim is source:
                    break
            sink.stdin.write(line)
            counts[pipe] += 1
    except (BrokenPipeError, OSError):
        pass
    finally:
        with contextlib.suppress(BrokenPipeError, OSError):
            sink.stdin.close()
        source.stdout.close()
    late = kill is not None and kill.pipe == pipe and kill.plugin == "target"
    if late and kill is not None and counts[pipe] <= kill.after:
        time.sleep(kill.delay)  # the target writes what it read: kill it meanwhile
        procs["target"].send_signal(signal.SIGKILL)


@dataclass
class KillReport:
    """The kills of one chaotic history and how many runs it took to converge."""

    seed: int
    kills: list[str] = field(default_factory=list)
    runs: int = 0
    failed_runs: int = 0


def chaotic_history(
    steps: list[list[Path]],
    lines_in: list[int],
    lines_out: list[int],
    folder: Path,
    *,
    seed: int,
    kills_per_step: int,
    plugins: tuple[str, ...] = PLUGINS,
) -> tuple[Pipeline, KillReport]:
    """The clean history's runs, each preceded by `kills_per_step` killed runs.

    After each kill the scheduler simply runs again; the next step's archives arrive
    only once a run succeeded (as with an hourly schedule and a daily archive).
    """
    rng = random.Random(seed)
    pipeline = Pipeline(folder)
    report = KillReport(seed=seed)
    for number, step in enumerate(steps):
        for day in step:
            pipeline.add_archive_folder(day)
        for _ in range(kills_per_step):
            kill = random_kill(rng, lines_in[number], lines_out[number], plugins)
            outcome = pipeline.run(kill)
            report.runs += 1
            report.failed_runs += not outcome.ok
            report.kills.append(f"run {report.runs}: {kill.describe()}")
        for _attempt in range(3):  # the scheduler's next runs, no more kills
            outcome = pipeline.run()
            report.runs += 1
            if outcome.ok:
                break
            report.failed_runs += 1
        else:
            raise AssertionError(f"no run succeeded after the kills: {outcome.logs}")
    return pipeline, report
