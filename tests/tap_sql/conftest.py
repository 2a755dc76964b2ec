"""Fixtures of the SQL/REST source tests: a real PostgreSQL server, DuckDB files, the tap."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import typing as t
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..postgres_server import PostgresServer

TAP_EXECUTABLE = Path(sys.executable).with_name("tap-product-events")


@dataclass
class TapRun:
    """What one run of `tap-product-events` printed."""

    returncode: int
    messages: list[dict[str, t.Any]]
    stderr: str

    def records(self, stream: str | None = None) -> list[dict[str, t.Any]]:
        """The RECORD payloads, of one stream or all, in output order."""
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
        ]

    @property
    def final_state(self) -> dict[str, t.Any]:
        """The last STATE value."""
        return [m["value"] for m in self.messages if m["type"] == "STATE"][-1]


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
    counter = itertools.count()

    def run(config: dict[str, t.Any], state: dict[str, t.Any] | None = None) -> TapRun:
        n = next(counter)
        config_path = tmp_path / f"config-{n}.json"
        config_path.write_text(json.dumps(config))
        args = [str(TAP_EXECUTABLE), "--config", str(config_path)]
        if state is not None:
            state_path = tmp_path / f"state-{n}.json"
            state_path.write_text(json.dumps(state))
            args += ["--state", str(state_path)]
        completed = subprocess.run(
            args, capture_output=True, text=True, cwd=tmp_path, env=dict(os.environ), timeout=120
        )
        lines = [line for line in completed.stdout.splitlines() if line.strip()]
        return TapRun(completed.returncode, [json.loads(line) for line in lines], completed.stderr)

    return run


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
