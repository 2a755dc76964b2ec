"""Chaos: whatever is killed, restored, lost or hostile, the local CRM ends as the clean run's.

The clean history is three incremental runs of the demo's archive (conftest.py). Every
test here breaks something and lets a scheduler run again; the final local CRM must
equal the clean one, contacts, companies and associations, field by field. The long
version (more kills, more seeds) is `python -m bench.chaos_runs` or
`PLG_CHAOS_FULL=1 pytest -m chaos_full tests/chaos`.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest

from .conftest import CleanHistory
from .pipeline import Pipeline, chaotic_history


def test_sigkills_of_tap_and_transform_at_random_points_converge_to_the_clean_crm(
    clean_history: CleanHistory, tmp_path: Path
) -> None:
    pipeline, report = chaotic_history(
        clean_history.steps,
        clean_history.lines_in,
        clean_history.lines_out,
        tmp_path / "chaos",
        seed=20261128,
        kills_per_step=1,
    )
    print("\n".join(report.kills))  # noqa: T201 (the seeded kill points, for a rerun)
    assert len(report.kills) == len(clean_history.steps)
    assert pipeline.crm_records() == clean_history.final


def test_sigkills_of_the_target_reading_or_writing_converge_to_the_clean_crm(
    clean_history: CleanHistory, tmp_path: Path
) -> None:
    pipeline, report = chaotic_history(
        clean_history.steps,
        clean_history.lines_in,
        clean_history.lines_out,
        tmp_path / "chaos",
        seed=7,
        kills_per_step=1,
        plugins=("target",),
    )
    print("\n".join(report.kills))  # noqa: T201 (the seeded kill points, for a rerun)
    assert all("target" in kill for kill in report.kills)
    assert pipeline.crm_records() == clean_history.final


@pytest.mark.chaos_full
@pytest.mark.skipif(not os.environ.get("PLG_CHAOS_FULL"), reason="set PLG_CHAOS_FULL=1")
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_many_kills_per_run_converge_to_the_clean_crm(
    clean_history: CleanHistory, tmp_path: Path, seed: int
) -> None:
    pipeline, _ = chaotic_history(
        clean_history.steps,
        clean_history.lines_in,
        clean_history.lines_out,
        tmp_path / "chaos",
        seed=seed,
        kills_per_step=4,
    )
    assert pipeline.crm_records() == clean_history.final


def test_a_store_restored_from_every_earlier_backup_is_caught_then_catches_up(
    clean_history: CleanHistory, tmp_path: Path
) -> None:
    for number, backup in enumerate(clean_history.store_backups[:-1]):
        pipeline = clean_history.copy_to(tmp_path / f"restored-{number}")
        shutil.copyfile(backup, pipeline.store)
        behind = pipeline.run()
        assert behind.ok
        assert "has not absorbed the bookmark" in behind.logs["transform"]
        assert pipeline.crm_records() == clean_history.final  # nothing partial written
        again = pipeline.run()
        assert again.ok
        assert pipeline.crm_records() == clean_history.final


def test_a_lost_store_stops_naming_full_refresh_which_restores_the_clean_crm(
    clean_history: CleanHistory, tmp_path: Path
) -> None:
    pipeline = clean_history.copy_to(tmp_path / "lost-store")
    pipeline.store.unlink()
    stopped = pipeline.run()
    assert stopped.returncodes["transform"] != 0
    assert "meltano run --full-refresh" in stopped.logs["transform"]
    assert pipeline.crm_records() == clean_history.final
    assert pipeline.run(full_refresh=True).ok
    assert pipeline.crm_records() == clean_history.final


@pytest.mark.parametrize("state", ["first run's", "lost"])
def test_a_stale_or_lost_state_file_reads_again_and_counts_each_message_once(
    clean_history: CleanHistory, tmp_path: Path, state: str
) -> None:
    pipeline = clean_history.copy_to(tmp_path / "state")
    if state == "lost":
        pipeline.state.unlink()
    else:
        shutil.copyfile(clean_history.state_backups[0], pipeline.state)
    assert pipeline.run().ok
    assert pipeline.crm_records() == clean_history.final


def _hostile_archives(folder: Path, real_archive: Path) -> dict[str, Path]:
    folder.mkdir(parents=True)
    data = real_archive.read_bytes()
    files = {
        "truncated gzip": folder / "cut.jsonl.gz",
        "binary garbage": folder / "garbage.jsonl",
        "10 MB line": folder / "huge.jsonl",
        "deeply nested JSON": folder / "nested.jsonl",
        "NUL bytes": folder / "nul.jsonl",
    }
    files["truncated gzip"].write_bytes(data[: len(data) // 2])
    files["binary garbage"].write_bytes(bytes(range(256)) * 64 + b"\n" + os.urandom(2048))
    huge = b'{"type":"track","userId":"nobody","event":"X","properties":{"blob":"'
    files["10 MB line"].write_bytes(huge + b"x" * (10 * 1024 * 1024) + b'"}}\n')
    files["deeply nested JSON"].write_bytes(b"[" * 5000 + b"]" * 5000 + b"\n")
    files["NUL bytes"].write_bytes(b'{"type":"track",\x00"userId":"x\x00"}\n\x00\x00\x00\n')
    return files


def test_hostile_archives_are_each_reported_and_the_rest_is_scored(
    clean_history: CleanHistory, tmp_path: Path
) -> None:
    pipeline = Pipeline(tmp_path / "hostile")
    for step in clean_history.steps:
        for day in step:
            pipeline.add_archive_folder(day)
    real = next(pipeline.events.rglob("*.jsonl.gz"))
    with gzip.open(real) as handle:
        assert handle.readline()  # a real archive, cut below
    hostile = _hostile_archives(pipeline.events / "hostile", real)
    outcome = pipeline.run()
    assert outcome.ok, outcome.logs
    for kind, path in hostile.items():
        assert str(path) in outcome.logs["tap"], kind
    assert pipeline.crm_records() == clean_history.final
