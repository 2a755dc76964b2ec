"""Running the real `tap-product-events` console script and reading what it printed.

Shared by the tap's test folders (tap_archives, tap_warehouse, tap_metrics, tap_settings).
`PLG_TAP_EXECUTABLE` names another `tap-product-events` to run, e.g. the one of a venv
installed as users install the plugin (`make test-installed`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

TAP_EXECUTABLE = Path(
    os.environ.get("PLG_TAP_EXECUTABLE") or Path(sys.executable).with_name("tap-product-events")
)


@dataclass
class TapRun:
    """What one run of `tap-product-events` printed."""

    returncode: int
    messages: list[dict[str, t.Any]]
    stderr: str
    stdout_lines: list[str] = field(default_factory=list)

    def records(self, stream: str | None = None) -> list[dict[str, t.Any]]:
        """The RECORD payloads, of one stream or all, in output order."""
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
        ]

    def message_ids(self) -> set[str]:
        """The messageIds of every record."""
        return {r["messageId"] for r in self.records()}

    @property
    def states(self) -> list[dict[str, t.Any]]:
        """The STATE values, in output order."""
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, t.Any]:
        """The last STATE value: what Meltano stores and passes back next run."""
        return self.states[-1]


def run_tap_cli(
    folder: Path,
    config: dict[str, t.Any],
    state: dict[str, t.Any] | None = None,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    executable: Path | None = None,
) -> TapRun:
    """Run the console script (or `executable`) with a config (and state) in `folder`."""
    n = len(list(folder.glob("config-*.json")))
    config_path = folder / f"config-{n}.json"
    config_path.write_text(json.dumps(config))
    args = [str(executable or TAP_EXECUTABLE), "--config", str(config_path)]
    if state is not None:
        state_path = folder / f"state-{n}.json"
        state_path.write_text(json.dumps(state))
        args += ["--state", str(state_path)]
    completed = subprocess.run(
        args,
        capture_output=True,
        text=True,
        cwd=cwd or folder,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    return TapRun(
        returncode=completed.returncode,
        messages=[json.loads(line) for line in lines],
        stderr=completed.stderr,
        stdout_lines=lines,
    )
