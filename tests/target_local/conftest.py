"""Fixtures of the target's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import LocalCRMWorkspace


@pytest.fixture
def workspace(tmp_path: Path) -> LocalCRMWorkspace:
    """A fresh folder for the local CRM, ledger, rejects and summary of a test."""
    return LocalCRMWorkspace(tmp_path)
