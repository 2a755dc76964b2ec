"""`connect_retries`: an unreachable database is tried 1 + N times, then the run fails
naming the source and the URL with its password masked."""

from __future__ import annotations

import socket
import typing as t
from pathlib import Path

from .conftest import TapRun

PASSWORD = "s3cret-Pa55"


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, read, released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_postgres_is_retried_connect_retries_times_then_named_with_password_masked(
    run_tap: t.Callable[..., TapRun],
) -> None:
    port = _closed_port()
    url = f"postgresql+psycopg://reader:{PASSWORD}@127.0.0.1:{port}/analytics"
    shown = f"postgresql+psycopg://reader:***@127.0.0.1:{port}/analytics"

    run = run_tap({"events_sql": {"url": url, "connect_retries": 2}})

    assert run.returncode != 0
    assert run.records() == []
    assert PASSWORD not in run.stderr
    # Two retries, with backoff from 0.5 s, then the error naming setting and source.
    assert run.stderr.count(f"events_sql: connecting to {shown} failed") == 2
    assert "retrying in 0.5 s" in run.stderr and "retrying in 1.0 s" in run.stderr
    assert f"events_sql: cannot connect to {shown} after 3 attempts" in run.stderr

    once = run_tap({"events_sql": {"url": url, "connect_retries": 0}})

    assert once.returncode != 0
    assert "retrying in" not in once.stderr
    assert f"events_sql: cannot connect to {shown} after 1 attempt:" in once.stderr
    assert PASSWORD not in once.stderr


def test_unopenable_duckdb_file_is_retried_then_named(
    tmp_path: Path, run_tap: t.Callable[..., TapRun]
) -> None:
    url = f"duckdb:///{tmp_path / 'no-such-folder' / 'warehouse.duckdb'}"

    run = run_tap({"events_sql": {"url": url, "connect_retries": 1}})

    assert run.returncode != 0
    assert run.stderr.count(f"events_sql: connecting to {url} failed") == 1
    assert f"events_sql: cannot connect to {url} after 2 attempts" in run.stderr
