"""`tap-product-events --config X | plg-transform --config Y`, as real piped processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TAP = str(BIN / "tap-product-events")
TRANSFORM = str(BIN / "plg-transform")
OUTPUT_STREAMS = ("companies", "contacts", "associations")
TIMEOUT_SECONDS = 300
# Not UTC, and with an evening edge case whose UTC day differs: results must not depend
# on the machine's time zone (DuckDB sessions take it from the process by default).
MACHINE_TIME_ZONE = "Europe/Berlin"


def scoring_config() -> dict[str, t.Any]:
    """The plg-scores mapping config of the repository's meltano.yml (the demo's model)."""
    project = yaml.safe_load((REPO / "meltano.yml").read_text())
    (mapper,) = [m for m in project["plugins"]["mappers"] if m["name"] == "plg-transform"]
    (mapping,) = [m for m in mapper["mappings"] if m["name"] == "plg-scores"]
    return dict(mapping["config"])


@dataclass
class PipelineRun:
    """What the transform emitted at the end of one piped run."""

    records: dict[str, list[dict[str, t.Any]]]
    state: dict[str, t.Any] | None
    tap_log: str
    transform_log: str

    def by_key(self, stream: str) -> dict[tuple[str, ...], dict[str, t.Any]]:
        """The records of an output stream keyed by their key."""
        fields = (
            ("user_id", "account_id")
            if stream == "associations"
            else (("user_id",) if stream == "contacts" else ("account_id",))
        )
        return {tuple(r[f] for f in fields): r for r in self.records.get(stream, [])}


def run_pipeline(
    folder: Path,
    name: str,
    tap_config: dict[str, t.Any],
    transform_config: dict[str, t.Any],
    state: dict[str, t.Any] | None = None,
) -> PipelineRun:
    """Pipe the tap into the transform (files named after `name` in `folder`); both must pass."""
    folder.mkdir(parents=True, exist_ok=True)
    tap_config_path = folder / f"{name}-tap.json"
    tap_config_path.write_text(json.dumps(tap_config))
    transform_config_path = folder / f"{name}-transform.json"
    transform_config_path.write_text(json.dumps(transform_config))
    tap_args = [TAP, "--config", str(tap_config_path)]
    if state is not None:
        state_path = folder / f"{name}-state.json"
        state_path.write_text(json.dumps(state))
        tap_args += ["--state", str(state_path)]
    env = {**os.environ, "TZ": MACHINE_TIME_ZONE}
    tap_log_path = folder / f"{name}-tap.log"
    transform_log_path = folder / f"{name}-transform.log"
    with tap_log_path.open("wb") as tap_log, transform_log_path.open("wb") as transform_log:
        # Logs go to files, not pipes: a chatty stderr must never block either process.
        tap = subprocess.Popen(
            tap_args, stdout=subprocess.PIPE, stderr=tap_log, cwd=folder, env=env
        )
        assert tap.stdout is not None
        transform = subprocess.Popen(
            [TRANSFORM, "--config", str(transform_config_path)],
            stdin=tap.stdout,
            stdout=subprocess.PIPE,
            stderr=transform_log,
            cwd=folder,
            env=env,
        )
        tap.stdout.close()  # the transform holds the pipe's only read end now
        output, _ = transform.communicate(timeout=TIMEOUT_SECONDS)
        tap.wait(timeout=TIMEOUT_SECONDS)
    tap_text = tap_log_path.read_text(errors="replace")
    transform_text = transform_log_path.read_text(errors="replace")
    assert tap.returncode == 0, f"{name}: tap failed ({tap.returncode}):\n{tap_text[-3000:]}"
    assert transform.returncode == 0, (
        f"{name}: transform failed ({transform.returncode}):\n{transform_text[-3000:]}"
    )
    records: dict[str, list[dict[str, t.Any]]] = {s: [] for s in OUTPUT_STREAMS}
    state_value = None
    for line in output.decode().splitlines():
        if not line.strip():
            continue
        message = json.loads(line)
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(message["record"])
        elif message["type"] == "STATE":
            state_value = message["value"]
    return PipelineRun(records, state_value, tap_text, transform_text)


def read_counts(tap_log: str) -> tuple[int, int]:
    """(raw messages, roll-ups) the tap says it read from the warehouse."""
    found = re.search(r"events_sql: read (\d+) new messages and (\d+) daily roll-ups", tap_log)
    assert found, tap_log[-2000:]
    return int(found.group(1)), int(found.group(2))


def sql_tap_config(url: str, rollup: bool) -> dict[str, t.Any]:
    """The tap reading warehouse tables (raw, or the push-down roll-up)."""
    return {"events_sql": {"url": url, "rollup": rollup, "key_case": "camel"}}
