"""Fixtures: real runs of the plugins (into a local CRM, and into the HubSpot emulator),
their reports, and a browser."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.demo.conftest import load_demo_module
from tests.target_hubspot.harness import TOKEN
from tests.target_hubspot.hubspot_emulator import HubSpotEmulator

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


@dataclass(frozen=True)
class HubSpotRun:
    """A pipeline run into the HubSpot emulator, and what the portal held after it."""

    run: DemoRun
    companies: dict[str, dict[str, str]]  # by plg_account_id
    contacts: dict[str, dict[str, str]]  # by email
    associations: dict[tuple[str, str], set[str]]  # labels by (email, account id)


@pytest.fixture(scope="session")
def hubspot_run(tmp_path_factory: pytest.TempPathFactory) -> HubSpotRun:
    """Another history (seed and sizes the local run does not use) synced to HubSpot.

    The target's config is the demo's (sync_filter, role and champion as association
    labels, run history); only the transform's records of its last run can show every
    contact, the memberships' own scores and the score references.
    """
    work = tmp_path_factory.mktemp("report-hubspot")
    generator = load_demo_module("generate_demo")
    with HubSpotEmulator(TOKEN, rate_interval_ms=2000, watchdog_seconds=600) as portal:
        run = run_demo_pipeline(
            generator,
            work,
            seed=23,
            accounts=60,
            users=220,
            days=45,
            target={
                "crm": "hubspot",
                "hubspot_access_token": TOKEN,
                "hubspot_base_url": portal.base_url,
                "sync_filter": {"contacts": "engagement_score > 0 OR is_pql"},
                "association_label_fields": ["role", "is_champion"],
            },
        )
        return HubSpotRun(run, portal.companies(), portal.contacts(), portal.associations())


@pytest.fixture(scope="session")
def hubspot_report_html(hubspot_run: HubSpotRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the HubSpot run, from the transform's records of its last run."""
    run = hubspot_run.run
    return render_from_transform(
        run,
        tmp_path_factory.mktemp("report-hubspot-page"),
        "--rejects-path",
        run.rejects_path,
        "--history-path",
        run.history_path,
    )


def render_from_transform(run: DemoRun, work: Path, *extra: str | Path) -> Path:
    """`plg-report --source transform` on a run's store; the page's path."""
    output = work / "plg-report.html"
    result = render_report(
        "--source",
        "transform",
        "--transform-store-path",
        run.store_path,
        "--output",
        output,
        *extra,
        cwd=work,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(output)
    return output
