"""Fixtures of the backend metrics source tests: databases, the tap's CLI."""

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
