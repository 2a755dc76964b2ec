"""The plg_transform package reads as its architecture: no cycles, docstrings, Error names."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import plg_transform

PACKAGE = Path(plg_transform.__file__).parent
MODULES = sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem != "__main__")


def _siblings_imported(module: str) -> set[str]:
    """Sibling modules `module` imports, type-checking-only imports included."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("plg_transform."):
                found.add(node.module.split(".")[1])
            elif node.module == "plg_transform":
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.split(".")[1]
                for alias in node.names
                if alias.name.startswith("plg_transform.")
            )
    return found - {module}


def test_sibling_modules_never_import_each_other_in_a_cycle() -> None:
    graph = {module: _siblings_imported(module) for module in MODULES}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle: {exc.args[1]}") from None
    assert order[-1] == "mapper"  # the mapper wires everything; nothing imports it


def test_every_module_says_what_it_is_for() -> None:
    for module in [*MODULES, "__main__"]:
        tree = ast.parse((PACKAGE / f"{module}.py").read_text())
        assert ast.get_docstring(tree), f"{module}.py has no module docstring"


def test_exception_classes_end_in_error() -> None:
    for module in MODULES:
        loaded = importlib.import_module(f"plg_transform.{module}")
        for name, value in vars(loaded).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == loaded.__name__
            ):
                assert name.endswith("Error"), f"{module}.{name}"


def test_python_dash_m_runs_the_mapper() -> None:
    about = subprocess.run(
        [sys.executable, "-m", "plg_transform", "--about", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"name": "plg-transform"' in about.stdout
    assert (PACKAGE / "py.typed").exists()
