"""Regenerate dbt/plg_scores's models for the demo's scoring config (meltano.yml plg-scores).

.venv/bin/python -m tests.dbt.demo_models
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from plg_transform.dbt_models import generate, write_package

from .dbt_runs import PROJECT, ROOT, settings_of


def demo_config() -> dict:
    """The config of the `plg-scores` mapping in meltano.yml."""
    meltano = yaml.safe_load((ROOT / "meltano.yml").read_text())
    for mapper in meltano["plugins"]["mappers"]:
        for mapping in mapper.get("mappings", []):
            if mapping["name"] == "plg-scores":
                return dict(mapping["config"])
    raise LookupError("meltano.yml has no plg-scores mapping")


def regenerate(project: Path) -> list[Path]:
    """Write the demo config's models into `project`."""
    return write_package(generate(settings_of(demo_config())), project)


if __name__ == "__main__":
    written = regenerate(Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT)
    print(f"wrote {len(written)} files")
