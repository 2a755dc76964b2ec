"""Each source read by the tap as users install it gives the development venv's records.

The installed venv resolves the newest versions the dependency ranges allow (SQLAlchemy
2.1 and duckdb-engine 0.17 when this was written, where reflecting a DuckDB table's
columns fails); the development venv holds the lock's versions (SQLAlchemy 2.0, as
Meltano pins it). Run the source folders against such a venv with `make test-installed`.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa

from ..tap_archives.conftest import track
from ..tap_archives.test_tap_object_storage import BUCKET, KEYS, _put
from ..tap_runs import TapRun, run_tap_cli
from ..tap_warehouse.message_set import segment_messages
from ..tap_warehouse.segment_warehouse import load_messages
from .installed_venv import InstalledTap, dev_versions

pytestmark = pytest.mark.e2e

STREAMS = ("tracks", "identifies", "groups", "pages", "screens", "aliases", "daily_rollups")


def _records(run: TapRun) -> dict[str, list[dict[str, t.Any]]]:
    assert run.returncode == 0, run.stderr[-4000:]
    return {
        stream: sorted(run.records(stream), key=lambda r: json.dumps(r, sort_keys=True))
        for stream in STREAMS
    }


def _both(tmp_path: Path, installed: InstalledTap, config: dict[str, t.Any]) -> tuple[dict, dict]:
    dev = run_tap_cli(_folder(tmp_path, "dev"), config)
    user = run_tap_cli(_folder(tmp_path, "installed"), config, executable=installed.executable)
    assert "failed" not in user.stderr.lower() or "0 failed" in user.stderr.lower(), user.stderr
    return _records(dev), _records(user)


def _folder(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    return folder


def test_the_installed_venv_holds_the_newest_versions_not_the_lock(
    installed_tap: InstalledTap,
) -> None:
    installed = installed_tap.versions
    dev = dev_versions()
    for package in ("sqlalchemy", "duckdb-engine", "duckdb", "psycopg", "singer-sdk"):
        assert package in installed, f"{package} is not installed by the extras"
    # The versions a user gets are at least the lock's: the lock cannot hide a new release.
    for package in ("sqlalchemy", "duckdb-engine", "duckdb"):
        have = tuple(int(p) for p in installed[package].split(".")[:2])
        locked = tuple(int(p) for p in dev[package].split(".")[:2])
        assert have >= locked, (package, installed[package], dev[package])


@pytest.mark.parametrize("database", ["duckdb", "postgres"])
@pytest.mark.parametrize("rollup", [False, True], ids=["raw", "rollup"])
def test_warehouse_tables_read_as_installed_give_the_dev_venv_records(
    database: str,
    rollup: bool,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    installed_tap: InstalledTap,
) -> None:
    url = request.getfixturevalue(f"{database}_url")
    messages = segment_messages()
    load_messages(url, messages)
    dev, user = _both(tmp_path, installed_tap, {"events_sql": {"url": url, "rollup": rollup}})
    assert user == dev
    raw = sum(len(dev[s]) for s in STREAMS if s != "daily_rollups")
    if rollup:
        assert dev["daily_rollups"], "the roll-up produced nothing"
    else:
        assert raw == len(messages)


def test_a_duckdb_table_with_every_column_type_is_read_as_installed(
    duckdb_url: str, tmp_path: Path, installed_tap: InstalledTap
) -> None:
    engine = sa.create_engine(duckdb_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE tracks (id VARCHAR, user_id VARCHAR, event_text VARCHAR, "
            "timestamp TIMESTAMPTZ, uuid_ts TIMESTAMP, plan_seats INTEGER, mrr DECIMAL(10,2), "
            "ratio DOUBLE, trial BOOLEAN, started DATE, payload JSON, tags VARCHAR[], "
            "owner STRUCT(name VARCHAR), session UUID, big HUGEINT)"
        )
        connection.exec_driver_sql(
            "INSERT INTO tracks VALUES ('m-1', 'u-1', 'Signed Up', "
            "'2026-03-01 10:00:00+00', '2026-03-01 10:00:05', 3, 12.50, 0.5, true, "
            "'2026-02-01', '{\"a\": 1}', ['x', 'y'], {'name': 'Ann'}, "
            "'6f1c2b1e-0b7a-4c1f-9a51-1d2f3c4b5a69', 12345678901234567890)"
        )
    engine.dispose()
    dev, user = _both(tmp_path, installed_tap, {"events_sql": {"url": duckdb_url}})
    assert user == dev
    assert [r["messageId"] for r in user["tracks"]] == ["m-1"]
    properties = user["tracks"][0]["properties"]
    assert properties["plan_seats"] == 3
    assert properties["mrr"] == 12.5
    assert properties["tags"] == ["x", "y"]
    assert properties["owner"] == {"name": "Ann"}


def test_a_jsonl_archive_read_as_installed_gives_the_dev_venv_records(
    tmp_path: Path, installed_tap: InstalledTap
) -> None:
    archive = tmp_path / "events.jsonl"
    archive.write_text("".join(json.dumps(m) + "\n" for m in segment_messages()))
    dev, user = _both(tmp_path, installed_tap, {"events_paths": [str(archive)]})
    assert user == dev
    assert sum(len(v) for v in user.values()) == len(segment_messages())


@pytest.mark.parametrize("database", ["duckdb", "postgres"])
def test_metrics_queries_read_as_installed_give_the_dev_venv_records(
    database: str, request: pytest.FixtureRequest, tmp_path: Path, installed_tap: InstalledTap
) -> None:
    url = request.getfixturevalue(f"{database}_url")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE accounts (account_id VARCHAR, seats INTEGER)")
        connection.exec_driver_sql("INSERT INTO accounts VALUES ('acc-1', 3), ('acc-2', 7)")
    engine.dispose()
    query = {
        "name": "seats",
        "url": url,
        "entity": "account",
        "sql": "SELECT account_id, seats FROM accounts",
    }
    dev = run_tap_cli(_folder(tmp_path, "dev"), {"metrics_queries": [query]})
    user = run_tap_cli(
        _folder(tmp_path, "installed"),
        {"metrics_queries": [query]},
        executable=installed_tap.executable,
    )
    assert user.returncode == 0, user.stderr[-4000:]

    def metrics(run: TapRun) -> list[dict[str, t.Any]]:
        return sorted(
            ({k: v for k, v in r.items() if k != "observed_at"} for r in run.records()),
            key=lambda r: json.dumps(r, sort_keys=True),
        )

    assert metrics(user) == metrics(dev)
    assert len(metrics(user)) == 2


def test_s3_archives_read_as_installed_give_the_dev_venv_records(
    s3_endpoint: str, tmp_path: Path, installed_tap: InstalledTap
) -> None:
    _put(s3_endpoint, "segment/a.jsonl.gz", [track("a-1"), track("a-2")])
    _put(s3_endpoint, "segment/b.jsonl", [track("b-1")])
    config = {
        "events_paths": [f"s3://{BUCKET}/segment"],
        "storage_options": {"s3": {**KEYS, "endpoint_url": s3_endpoint}},
    }
    dev, user = _both(tmp_path, installed_tap, config)
    assert user == dev
    assert sorted(r["messageId"] for r in user["tracks"]) == ["a-1", "a-2", "b-1"]
