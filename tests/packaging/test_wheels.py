"""Each package builds a wheel ready to publish: quietly, typed, licensed, runnable."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"
# Directory -> (import package, console script or None for the shared library).
PACKAGES = {
    "plg-settings": ("plg_settings", None),
    "tap-product-events": ("tap_product_events", "tap-product-events"),
    "transform": ("plg_transform", "plg-transform"),
    "target-plg-crm": ("target_plg_crm", "target-plg-crm"),
    "report": ("plg_report", "plg-report"),
}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """Build every package's wheel once; each value is (wheel, the build's whole output)."""
    built = {}
    for directory in PACKAGES:
        out = tmp_path_factory.mktemp(directory)
        proc = subprocess.run(
            [str(UV), "build", "--wheel", "--no-config", "--out-dir", str(out), directory],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        (wheel,) = out.glob("*.whl")
        built[directory] = (wheel, proc.stdout + proc.stderr)
    return built


@pytest.mark.parametrize("directory", PACKAGES)
def test_wheel_builds_without_a_warning(
    directory: str, wheels: dict[str, tuple[Path, str]]
) -> None:
    _, output = wheels[directory]
    assert "warning" not in output.lower(), output
    assert "deprecat" not in output.lower(), output


@pytest.mark.parametrize("directory", PACKAGES)
def test_wheel_ships_types_licence_and_entry_points(
    directory: str, wheels: dict[str, tuple[Path, str]]
) -> None:
    module, script = PACKAGES[directory]
    wheel, _ = wheels[directory]
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        entry_points = (
            archive.read(f"{dist_info}/entry_points.txt").decode()
            if f"{dist_info}/entry_points.txt" in names
            else ""
        )
    assert f"{module}/py.typed" in names
    assert f"{dist_info}/licenses/LICENSE" in names
    assert "License-Expression: Apache-2.0" in metadata
    assert "Project-URL: Repository, https://github.com/plg-crm/plg-crm-suite" in metadata
    assert "Classifier: Typing :: Typed" in metadata
    if script:
        assert f"{script} = " in entry_points
        assert f"{module}/__main__.py" in names  # python -m <module>


@pytest.mark.parametrize("directory", PACKAGES)
def test_pyproject_declares_what_an_index_shows(directory: str) -> None:
    project = tomllib.loads((REPO / directory / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    assert (REPO / directory / project["readme"]).is_file()
    assert (REPO / directory / "LICENSE").is_file()
    assert project["keywords"] and project["classifiers"] and project["urls"]
    # Every dependency has a lower bound, so an old release never satisfies it by chance.
    for requirement in project["dependencies"]:
        assert any(op in requirement for op in (">=", "~=", "==")), requirement
