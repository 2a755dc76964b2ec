"""A venv holding the tap as `pip install` (and so `meltano install`) gives it to users.

Built with pip from the package directories, without the repository's lock or any
constraint file, so it resolves the newest versions the packages' dependency ranges
allow: the versions a user installing the plugin today gets.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class InstalledTap:
    """The `tap-product-events` of a venv and the versions pip resolved there."""

    executable: Path
    versions: dict[str, str]


def _clean_env() -> dict[str, str]:
    """The environment without the lock's constraints (setup.sh passes them to pip)."""
    drop = ("PIP_CONSTRAINT", "UV_CONSTRAINT", "VIRTUAL_ENV", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def install_tap(folder: Path, extras: str) -> InstalledTap:
    """Create a venv in `folder` and pip install `tap-product-events[extras]` into it."""
    venv.EnvBuilder(with_pip=True).create(folder)
    python = folder / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            f"{REPO / 'tap-product-events'}[{extras}]",
            str(REPO / "plg-settings"),
        ],
        check=True,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    listing = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "json"],
        check=True,
        env=_clean_env(),
        capture_output=True,
        text=True,
    )
    versions = {_normal(p["name"]): p["version"] for p in json.loads(listing.stdout)}
    return InstalledTap(folder / "bin" / "tap-product-events", versions)


def dev_versions() -> dict[str, str]:
    """The versions of the development venv (the lock's)."""
    from importlib import metadata

    return {_normal(d.metadata["Name"]): d.version for d in metadata.distributions()}


def _normal(name: str) -> str:
    """A distribution name as PEP 503 compares them (`duckdb_engine` = `duckdb-engine`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


if __name__ == "__main__":  # `make test-installed`: build the venv once, print its tap
    installed = install_tap(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "duckdb")
    print(installed.executable)
