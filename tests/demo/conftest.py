"""Load the demo's scripts (plain files under demo/, not a package) for the tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"


def load_demo_module(name: str) -> ModuleType:
    """Import demo/<name>.py under a name that cannot clash with other tests' modules."""
    qualified = f"plg_demo_{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    spec = importlib.util.spec_from_file_location(qualified, DEMO_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def generator() -> ModuleType:
    """demo/generate_demo.py as a module."""
    return load_demo_module("generate_demo")


@pytest.fixture(scope="session")
def report() -> ModuleType:
    """demo/report.py as a module."""
    return load_demo_module("report")
