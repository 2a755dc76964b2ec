"""`plg-report` on the command line: what it writes, and how it refuses bad input.

Every refusal is one line on stderr naming the file or the option, exit code 1, no
traceback, and no page written.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import render_report
from .demo_run import DemoRun


def refused(tmp_path: Path, *args: str | Path) -> str:
    """Run the command expecting a refusal; return its one line."""
    output = tmp_path / "page.html"
    result = render_report(*args, "--output", output, cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert not output.exists()
    return lines[0]


def test_report_reads_the_crm_without_changing_it(demo_run: DemoRun, tmp_path: Path) -> None:
    before = demo_run.crm_path.read_bytes()
    result = render_report("--crm-path", demo_run.crm_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    default_output = tmp_path / "output" / "plg-report.html"
    assert result.stdout.strip() == "output/plg-report.html"
    assert default_output.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert demo_run.crm_path.read_bytes() == before
    assert not Path(f"{demo_run.crm_path}-journal").exists()


def test_missing_crm_file_is_named(tmp_path: Path) -> None:
    line = refused(tmp_path, "--crm-path", tmp_path / "nothing.sqlite")
    assert line == (
        f"plg-report: no local CRM file at {tmp_path / 'nothing.sqlite'}; "
        "run the pipeline (make demo) first"
    )


@pytest.mark.parametrize(
    "content", [b"this is not a database", b"SQLite format 3\x00" + b"\x00" * 200]
)
def test_corrupt_crm_file_is_named(tmp_path: Path, content: bytes) -> None:
    crm = tmp_path / "crm.sqlite"
    crm.write_bytes(content)
    line = refused(tmp_path, "--crm-path", crm)
    assert line.startswith(f"plg-report: {crm} is not a local CRM file (")


def test_sqlite_file_of_another_program_is_named(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    line = refused(tmp_path, "--crm-path", other)
    assert line == f"plg-report: {other} is not a local CRM file (no such table: contacts)"


def test_corrupt_rejects_line_is_named(demo_run: DemoRun, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.jsonl"
    rejects.write_text(json.dumps({"code": "X", "reason": "r"}) + "\n{not json\n")
    line = refused(tmp_path, "--crm-path", demo_run.crm_path, "--rejects-path", rejects)
    assert line.startswith(f"plg-report: rejects file {rejects}, line 2: not JSON (")


def test_history_line_that_is_not_an_object_is_named(demo_run: DemoRun, tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    history.write_text("[1, 2]\n")
    line = refused(tmp_path, "--crm-path", demo_run.crm_path, "--history-path", history)
    assert line == (f"plg-report: run history file {history}, line 1: a JSON object was expected")


def test_explicit_input_that_does_not_exist_is_named(demo_run: DemoRun, tmp_path: Path) -> None:
    missing = tmp_path / "gone.jsonl"
    line = refused(tmp_path, "--crm-path", demo_run.crm_path, "--rejects-path", missing)
    assert line == f"plg-report: no rejects file at {missing}"
    line = refused(tmp_path, "--crm-path", demo_run.crm_path, "--history-path", missing)
    assert line == f"plg-report: no run history file at {missing}"


def test_default_rejects_and_history_files_are_read_when_present(
    demo_run: DemoRun, tmp_path: Path
) -> None:
    (tmp_path / "output").mkdir()
    shutil.copy(demo_run.rejects_path, tmp_path / "output" / "rejects.jsonl")
    (tmp_path / "output" / "run-history.jsonl").write_text('{"started_at": "2026-07-01"}\n')
    result = render_report("--crm-path", demo_run.crm_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "output" / "plg-report.html").read_text(encoding="utf-8")
    assert 'id="rejects-table"' in page and 'id="history-table"' in page


def test_unknown_option_names_the_nearest(tmp_path: Path) -> None:
    line = refused(tmp_path, "--crm-pth", "x.sqlite")
    assert line == "plg-report: `--crm-pth`: unknown option; did you mean `--crm-path`?"


def test_empty_title_and_missing_value_are_refused(tmp_path: Path) -> None:
    line = refused(tmp_path, "--title", " ")
    assert line == "plg-report: argument --title: must not be empty"
    line = refused(tmp_path, "--crm-path")
    assert line == "plg-report: argument --crm-path: expected one argument"


def test_unwritable_output_is_named(demo_run: DemoRun, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = render_report(
        "--crm-path", demo_run.crm_path, "--output", blocker / "page.html", cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"plg-report: cannot write {blocker / 'page.html'}")
    assert "Traceback" not in result.stderr


def test_python_dash_m_runs_the_same_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plg_report", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    for option in ("--crm-path", "--rejects-path", "--history-path", "--output", "--title"):
        assert option in result.stdout


def test_options_of_the_other_source_are_refused(tmp_path: Path) -> None:
    line = refused(tmp_path, "--source", "transform", "--crm-path", "crm.sqlite")
    assert line == "plg-report: `--crm-path`: only read with `--source crm`"
    line = refused(tmp_path, "--transform-store-path", "store.duckdb")
    assert line == "plg-report: `--transform-store-path`: only read with `--source transform`"
    line = refused(tmp_path, "--source", "hubspot")
    assert line == (
        "plg-report: argument --source: invalid choice: 'hubspot' (choose from 'crm', 'transform')"
    )


def test_missing_transform_records_are_named(tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    line = refused(tmp_path, "--source", "transform", "--transform-store-path", store)
    assert line == (
        f"plg-report: no records of plg-transform's last run at {store}.last-run.jsonl "
        f"(kept next to its store {store}); run the pipeline first, or give the "
        "transform's store_path as --transform-store-path"
    )


@pytest.mark.parametrize(
    ("first_line", "says"),
    [
        ('{"type": "SCHEMA", "stream": "contacts"}', "is not plg-transform's last-run records"),
        ('{"type": "PLG_LAST_RUN", "version": 9}', "version 9 of plg-transform's last-run"),
    ],
)
def test_transform_records_of_another_kind_are_named(
    tmp_path: Path, first_line: str, says: str
) -> None:
    store = tmp_path / "store.duckdb"
    Path(f"{store}.last-run.jsonl").write_text(first_line + "\n", encoding="utf-8")
    line = refused(tmp_path, "--source", "transform", "--transform-store-path", store)
    assert line.startswith(f"plg-report: {store}.last-run.jsonl") and says in line


def test_corrupt_transform_record_line_is_named(demo_run: DemoRun, tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    kept = Path(f"{demo_run.store_path}.last-run.jsonl").read_text(encoding="utf-8")
    Path(f"{store}.last-run.jsonl").write_text(kept + "{cut", encoding="utf-8")
    line = refused(tmp_path, "--source", "transform", "--transform-store-path", store)
    lines = kept.count("\n") + 1
    assert line.startswith(
        f"plg-report: plg-transform's last-run records {store}.last-run.jsonl, "
        f"line {lines}: not JSON ("
    )
