"""Fixtures of the SQL/REST source tests: a real PostgreSQL server, DuckDB files, the tap."""

from __future__ import annotations

import functools
import typing as t
import uuid
from pathlib import Path

import pytest

from ..postgres_server import PostgresServer
from ..tap.tap_runs import TapRun, run_tap_cli


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


@pytest.fixture
def run_tap(tmp_path: Path) -> t.Callable[..., TapRun]:
    """Run the console script with a config (and state); parse what it printed."""
    return functools.partial(run_tap_cli, tmp_path)


# Standard-suite tests that contradict docs/pipeline-contract.md, left out with the reason.
_CONTRACT_EXCEPTIONS = {
    "test_tap_stream_primary_keys[daily_rollups]": (
        "the contract's key holds null parts: userId is null for anonymous roll-ups, "
        "anonymousId when userId is set, accountId when unknown"
    ),
    "test_tap_stream_primary_keys[metrics]": (
        "the contract's key holds null parts: account_id of a user metric, user_id of an "
        "account metric"
    ),
    "test_tap_stream_attribute_is_boolean[metrics.value]": (
        "value is number, string, boolean or null by contract; the suite takes a type union "
        "containing boolean for a boolean column"
    ),
    "test_tap_stream_attribute_is_numeric[metrics.value]": (
        "value is number, string, boolean or null by contract; the suite takes a type union "
        "containing number for a number column"
    ),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the standard-suite tests that the contract contradicts as skipped, saying why."""
    for item in items:
        reason = _CONTRACT_EXCEPTIONS.get(item.name)
        if reason is not None and "/test_sdk_" in item.nodeid:
            item.add_marker(pytest.mark.skip(reason=reason))
