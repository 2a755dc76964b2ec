"""Load the demo's scripts (plain files under demo/, not a package) for the tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
ROOT = DEMO_DIR.parent


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


def dev_transform_config() -> dict[str, Any]:
    """The plg-transform config of `meltano --environment dev run ... plg-scores ...`.

    Meltano merges the plugin's config (with the environment's overrides) and the
    mapping's config, the mapping winning.
    """
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    mapper = next(m for m in project["plugins"]["mappers"] if m["name"] == "plg-transform")
    mapping = next(m for m in mapper["mappings"] if m["name"] == "plg-scores")
    dev = next(e for e in project["environments"] if e["name"] == "dev")
    dev_mapper = next(
        m for m in dev["config"]["plugins"]["mappers"] if m["name"] == "plg-transform"
    )
    return {**mapper.get("config", {}), **dev_mapper["config"], **mapping["config"]}


@pytest.fixture(scope="session")
def generator() -> ModuleType:
    """demo/generate_demo.py as a module."""
    return load_demo_module("generate_demo")


@pytest.fixture(scope="session")
def report() -> ModuleType:
    """demo/report.py as a module."""
    return load_demo_module("report")
