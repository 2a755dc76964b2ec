"""The Salesforce package reads like the HubSpot one: same file names, no cycles, docstrings."""

from __future__ import annotations

import ast
import importlib
import inspect
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import target_plg_crm.crm.salesforce as salesforce_package

PACKAGE = Path(salesforce_package.__file__).parent
HUBSPOT = PACKAGE.parent / "hubspot"
MODULES = sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__")
PREFIX = "target_plg_crm.crm.salesforce."


def _siblings_imported(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    return {
        node.module.removeprefix(PREFIX).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX)
    } - {module}


def test_it_has_the_files_every_crm_package_has_plus_auth() -> None:
    crm_files = {p.name for p in HUBSPOT.glob("*.py")}
    assert crm_files <= {p.name for p in PACKAGE.glob("*.py")}
    assert (PACKAGE / "auth.py").exists()


def test_sibling_modules_never_import_each_other_in_a_cycle() -> None:
    graph = {module: _siblings_imported(module) for module in MODULES}
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle: {exc.args[1]}") from None
    # crm.py wires the parts; only the dry run (which wraps it) imports it.
    assert [m for m, imported in graph.items() if "crm" in imported] == ["dry_run"]
    assert not any("dry_run" in imported for imported in graph.values())


def test_every_module_says_what_it_is_for_and_errors_end_in_error() -> None:
    for module in [*MODULES, "__init__"]:
        tree = ast.parse((PACKAGE / f"{module}.py").read_text())
        assert ast.get_docstring(tree), f"{module}.py has no module docstring"
    for module in MODULES:
        loaded = importlib.import_module(f"{PREFIX}{module}")
        for name, value in vars(loaded).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == loaded.__name__
            ):
                assert name.endswith("Error"), f"{module}.{name}"
