"""Fixtures of the warehouse source tests (`events_sql`): databases and the tap's CLI."""

from __future__ import annotations

import functools
import typing as t
from pathlib import Path

import pytest

from ..tap_runs import TapRun, run_tap_cli

__all__ = ["TapRun"]


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
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the standard-suite tests that the contract contradicts as skipped, saying why."""
    for item in items:
        reason = _CONTRACT_EXCEPTIONS.get(item.name)
        if reason is not None and "/test_sdk_" in item.nodeid:
            item.add_marker(pytest.mark.skip(reason=reason))
