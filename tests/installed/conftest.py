"""Fixtures: the tap installed in its own venv (once per test worker), databases, the CLI."""

from __future__ import annotations

import pytest

from ..tap_archives.test_tap_object_storage import s3_endpoint
from .installed_venv import InstalledTap, install_tap

__all__ = ["s3_endpoint"]

EXTRAS = "duckdb,postgres,s3"


@pytest.fixture(scope="session")
def installed_tap(tmp_path_factory: pytest.TempPathFactory) -> InstalledTap:
    """`tap-product-events[duckdb,postgres,s3]` pip-installed into a fresh venv (~30 s)."""
    return install_tap(tmp_path_factory.mktemp("installed") / "venv", EXTRAS)
