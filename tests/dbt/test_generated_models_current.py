"""The checked-in models are the ones the transform's SQL generates for the demo's config.

Fails when the transform's scoring SQL (or the demo's scoring config in meltano.yml)
changed and `plg-transform dbt-models` was not run again:

    .venv/bin/python -m tests.dbt.demo_models
"""

from __future__ import annotations

from pathlib import Path

from .dbt_runs import PROJECT
from .demo_models import regenerate


def _generated(project: Path) -> dict[str, str]:
    files = sorted((project / "models" / "generated").glob("*.sql"))
    files += [project / "macros" / "plg_functions.sql", project / "macros" / "plg_settings.sql"]
    return {path.name: path.read_text() for path in files}


def test_checked_in_models_match_the_transform(tmp_path: Path) -> None:
    fresh = tmp_path / "plg_scores"
    regenerate(fresh)
    expected, found = _generated(fresh), _generated(PROJECT)
    stale = sorted(
        name for name in set(expected) | set(found) if expected.get(name) != found.get(name)
    )
    assert not stale, (
        f"dbt/plg_scores is not what the transform generates ({', '.join(stale[:8])}): "
        "run `.venv/bin/python -m tests.dbt.demo_models`"
    )
