"""store_memory_limit: DuckDB works within it (spilling to disk) and bad values are refused."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest
from plg_transform.store import Store

from tests.transform.conftest import AS_OF, CLI

CONFIG = {
    "as_of": AS_OF,
    "events": {"Report Created": {"weight": 3, "feature": "reports"}, "Login": {"weight": 1}},
    "user_traits": ["plan"],
    "segments": [{"name": "busy", "when": "active_users >= 3", "applies_to": "account"}],
    "activation": {"milestones": [{"name": "report", "event": "Report Created", "count": 2}]},
}


def _many_events(path: Path, n: int) -> None:
    """n messages of 500 users over 60 days: far more than 128 MB of DuckDB working set."""
    rng = random.Random(3)
    events = ["Report Created", "Login", "Export Run"]
    with path.open("w") as out:
        for i in range(n):
            user = rng.randrange(500)
            ts = f"2026-{1 + rng.randrange(2):02d}-{1 + rng.randrange(28):02d}T10:{i % 60:02d}:00Z"
            if i % 100 == 0:
                record = (
                    f'{{"messageId":"m{i}","type":"identify","userId":"u{user}",'
                    f'"timestamp":"{ts}","traits":{{"plan":"p{i % 3}"}}}}'
                )
                stream = "identifies"
            else:
                record = (
                    f'{{"messageId":"m{i}","type":"track","userId":"u{user}",'
                    f'"event":"{rng.choice(events)}","timestamp":"{ts}",'
                    f'"context":{{"groupId":"a{user % 25}"}}}}'
                )
                stream = "tracks"
            out.write(f'{{"type":"RECORD","stream":"{stream}","record":{record}}}\n')


def _run(config: dict, source: Path) -> subprocess.CompletedProcess:
    config_path = Path(config["store_path"]).with_suffix(".json")
    config_path.write_text(json.dumps(config))
    with source.open("rb") as stdin:
        return subprocess.run(
            [CLI, "--config", str(config_path)], stdin=stdin, capture_output=True, check=False
        )


def test_a_small_memory_limit_gives_the_same_records_by_spilling_to_disk(tmp_path: Path) -> None:
    source = tmp_path / "input.jsonl"
    _many_events(source, 500_000)
    small = _run(
        {**CONFIG, "store_path": str(tmp_path / "small.duckdb"), "store_memory_limit": "128MB"},
        source,
    )
    large = _run(
        {**CONFIG, "store_path": str(tmp_path / "large.duckdb"), "store_memory_limit": "4GB"},
        source,
    )
    assert small.returncode == 0, small.stderr.decode()[-3000:]
    assert large.returncode == 0, large.stderr.decode()[-3000:]
    records = [line for line in small.stdout.splitlines() if b'"RECORD"' in line]
    assert len(records) == 500 + 25 + 500
    assert records == [line for line in large.stdout.splitlines() if b'"RECORD"' in line]
    assert not (tmp_path / "small.duckdb.tmp").exists()  # the spill folder is cleaned up


def test_the_store_opens_duckdb_with_the_memory_limit(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.duckdb", "300MB")
    try:
        row = store.con.execute("SELECT current_setting('memory_limit')").fetchone()
    finally:
        store.close()
    assert row == ("286.1 MiB",)  # DuckDB shows 300 MB in binary units


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("lots", '`store_memory_limit`: "lots" does not match the pattern'),
        ("80%", '`store_memory_limit`: "80%" does not match the pattern'),
        ("64MB", "`store_memory_limit`: must be at least 128MB, got '64MB'"),
    ],
)
def test_a_bad_memory_limit_stops_before_reading_input_naming_the_setting(
    tmp_path: Path, value: str, message: str
) -> None:
    source = tmp_path / "input.jsonl"
    _many_events(source, 10)
    result = _run(
        {**CONFIG, "store_path": str(tmp_path / "store.duckdb"), "store_memory_limit": value},
        source,
    )
    assert result.returncode != 0
    assert message in result.stderr.decode()
    assert not (tmp_path / "store.duckdb").exists()
