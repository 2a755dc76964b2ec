"""A broken config stops the real `tap-product-events` CLI before any record is read.

Each mistake a user can make (a typo at any level, a wrong type, a number out of range,
an unknown value, an empty list, a string where an object is expected, a database URL
without its driver) ends the run with exit code 1 and one line naming the setting (and,
for a typo, the name that was meant); no traceback, nothing on stdout, no secret shown.
"""

from __future__ import annotations

import json
import os
import subprocess
import typing as t
from pathlib import Path

import pytest

from ..tap_runs import TAP_EXECUTABLE

PASSWORD = "hunter2-s3cret"
SECRET_URL = f"postgresql+psycopg://reader:{PASSWORD}@127.0.0.1:1/analytics"
SECRET_NUMBER = 918273645  # an API key given as a number: still never shown


def _track() -> dict[str, t.Any]:
    return {
        "type": "track",
        "messageId": "m-1",
        "userId": "u-1",
        "event": "Report Viewed",
        "timestamp": "2026-03-01T09:00:00Z",
        "receivedAt": "2026-03-01T09:00:01Z",
    }


@pytest.fixture
def archive(tmp_path: Path) -> str:
    """An archive with one message: a refused config must not read it."""
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(_track()) + "\n")
    return str(path)


def _run(folder: Path, config: dict[str, t.Any], *args: str) -> subprocess.CompletedProcess[str]:
    config_path = folder / "config.json"
    config_path.write_text(json.dumps(config))
    return subprocess.run(
        [str(TAP_EXECUTABLE), "--config", str(config_path), *args],
        capture_output=True,
        text=True,
        cwd=folder,
        env={k: v for k, v in os.environ.items() if not k.startswith("TAP_PRODUCT_EVENTS_")},
        timeout=120,
    )


def _problem_lines(stderr: str) -> list[str]:
    """The lines that name a problem (the SDK adds a closing "Config validation failed")."""
    return [
        line
        for line in stderr.splitlines()
        if "ERROR" in line and "Config validation failed" not in line
    ]


def _assert_refused(run: subprocess.CompletedProcess[str], expected: str) -> None:
    assert run.returncode == 1, run.stderr
    problems = _problem_lines(run.stderr)
    assert len(problems) == 1, run.stderr
    assert expected in problems[0], run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""  # no RECORD, no STATE, no catalog
    assert PASSWORD not in run.stderr
    assert str(SECRET_NUMBER) not in run.stderr


def _duckdb(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


def _query(**fields: t.Any) -> dict[str, t.Any]:
    return {"name": "seats", "url": "duckdb:///:memory:", "sql": "SELECT 1", "entity": "user"} | (
        fields
    )


def _endpoint(**fields: t.Any) -> dict[str, t.Any]:
    return {"name": "logins", "url": "http://127.0.0.1:1/users", "entity": "user"} | fields


# (config with `ARCHIVE` standing for the archive's path, the line that must be printed)
CASES: dict[str, tuple[dict[str, t.Any], str]] = {
    "top-level typo": (
        {"event_paths": ["ARCHIVE"]},
        "`event_paths`: unknown setting; did you mean `events_paths`?",
    ),
    "nested typo": (
        {"events_paths": ["ARCHIVE"], "events_sql": {"url": "DUCKDB", "tabels": {}}},
        "`events_sql.tabels`: unknown setting; did you mean `tables`?",
    ),
    "typo in a table name": (
        {"events_paths": ["ARCHIVE"], "events_sql": {"url": "DUCKDB", "tables": {"trakcs": []}}},
        "`events_sql.tables.trakcs`: unknown setting; did you mean `tracks`?",
    ),
    "typo in a list item": (
        {
            "events_paths": ["ARCHIVE"],
            "metrics_queries": [
                {"name": "q", "url": "DUCKDB", "sql": "SELECT 1", "entitiy": "user"}
            ],
        },
        "`metrics_queries[0].entitiy`: unknown setting; did you mean `entity`?",
    ),
    "typo in an endpoint's pagination": (
        {
            "events_paths": ["ARCHIVE"],
            "metrics_endpoints": [_endpoint(pagination={"stlye": "page"})],
        },
        "`metrics_endpoints[0].pagination.stlye`: unknown setting; did you mean `style`?",
    ),
    "wrong type": (
        {"events_paths": ["ARCHIVE"], "strict": "yes"},
        '`strict`: expected true or false, got "yes"',
    ),
    "string where a list is expected": (
        {"events_paths": "ARCHIVE"},
        "`events_paths`: expected a list",
    ),
    "string where an object is expected": (
        {"events_paths": ["ARCHIVE"], "events_sql": json.dumps({"url": SECRET_URL})},
        "`events_sql`: expected an object",
    ),
    "negative overlap": (
        {"events_paths": ["ARCHIVE"], "events_sql": {"url": "DUCKDB", "overlap_minutes": -5}},
        "`events_sql.overlap_minutes`: must be at least 0, got -5",
    ),
    "no first events": (
        {"events_paths": ["ARCHIVE"], "events_sql": {"url": "DUCKDB", "rollup_first_events": 0}},
        "`events_sql.rollup_first_events`: must be at least 1, got 0",
    ),
    "negative retries": (
        {"events_paths": ["ARCHIVE"], "events_sql": {"url": "DUCKDB", "connect_retries": -1}},
        "`events_sql.connect_retries`: must be at least 0, got -1",
    ),
    "message limit too small": (
        {"events_paths": ["ARCHIVE"], "max_message_bytes": 10},
        "`max_message_bytes`: must be at least 1024, got 10",
    ),
    "page size zero": (
        {"events_paths": ["ARCHIVE"], "metrics_endpoints": [_endpoint(pagination={"size": 0})]},
        "`metrics_endpoints[0].pagination.size`: must be at least 1, got 0",
    ),
    "unknown key case": (
        {"events_paths": ["ARCHIVE"], "events_sql": {"url": "DUCKDB", "key_case": "camelCase"}},
        '`events_sql.key_case`: "camelCase" is not one of columns, camel; did you mean `camel`?',
    ),
    "unknown entity": (
        {"events_paths": ["ARCHIVE"], "metrics_queries": [_query(entity="users")]},
        '`metrics_queries[0].entity`: "users" is not one of user, account, membership; '
        "did you mean `user`?",
    ),
    "empty events_paths": (
        {"events_paths": []},
        "`events_paths`: needs at least 1 item, got an empty list",
    ),
    "missing required url": (
        {"events_paths": ["ARCHIVE"], "events_sql": {"schema": "segment"}},
        "`events_sql.url`: required, but not set",
    ),
    "no source": (
        {"strict": True},
        "`events_paths`: no source is set",
    ),
    "start date that is no date": (
        {"events_paths": ["ARCHIVE"], "start_date": "last tuesday"},
        '`start_date`: "last tuesday" is not an ISO 8601 date-time',
    ),
    "secret of the wrong type": (
        {
            "events_paths": ["ARCHIVE"],
            "metrics_endpoints": [_endpoint(auth_header=SECRET_NUMBER)],
        },
        "`metrics_endpoints[0].auth_header`: expected a string, got a secret value",
    ),
    "database URL that does not parse": (
        {"events_paths": ["ARCHIVE"], "metrics_queries": [_query(url=f"not a url {PASSWORD}")]},
        "`metrics_queries[0].url`: not a database URL",
    ),
    "database URL without its driver": (
        {"events_paths": ["ARCHIVE"], "events_sql": {"url": f"mysql://u:{PASSWORD}@h/db"}},
        "`events_sql.url`: no driver for `mysql` is installed",
    ),
    "query names not unique": (
        {"events_paths": ["ARCHIVE"], "metrics_queries": [_query(), _query()]},
        "`metrics_queries[1].name`: `seats` is already the name of metrics_queries[0]",
    ),
    "batch root in an object store": (
        {
            "events_paths": ["ARCHIVE"],
            "batch_config": {"encoding": {"format": "jsonl"}, "storage": {"root": "s3://b/x"}},
        },
        "`batch_config.storage.root`: 's3://b/x' is not a local folder",
    ),
    "batch format unknown": (
        {
            "events_paths": ["ARCHIVE"],
            "batch_config": {"encoding": {"format": "csv"}, "storage": {"root": "out"}},
        },
        '`batch_config.encoding.format`: "csv" is not one of jsonl, parquet',
    ),
    "batch config typo": (
        {
            "events_paths": ["ARCHIVE"],
            "batch_config": {"encoding": {"format": "jsonl"}, "storage": {"rot": "out"}},
        },
        "`batch_config.storage.rot`: unknown setting; did you mean `root`?",
    ),
    "endpoint URL not http": (
        {"events_paths": ["ARCHIVE"], "metrics_endpoints": [_endpoint(url="ftp://host/x")]},
        "`metrics_endpoints[0].url`: expected an http:// or https:// URL",
    ),
    "typo in an object-storage option": (
        {"events_paths": ["ARCHIVE"], "storage_options": {"s3": {"secret_key": PASSWORD}}},
        "`storage_options.s3.secret_key`: unknown setting; did you mean `secret`?",
    ),
    "scores with events": (
        {"events_paths": ["ARCHIVE"], "scores_sql": {"url": "DUCKDB"}},
        "`scores_sql`: reads scores the dbt package computed, not events: it cannot be "
        "combined with events_paths",
    ),
    "scores URL without its driver": (
        {"scores_sql": {"url": "snowflake://u:p@account/db"}},
        "`scores_sql.url`",
    ),
    "scores setting typo": (
        {"scores_sql": {"url": "DUCKDB", "shema": "plg"}},
        "`scores_sql.shema`: unknown setting; did you mean `schema`?",
    ),
    "object-storage secret of the wrong type": (
        {"events_paths": ["ARCHIVE"], "storage_options": {"s3": {"secret": SECRET_NUMBER}}},
        "`storage_options.s3.secret`",
    ),
}


def _filled(value: t.Any, archive: str, duckdb: str) -> t.Any:
    if isinstance(value, dict):
        return {k: _filled(v, archive, duckdb) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, archive, duckdb) for v in value]
    return (
        {"ARCHIVE": archive, "DUCKDB": duckdb}.get(value, value)
        if isinstance(value, str)
        else value
    )


@pytest.mark.parametrize("case", list(CASES))
def test_a_broken_config_is_refused_with_one_line_naming_the_setting(
    case: str, tmp_path: Path, archive: str
) -> None:
    config, expected = CASES[case]
    run = _run(tmp_path, _filled(config, archive, _duckdb(tmp_path)))

    _assert_refused(run, expected)
    if "unknown setting" in expected:
        assert "no source is set" not in run.stderr  # the typo is named, not its effect


def test_discovery_refuses_a_broken_config_the_same_way(tmp_path: Path, archive: str) -> None:
    run = _run(
        tmp_path,
        {"events_paths": [archive], "events_sql": {"url": "x", "tabels": {}}},
        "--discover",
    )

    _assert_refused(run, "`events_sql.tabels`: unknown setting; did you mean `tables`?")


def test_the_sdk_settings_and_null_values_are_accepted(tmp_path: Path, archive: str) -> None:
    config = {
        "events_paths": [archive],
        "start_date": None,  # null means unset
        "flattening_enabled": False,
        "stream_maps": {"tracks": {"event_upper": "event.upper()"}},
    }
    run = _run(tmp_path, config)

    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    tracks = [m["record"] for m in records if m["type"] == "RECORD" and m["stream"] == "tracks"]
    assert [r["event_upper"] for r in tracks] == ["REPORT VIEWED"]
