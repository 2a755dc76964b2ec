"""Large Segment-shaped `tracks` and `pages` tables, generated inside the database.

Used by the roll-up's query-plan test and by bench/warehouse_rollup.py. Rows are made by
`generate_series` (PostgreSQL and DuckDB both have it), so a million rows take seconds.
Every 7th row is anonymous, every 5th has no account, every 11th names its account only
in `group_id` (a track's properties.groupId).
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from tap_product_events.malformed import MalformedLineReport
from tap_product_events.sources.warehouse.settings import SqlEventsSettings
from tap_product_events.sources.warehouse.warehouse_events import WarehouseEvents
from tap_product_events.sources.warehouse.warehouse_table import WarehouseTable

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)

_COLUMNS = {
    "tracks": "id VARCHAR, user_id VARCHAR, anonymous_id VARCHAR, context_group_id VARCHAR, "
    "group_id VARCHAR, event VARCHAR, event_text VARCHAR, timestamp TIMESTAMPTZ, "
    "received_at TIMESTAMPTZ, uuid_ts TIMESTAMPTZ",
    "pages": "id VARCHAR, user_id VARCHAR, anonymous_id VARCHAR, context_group_id VARCHAR, "
    "name VARCHAR, timestamp TIMESTAMPTZ, received_at TIMESTAMPTZ, uuid_ts TIMESTAMPTZ",
}


def _select(table: str, first: int, last: int, users: int, days: int) -> str:
    accounts = max(users // 4, 1)
    user = f"CASE WHEN mod(i, 7) = 0 THEN NULL ELSE 'u-' || mod(i, {users}) END"
    anonymous = f"'a-' || mod(i, {users * 2})"
    no_account = "mod(i, 5) = 0 OR mod(i, 11) = 0"
    account = f"CASE WHEN {no_account} THEN NULL ELSE 'acc-' || mod(i, {accounts}) END"
    at = f"TIMESTAMPTZ '2026-03-01 00:00:00+00' + mod(i, {days * 86400}) * INTERVAL '1 second'"
    loaded = "TIMESTAMPTZ '2026-03-01 00:00:00+00' + i * INTERVAL '1 millisecond'"
    common = f"'{table[0]}-' || i, {user}, {anonymous}, {account}"
    if table == "tracks":
        group = f"CASE WHEN mod(i, 11) = 0 THEN 'acc-' || mod(i, {accounts}) END"
        event = "'event_' || mod(i, 20), 'Event ' || mod(i, 20)"
        values = f"{common}, {group}, {event}, {at}, {at}, {loaded}"
    else:
        values = f"{common}, '/p' || mod(i, 50), {at}, {at}, {loaded}"
    return f"SELECT {values} FROM generate_series({first}, {last}) AS g(i)"  # noqa: S608


def fill(url: str, rows: int, *, users: int = 2_000, days: int = 30, first: int = 1) -> None:
    """Add `rows` rows (tracks 4 : pages 1) numbered from `first`; creates the tables."""
    engine = sa.create_engine(url)
    split = first + rows * 4 // 5
    with engine.begin() as connection:
        for table, columns in _COLUMNS.items():
            connection.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        connection.exec_driver_sql(
            f"INSERT INTO tracks {_select('tracks', first, split - 1, users, days)}"  # noqa: S608
        )
        connection.exec_driver_sql(
            f"INSERT INTO pages {_select('pages', split, first + rows - 1, users, days)}"  # noqa: S608
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE tracks")
            connection.exec_driver_sql("ANALYZE pages")
    engine.dispose()


def default_settings(url: str) -> SqlEventsSettings:
    """The `events_sql` settings of `{"url": url, "rollup": true}` with every default."""
    from tap_product_events.tap import TapProductEvents

    tap = TapProductEvents(
        config={"events_sql": {"url": url, "rollup": True}}, parse_env_config=False
    )
    return SqlEventsSettings.from_config(tap.config["events_sql"])


def warehouse_tables(url: str) -> list[WarehouseTable]:
    """The tables as the source sees them (columns, arrival column), with default settings."""
    logger = logging.getLogger("big_tables")
    source = WarehouseEvents(
        default_settings(url), logger, MalformedLineReport(logger, strict=True)
    )
    engine = sa.create_engine(url)
    try:
        return source._tables(engine)  # noqa: SLF001 - the source's own view of the tables
    finally:
        engine.dispose()
