"""Bad rows are reported with their table and key; connection failures without the password."""

from __future__ import annotations

import datetime as dt

from .segment_warehouse import load_rows

T = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


def _row(mid: str, **fields: object) -> dict[str, object]:
    return {
        "id": mid,
        "user_id": "u-1",
        "anonymous_id": None,
        "timestamp": T,
        "received_at": T,
        "uuid_ts": T,
        "event": "x",
        "event_text": "X",
        "properties": "{}",
        **fields,
    }


def test_rows_without_time_or_identity_or_with_bad_json_are_reported_and_the_rest_go_through(
    duckdb_url: str, run_tap
) -> None:
    load_rows(
        duckdb_url,
        {
            "tracks": [
                _row("good-1"),
                _row("no-time", timestamp=None, received_at=None),
                _row("no-identity", user_id=None),
                _row("bad-json", properties="{not json"),
                _row("good-2", properties='{"plan": "pro"}'),
            ]
        },
    )
    run = run_tap({"events_sql": {"url": duckdb_url}})

    assert run.returncode == 0, run.stderr
    assert [r["messageId"] for r in run.records("tracks")] == ["good-1", "good-2"]
    assert run.records("tracks")[1]["properties"] == {"plan": "pro"}
    for key in ("no-time", "no-identity", "bad-json"):
        assert f"Skipped bad row in table tracks (id={key})" in run.stderr
    assert "3 bad rows in 1 table" in run.stderr

    strict = run_tap({"events_sql": {"url": duckdb_url}, "strict": True})
    assert strict.returncode != 0 and "strict mode" in strict.stderr


def test_next_run_reads_rows_that_arrived_since_the_bookmark_however_old_their_time(
    postgres_url: str, run_tap
) -> None:
    load_rows(postgres_url, {"tracks": [_row("a"), _row("b")]})
    config = {"events_sql": {"url": postgres_url, "overlap_minutes": 0}}
    first = run_tap(config)
    assert [r["messageId"] for r in first.records("tracks")] == ["a", "b"]

    old = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
    later = T + dt.timedelta(hours=1)
    load_rows(
        postgres_url, {"tracks": [_row("late", timestamp=old, received_at=old, uuid_ts=later)]}
    )
    second = run_tap(config, state=first.final_state)

    # "a" and "b" arrived exactly at the bookmark: read again (>=), harmless by messageId.
    assert [r["messageId"] for r in second.records("tracks")] == ["a", "b", "late"]
    assert second.final_state["sources"]["events_sql"]["tables"]["tracks"] == "2026-03-01T10:00:00Z"


def test_unreachable_database_is_retried_then_reported_with_the_password_masked(
    postgres, run_tap
) -> None:
    url = postgres.url(password="hunter2-wrong")
    run = run_tap({"events_sql": {"url": url, "connect_retries": 1}})

    assert run.returncode != 0
    assert "hunter2-wrong" not in run.stderr
    assert "cannot connect to postgresql+psycopg://postgres:***@127.0.0.1" in run.stderr
    assert "after 2 attempts" in run.stderr
