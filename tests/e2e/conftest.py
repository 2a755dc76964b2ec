"""A throw-away Meltano project that runs the real plugins through real `meltano run`.

Each test gets its own project directory: a copy of the repository's meltano.yml (so the
dev environment's settings are the ones users get), its own system database and state,
its own demo archive and output/. Only the plugin virtualenvs that `make setup` built
under the repository's .meltano/ are shared (symlinked), so no test installs anything.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MELTANO = Path(sys.executable).parent / "meltano"
PIPELINE = ("tap-product-events", "plg-scores", "target-plg-crm")


@dataclass
class MeltanoProject:
    """A Meltano project directory with helpers to run the pipeline and read its results."""

    root: Path

    @property
    def events_dir(self) -> Path:
        return self.root / "demo-data" / "events"

    @property
    def crm_path(self) -> Path:
        return self.root / "output" / "crm.sqlite"

    def meltano(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a meltano command in the project and return the finished process."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MELTANO_")}
        env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
        proc = subprocess.run(
            [str(MELTANO), "--environment", "dev", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"meltano {' '.join(args)} exited {proc.returncode}\n{proc.stderr[-6000:]}"
            )
        return proc

    def run_pipeline(self, *flags: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`meltano run tap-product-events plg-scores target-plg-crm` with the dev settings."""
        return self.meltano("run", "--no-install", *flags, *PIPELINE, check=check)

    def state(self) -> dict:
        """The state Meltano stored for the pipeline."""
        proc = self.meltano("state", "get", "dev:tap-product-events-to-target-plg-crm")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def summary(self) -> dict:
        """The target's summary of its last run (created/updated/unchanged/rejected)."""
        return json.loads((self.root / "output" / "last_run_summary.json").read_text())

    def crm_rows(self, table: str) -> list[dict]:
        """Rows of a local-CRM table, with `properties`/`labels` decoded from JSON."""
        with sqlite3.connect(self.crm_path) as db:
            db.row_factory = sqlite3.Row
            rows = [dict(r) for r in db.execute(f"SELECT * FROM {table}")]  # noqa: S608
        for row in rows:
            for column in ("properties", "labels"):
                if column in row and row[column] is not None:
                    row[column] = json.loads(row[column])
        return rows


@pytest.fixture
def meltano_project(tmp_path: Path) -> MeltanoProject:
    """A fresh Meltano project using the repository's meltano.yml and installed plugins."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "meltano.yml", root / "meltano.yml")
    installed = REPO / ".meltano"
    for kind, name in (
        ("extractors", "tap-product-events"),
        ("mappers", "plg-transform"),
        ("loaders", "target-plg-crm"),
    ):
        source = installed / kind / name
        if not (source / "venv").exists():
            pytest.fail(f"{source} is missing: run `make setup` (meltano install) first")
        (root / ".meltano" / kind).mkdir(parents=True, exist_ok=True)
        (root / ".meltano" / kind / name).symlink_to(source, target_is_directory=True)
    return MeltanoProject(root)
