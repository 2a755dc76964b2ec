"""`meltano run dbt-duckdb:run tap-product-events target-plg-crm` through real Meltano.

A throw-away project (the repository's meltano.yml and dbt project, the plugin venvs of
`make setup` symlinked) whose warehouse is a DuckDB file of Segment tables: dbt computes
the scores there (the demo config's generated models), the tap reads them (`scores_sql`,
environment `warehouse`) and the target writes them into the local CRM.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ..tap_warehouse.message_set import segment_messages
from ..tap_warehouse.segment_warehouse import load_messages
from .dbt_runs import ROOT, duckdb_records

MELTANO = Path(sys.executable).parent / "meltano"
PLUGINS = (
    ("extractors", "tap-product-events"),
    ("loaders", "target-plg-crm"),
    ("transformers", "dbt-duckdb"),
)


def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    # The tap of the workspace venv: it has the `duckdb` extra (driver) the plugin's
    # pip_url leaves out.
    text = (ROOT / "meltano.yml").read_text()
    tap = str(ROOT / ".venv" / "bin" / "tap-product-events")
    text = text.replace("executable: tap-product-events\n", f"executable: {tap}\n", 1)
    (root / "meltano.yml").write_text(text)
    shutil.copytree(ROOT / "dbt", root / "dbt", ignore=shutil.ignore_patterns("target", "logs"))
    for kind, name in PLUGINS:
        source = ROOT / ".meltano" / kind / name
        if not (source / "venv").exists():
            pytest.fail(f"{source} is missing: run `make setup` first")
        (root / ".meltano" / kind).mkdir(parents=True, exist_ok=True)
        (root / ".meltano" / kind / name).symlink_to(source, target_is_directory=True)
    (root / "output").mkdir()
    return root


def test_dbt_then_tap_then_target_fill_the_crm(tmp_path: Path) -> None:
    root = project(tmp_path)
    warehouse = root / "output" / "warehouse.duckdb"
    load_messages(f"duckdb:///{warehouse}", segment_messages())
    env = {k: v for k, v in os.environ.items() if not k.startswith("MELTANO_")}
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    done = subprocess.run(
        [str(MELTANO), "--environment", "warehouse", "run", "--no-install"]
        + ["dbt-duckdb:run", "tap-product-events", "target-plg-crm"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-6000:]
    computed = duckdb_records(warehouse)
    with sqlite3.connect(root / "output" / "crm.sqlite") as crm:
        tables = {r[0] for r in crm.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        counts = {t: crm.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # noqa: S608
    assert computed["contacts"] and computed["companies"]
    assert counts.get("contacts") == len(computed["contacts"]), counts
    assert counts.get("companies") == len(computed["companies"]), counts
    assert counts.get("associations") == len(computed["associations"]), counts
