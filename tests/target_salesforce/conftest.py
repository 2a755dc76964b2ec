"""Fixtures of the Salesforce tests: a running emulator and a workspace pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import SalesforceWorkspace, new_emulator
from .salesforce_emulator import SalesforceEmulator


@pytest.fixture
def salesforce() -> Iterator[SalesforceEmulator]:
    """An empty org on loopback (Contacts to Multiple Accounts on), stopped after the test."""
    with new_emulator(timeout_delay_seconds=0.8, watchdog_seconds=120) as emulator:
        yield emulator


@pytest.fixture
def workspace(tmp_path: Path, salesforce: SalesforceEmulator) -> SalesforceWorkspace:
    """A fresh folder for the ledger, rejects, summary and metadata package."""
    return SalesforceWorkspace(tmp_path, emulator=salesforce)
