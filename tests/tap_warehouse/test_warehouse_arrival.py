"""Which column tells a row's arrival, and what `overlap_minutes` means.

The tap bookmarks, per table, the latest arrival it has read. The next run reads the rows
whose arrival is at or after `bookmark - overlap_minutes`. So the overlap is how far before
the latest arrival already read a row may be stamped and still be found: a load that
committed late, stamped within the overlap, is read (and the overlap's rows already read
come again with their messageId); a row stamped earlier than that is never read.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest

from .conftest import TapRun
from .schema_tables import create_tables, insert_rows

MARK = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
OLD = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(params=["postgres", "duckdb"])
def warehouse_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on each backend."""
    return t.cast(str, request.getfixturevalue(f"{request.param}_url"))


def _ids(run: TapRun, stream: str) -> list[str]:
    return sorted(r["messageId"] for r in run.records(stream))


def _at(minutes_before_mark: int) -> dt.datetime:
    return MARK - dt.timedelta(minutes=minutes_before_mark)


def _track(mid: str, *, received_at: dt.datetime, **arrival: dt.datetime) -> dict[str, t.Any]:
    return {
        "id": mid,
        "user_id": "u-1",
        "timestamp": received_at,
        "received_at": received_at,
        "event": "x",
        "event_text": "X",
        **arrival,
    }


def _identify(mid: str, *, received_at: dt.datetime, loaded_at: dt.datetime) -> dict[str, t.Any]:
    # Redshift-style: loaded_at a `timestamp` without time zone holding UTC.
    return {
        "id": mid,
        "user_id": "u-1",
        "timestamp": received_at,
        "received_at": received_at,
        "loaded_at": loaded_at.replace(tzinfo=None),
        "email": f"{mid}@example.com",
    }


def _page(mid: str, *, received_at: dt.datetime) -> dict[str, t.Any]:
    return {
        "id": mid,
        "user_id": "u-1",
        "timestamp": received_at,
        "received_at": received_at,
        "name": "Home",
    }


def test_arrival_is_uuid_ts_else_loaded_at_else_received_at_and_overlap_finds_late_rows(
    warehouse_url: str, run_tap: t.Callable[..., TapRun]
) -> None:
    create_tables(
        warehouse_url,
        {
            "tracks": [_track("t-a", received_at=_at(1), uuid_ts=MARK)],
            "identifies": [_identify("i-a", received_at=_at(1), loaded_at=MARK)],
            "pages": [_page("p-a", received_at=MARK)],
        },
    )
    config = {"events_sql": {"url": warehouse_url}}  # overlap_minutes: 60 by default
    first = run_tap(config)
    assert first.returncode == 0, first.stderr
    marks = first.final_state["sources"]["events_sql"]["tables"]
    # The bookmark is the arrival column's latest value, not received_at's.
    assert marks == {
        "tracks": "2026-03-01T10:00:00Z",
        "identifies": "2026-03-01T10:00:00Z",
        "pages": "2026-03-01T10:00:00Z",
    }

    # Late commits. "within": stamped 30 min before the bookmark; "outside": 90 min.
    # received_at says the opposite where it is not the arrival column, to show it is
    # not what is filtered on.
    new = _at(-30)
    insert_rows(
        warehouse_url,
        "tracks",
        [
            _track("t-within", received_at=OLD, uuid_ts=_at(30)),
            _track("t-outside", received_at=new, uuid_ts=_at(90)),
        ],
    )
    insert_rows(
        warehouse_url,
        "identifies",
        [
            _identify("i-within", received_at=OLD, loaded_at=_at(30)),
            _identify("i-outside", received_at=new, loaded_at=_at(90)),
        ],
    )
    insert_rows(
        warehouse_url,
        "pages",
        [_page("p-within", received_at=_at(30)), _page("p-outside", received_at=_at(90))],
    )
    second = run_tap(config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    # The first run's rows are within the overlap too: delivered again, same messageId.
    assert _ids(second, "tracks") == ["t-a", "t-within"]
    assert _ids(second, "identifies") == ["i-a", "i-within"]
    assert _ids(second, "pages") == ["p-a", "p-within"]
    assert second.final_state["sources"]["events_sql"]["tables"] == marks
    # Bookkeeping arrival columns are not message fields; received_at is (receivedAt).
    track = {r["messageId"]: r for r in second.records("tracks")}["t-within"]
    identify = {r["messageId"]: r for r in second.records("identifies")}["i-within"]
    assert track["receivedAt"] == "2019-01-01T00:00:00Z"
    assert track["properties"] is None  # uuid_ts is no property
    assert identify["traits"] == {"email": "i-within@example.com"}
    assert {r["receivedAt"] for r in second.records("pages")} == {
        "2026-03-01T10:00:00Z",
        "2026-03-01T09:30:00Z",
    }


def test_arrival_column_setting_picks_the_column_and_the_overlap_bound_is_inclusive(
    warehouse_url: str, run_tap: t.Callable[..., TapRun]
) -> None:
    create_tables(
        warehouse_url,
        {"tracks": [_track("r-1", received_at=_at(1), uuid_ts=MARK, _synced_at=MARK)]},
    )
    config = {
        "events_sql": {"url": warehouse_url, "arrival_column": "_synced_at", "overlap_minutes": 30}
    }
    first = run_tap(config)
    assert first.returncode == 0, first.stderr
    assert _ids(first, "tracks") == ["r-1"]
    # The arrival column is load bookkeeping: not a property.
    assert first.records("tracks")[0]["properties"] is None

    late_uuid = _at(-120)  # uuid_ts would read all three: it is not the arrival column
    insert_rows(
        warehouse_url,
        "tracks",
        [
            _track("r-late", received_at=OLD, uuid_ts=late_uuid, _synced_at=_at(15)),
            _track("r-edge", received_at=OLD, uuid_ts=late_uuid, _synced_at=_at(30)),
            _track("r-outside", received_at=OLD, uuid_ts=late_uuid, _synced_at=_at(31)),
        ],
    )
    second = run_tap(config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    assert _ids(second, "tracks") == ["r-1", "r-edge", "r-late"]
    marks = second.final_state["sources"]["events_sql"]["tables"]
    assert marks == {"tracks": "2026-03-01T10:00:00Z"}


def test_an_arrival_column_kept_as_text_is_compared_as_a_time_with_its_offset(
    warehouse_url: str, run_tap: t.Callable[..., TapRun]
) -> None:
    def row(mid: str, arrived: str) -> dict[str, t.Any]:
        return {**_track(mid, received_at=OLD), "arrived_text": arrived}

    create_tables(
        warehouse_url,
        {"tracks": [row("a", "2026-03-01T12:00:00+02:00"), row("b", "2026-03-01T09:00:00Z")]},
    )
    config = {
        "events_sql": {"url": warehouse_url, "arrival_column": "arrived_text", "overlap_minutes": 0}
    }
    first = run_tap(config)
    assert first.returncode == 0, first.stderr
    # 12:00+02:00 is 10:00 UTC: the bookmark, not 12:00 (which would skip 10:00-12:00).
    assert first.final_state["sources"]["events_sql"]["tables"] == {
        "tracks": "2026-03-01T10:00:00Z"
    }

    insert_rows(
        warehouse_url,
        "tracks",
        [
            row("after", "2026-03-01T11:15:00+01:00"),  # 10:15 UTC
            row("before", "2026-03-01T10:45:00+02:00"),  # 08:45 UTC
        ],
    )
    second = run_tap(config, state=first.final_state)

    assert second.returncode == 0, second.stderr
    assert _ids(second, "tracks") == ["a", "after"]
    assert second.records("tracks")[0]["properties"] is None  # arrived_text is no property
