"""Fixtures of the HubSpot tests: a running emulator and a workspace pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import TOKEN, HubSpotWorkspace
from .hubspot_emulator import HubSpotEmulator


@pytest.fixture
def hubspot() -> Iterator[HubSpotEmulator]:
    """An empty portal on loopback, stopped at the end of the test.

    Its rate window is 2 s instead of 10 s, so that a 429 without Retry-After (which
    the target answers by waiting out the window) costs a test 2 s.
    """
    with HubSpotEmulator(
        TOKEN, rate_interval_ms=2000, timeout_delay_seconds=0.8, watchdog_seconds=120
    ) as emulator:
        yield emulator


@pytest.fixture
def workspace(tmp_path: Path, hubspot: HubSpotEmulator) -> HubSpotWorkspace:
    """A fresh folder for the ledger, rejects and summary; the CRM is `hubspot`."""
    return HubSpotWorkspace(tmp_path, emulator=hubspot)
