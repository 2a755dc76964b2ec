"""Fixtures of the tests that read databases: a real PostgreSQL server, DuckDB files.

Declared for every folder by tests/conftest.py (one server per test worker).
"""

from __future__ import annotations

import typing as t
import uuid
from pathlib import Path

import pytest

from .postgres_server import PostgresServer


@pytest.fixture(scope="session")
def postgres() -> t.Iterator[PostgresServer]:
    """One PostgreSQL server per test worker, stopped at the end."""
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """A fresh, empty database on the test server."""
    return postgres.create_database("t_" + uuid.uuid4().hex[:12])


@pytest.fixture
def duckdb_url(tmp_path: Path) -> str:
    """A fresh DuckDB file."""
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
