"""Fixtures: a local CRM from a real run of the plugins, its report, and a browser."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.demo.conftest import load_demo_module

from .browser import chromium
from .demo_run import DemoRun, run_demo_pipeline

PLG_REPORT = Path(sys.executable).parent / "plg-report"


def render_report(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real `plg-report` console script, run in `cwd` (its default paths are relative)."""
    return subprocess.run(
        [str(PLG_REPORT), *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd
    )


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """A small demo archive (80 accounts, 300 users, 60 days) scored into a local CRM."""
    work = tmp_path_factory.mktemp("report-demo")
    generator = load_demo_module("generate_demo")
    return run_demo_pipeline(generator, work, accounts=80, users=300, days=60)


@pytest.fixture(scope="session")
def report_html(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the demo run, rendered by the command line."""
    work = tmp_path_factory.mktemp("report-page")
    output = work / "plg-report.html"
    result = render_report(
        "--crm-path",
        demo_run.crm_path,
        "--rejects-path",
        demo_run.rejects_path,
        "--output",
        output,
        "--title",
        "Report <of> the demo & co",
        cwd=work,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(output)
    return output


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium, shared by the tests of a worker."""
    with chromium() as running:
        yield running
