"""A real run of the three plugins on a generated demo archive, into a local CRM file.

The target's config can be overridden (`target=`) to write to another CRM (the HubSpot
emulator); its files (ledger, rejects, run history) stay in the run's folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.demo.conftest import dev_transform_config

BIN = Path(sys.executable).parent
PLUGINS = ("tap-product-events", "plg-transform", "target-plg-crm")


@dataclass(frozen=True)
class DemoRun:
    """What the run left behind: the local CRM, the target's files, the transform's store."""

    crm_path: Path
    rejects_path: Path
    history_path: Path
    store_path: Path


def run_demo_pipeline(
    generator: ModuleType,
    work: Path,
    *,
    seed: int = 7,
    target: dict[str, Any] | None = None,
    **sizes: int,
) -> DemoRun:
    """tap | transform (meltano.yml's dev scoring) | target (crm: local unless `target`
    says otherwise), as console scripts."""
    missing = [name for name in PLUGINS if not (BIN / name).exists()]
    assert not missing, f"{missing} not installed in {BIN}: run `make setup`"
    generator.generate(work / "events", seed=seed, **sizes)
    configs = {
        "tap-product-events": {"events_paths": [str(work / "events/**/*.jsonl.gz")]},
        "plg-transform": {**dev_transform_config(), "store_path": str(work / "store.duckdb")},
        "target-plg-crm": {
            "crm": "local",
            "local_path": str(work / "crm.sqlite"),
            "ledger_path": str(work / "ledger.sqlite"),
            "rejects_path": str(work / "rejects.jsonl"),
            "summary_path": str(work / "summary.json"),
            "run_history_path": str(work / "run-history.jsonl"),
            **(target or {}),
        },
    }
    for name, config in configs.items():
        (work / f"{name}.json").write_text(json.dumps(config), encoding="utf-8")
    logs = {name: (work / f"{name}.log").open("w") for name in PLUGINS}
    try:
        tap = subprocess.Popen(
            [BIN / PLUGINS[0], "--config", work / f"{PLUGINS[0]}.json"],
            stdout=subprocess.PIPE,
            stderr=logs[PLUGINS[0]],
        )
        transform = subprocess.Popen(
            [BIN / PLUGINS[1], "--config", work / f"{PLUGINS[1]}.json"],
            stdin=tap.stdout,
            stdout=subprocess.PIPE,
            stderr=logs[PLUGINS[1]],
        )
        assert tap.stdout is not None
        tap.stdout.close()  # the transform holds the pipe now
        target = subprocess.run(
            [BIN / PLUGINS[2], "--config", work / f"{PLUGINS[2]}.json"],
            stdin=transform.stdout,
            stdout=subprocess.DEVNULL,
            stderr=logs[PLUGINS[2]],
        )
        codes = dict(zip(PLUGINS, (tap.wait(), transform.wait(), target.returncode), strict=True))
    finally:
        for log in logs.values():
            log.close()
    for name, code in codes.items():
        assert code == 0, f"{name} exited {code}:\n{(work / f'{name}.log').read_text()[-3000:]}"
    return DemoRun(
        crm_path=work / "crm.sqlite",
        rejects_path=work / "rejects.jsonl",
        history_path=work / "run-history.jsonl",
        store_path=work / "store.duckdb",
    )
