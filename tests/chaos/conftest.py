"""The clean history every chaos test is compared with, built once per session."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from .pipeline import Pipeline, generate_days

STEPS = 3  # incremental runs of the clean history


@dataclass
class CleanHistory:
    """Day folders per run, the clean pipeline's folder, and its files after each run."""

    steps: list[list[Path]]
    folder: Path
    store_backups: list[Path]
    state_backups: list[Path]
    lines_in: list[int]
    lines_out: list[int]
    final: dict

    def copy_to(self, folder: Path) -> Pipeline:
        """A pipeline whose files are the clean history's final ones."""
        shutil.copytree(self.folder, folder)
        return Pipeline(folder)


@pytest.fixture(scope="session")
def clean_history(tmp_path_factory: pytest.TempPathFactory) -> CleanHistory:
    """Nine days of the demo's archive, scored in three incremental runs."""
    root = tmp_path_factory.mktemp("clean")
    days = generate_days(root / "generated", users=16, accounts=4, days=9, seed=11)
    per_step = -(-len(days) // STEPS)
    steps = [days[i : i + per_step] for i in range(0, len(days), per_step)]
    pipeline = Pipeline(root / "pipeline")
    stores, states, lines_in, lines_out = [], [], [], []
    for number, step in enumerate(steps):
        for day in step:
            pipeline.add_archive_folder(day)
        outcome = pipeline.run()
        assert outcome.ok, outcome.logs
        stores.append(root / f"store-after-run-{number}.duckdb")
        states.append(root / f"state-after-run-{number}.json")
        shutil.copyfile(pipeline.store, stores[-1])
        shutil.copyfile(pipeline.state, states[-1])
        lines_in.append(outcome.lines_in)
        lines_out.append(outcome.lines_out)
    return CleanHistory(
        steps=steps,
        folder=pipeline.folder,
        store_backups=stores,
        state_backups=states,
        lines_in=lines_in,
        lines_out=lines_out,
        final=pipeline.crm_records(),
    )
