"""The push-down roll-up: the database counts tracks, pages and screens per key and UTC day.

One query, in SQLAlchemy Core, portable to any dialect with window functions, COALESCE
and CASTs to VARCHAR, DATE and TIMESTAMP (tested on PostgreSQL and DuckDB). Time columns
must be timestamp types and the session's time zone UTC (set by sources.sql_connection
for PostgreSQL and DuckDB).

1. `ev`: every track/page/screen row as (userId, anonymousId, accountId, event, at, day,
   messageId, arrived), the union of the tables;
2. `touched`: the (key, day) pairs with any row that arrived since its table's bookmark
   minus the overlap, joined back to `ev` on equality of the keys with NULL as '' (a
   hash or merge join: linear in the rows read);
3. every row of those pairs, one per messageId (its earliest time), ranked per pair by
   (at, messageId) with the pair's count, first and last time;
4. only ranks up to `rollup_first_events` leave the database, ordered by pair and rank:
   the records are assembled from consecutive rows.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import sqlalchemy as sa
from singer_sdk import typing as th
from sqlalchemy.engine import Connection

from tap_product_events.arrival import format_instant
from tap_product_events.sources.warehouse.warehouse_table import WarehouseTable, naive_utc

STREAM_NAME = "daily_rollups"
KEY = ("userId", "anonymousId", "accountId", "event", "day")
_KEY_COLUMNS = ("user_id", "anonymous_id", "account_id", "event", "day")
FIXED_EVENTS = {"page": "Page Viewed", "screen": "Screen Viewed"}
_BAD_ROWS_SHOWN = 1_000

# Per table label, the arrival time to read from (None: every row).
Since = t.Mapping[str, "dt.datetime | None"]

SCHEMA = th.PropertiesList(
    th.Property("userId", th.StringType, description="The events' user, or null."),
    th.Property("anonymousId", th.StringType, description="Set only when userId is null."),
    th.Property(
        "accountId",
        th.StringType,
        description="The events' account: the first non-empty of `account_columns`.",
    ),
    th.Property(
        "event",
        th.StringType,
        required=True,
        description="Track event name; pages are `Page Viewed`, screens `Screen Viewed`.",
    ),
    th.Property("day", th.DateType, required=True, description="UTC date of the events' time."),
    th.Property("count", th.IntegerType, required=True, description="Distinct messageIds."),
    th.Property("first_at", th.DateTimeType, description="Earliest event time."),
    th.Property("last_at", th.DateTimeType, description="Latest event time."),
    th.Property(
        "first_events",
        th.ArrayType(
            th.ObjectType(
                th.Property("at", th.DateTimeType),
                th.Property("messageId", th.StringType),
            )
        ),
        description="The earliest events by (time, messageId), at most rollup_first_events.",
    ),
).to_dict()


def _text_id(column: sa.ColumnElement[t.Any] | None) -> sa.ColumnElement[t.Any]:
    """An id as text, '' as NULL (the contract's ids)."""
    if column is None:
        return sa.cast(sa.null(), sa.String)
    return sa.func.nullif(sa.cast(column, sa.String), "")


def _normalised(column: sa.ColumnElement[t.Any]) -> sa.ColumnElement[t.Any]:
    """A key part that equality can compare: NULL ids as '' (days are never NULL)."""
    if column.key == "day":
        return column
    return sa.func.coalesce(column, "")


def _first_of(
    columns: t.Sequence[sa.ColumnElement[t.Any]], type_: t.Any
) -> sa.ColumnElement[t.Any]:
    if not columns:
        return sa.cast(sa.null(), type_)
    return columns[0] if len(columns) == 1 else sa.func.coalesce(*columns)


def _event_rows(wt: WarehouseTable, account_columns: t.Sequence[str]) -> sa.Select[t.Any]:
    user = _text_id(wt.column("user_id"))
    anonymous = _text_id(wt.column("anonymous_id"))
    accounts = [_text_id(wt.table.c[name]) for name in account_columns if name in wt.table.c]
    if wt.message_type == "track":
        names = [
            _text_id(wt.column(n)) for n in ("event_text", "event") if wt.column(n) is not None
        ]
        event = _first_of(names, sa.String)
    else:
        event = sa.cast(sa.literal(FIXED_EVENTS[wt.message_type]), sa.String)
    times = [
        sa.cast(column, sa.DateTime)
        for column in (wt.column(n) for n in ("timestamp", "original_timestamp", "received_at"))
        if column is not None
    ]
    at = _first_of(times, sa.DateTime)
    return sa.select(
        user.label("user_id"),
        sa.case((user.is_(None), anonymous), else_=sa.cast(sa.null(), sa.String)).label(
            "anonymous_id"
        ),
        _first_of(accounts, sa.String).label("account_id"),
        event.label("event"),
        at.label("at"),
        sa.cast(at, sa.Date).label("day"),
        _text_id(wt.column("id")).label("message_id"),
        sa.cast(wt.arrival, sa.DateTime).label("arrived"),
        sa.cast(sa.literal(wt.label), sa.String).label("source_table"),
    )


class DailyRollupQuery:
    """The roll-up of some track/page/screen tables, since an arrival time."""

    def __init__(
        self,
        tables: t.Sequence[WarehouseTable],
        account_columns: t.Sequence[str],
        first_events: int,
    ) -> None:
        self.first_events = first_events
        selects = [_event_rows(wt, account_columns) for wt in tables]
        union = selects[0] if len(selects) == 1 else sa.union_all(*selects)
        self.ev = union.subquery("ev")
        ev = self.ev.c
        self.valid = sa.and_(
            ev.at.is_not(None),
            ev.event.is_not(None),
            ev.message_id.is_not(None),
            sa.or_(ev.user_id.is_not(None), ev.anonymous_id.is_not(None)),
        )

    def latest_arrivals(self) -> sa.Select[t.Any]:
        """The latest arrival per table (the next bookmarks): rows (table label, time)."""
        ev = self.ev.c
        return sa.select(ev.source_table, sa.func.max(ev.arrived)).group_by(ev.source_table)

    def _arrived_since(self, since: Since) -> sa.ColumnElement[bool]:
        # Each table from its own bookmark: a late load of one table is found even when
        # another table received rows more recently.
        ev = self.ev.c
        return sa.or_(
            *(
                sa.and_(
                    ev.source_table == label,
                    sa.true() if mark is None else ev.arrived >= naive_utc(mark),
                )
                for label, mark in since.items()
            )
        )

    def query(self, since: Since) -> sa.Select[t.Any]:
        """The SELECT whose rows become roll-up records (see the module's docstring)."""
        ev = self.ev.c
        touched = (
            sa.select(*(ev[k] for k in _KEY_COLUMNS))
            .where(self.valid, self._arrived_since(since))
            .distinct()
            .subquery("touched")
        )
        # Equality over normalised keys, which databases hash or merge: `IS NOT DISTINCT
        # FROM` is neither, and PostgreSQL joined rows x keys in a nested loop. '' is a
        # safe stand-in for NULL: ids and event names are never '' (_text_id).
        same_key = sa.and_(*(_normalised(ev[k]) == _normalised(touched.c[k]) for k in _KEY_COLUMNS))
        messages = (
            sa.select(
                *(ev[k] for k in _KEY_COLUMNS),
                ev.message_id,
                sa.func.min(ev.at).label("at"),
            )
            .select_from(self.ev.join(touched, same_key))
            .where(self.valid)
            .group_by(*(ev[k] for k in _KEY_COLUMNS), ev.message_id)
            .subquery("messages")
        )
        m = messages.c
        pair = [m[k] for k in _KEY_COLUMNS]
        ranked = sa.select(
            *pair,
            m.message_id,
            m.at,
            sa.func.row_number()
            .over(partition_by=pair, order_by=(m.at, m.message_id))
            .label("rank"),
            sa.func.count().over(partition_by=pair).label("n"),
            sa.func.min(m.at).over(partition_by=pair).label("first_at"),
            sa.func.max(m.at).over(partition_by=pair).label("last_at"),
        ).subquery("ranked")
        r = ranked.c
        return (
            sa.select(ranked)
            .where(r.rank <= self.first_events)
            .order_by(*(r[k] for k in _KEY_COLUMNS), r.rank)
        )

    def records(self, connection: Connection, since: Since) -> t.Iterator[dict]:
        """The `daily_rollups` records, one per (key, day) touched since `since`."""
        record: dict[str, t.Any] | None = None
        current: tuple[t.Any, ...] | None = None
        rows = connection.execution_options(yield_per=5_000).execute(self.query(since))
        for row in rows.mappings():
            key = tuple(row[k] for k in _KEY_COLUMNS)
            if key != current:
                if record is not None:
                    yield record
                current = key
                record = {
                    "userId": row["user_id"],
                    "anonymousId": row["anonymous_id"],
                    "accountId": row["account_id"],
                    "event": row["event"],
                    "day": _day_text(row["day"]),
                    "count": int(row["n"]),
                    "first_at": _instant_text(row["first_at"]),
                    "last_at": _instant_text(row["last_at"]),
                    "first_events": [],
                }
            assert record is not None
            record["first_events"].append(
                {"at": _instant_text(row["at"]), "messageId": row["message_id"]}
            )
        if record is not None:
            yield record

    def bad_rows(
        self, connection: Connection, since: Since
    ) -> t.Iterator[tuple[tuple[str, str], str]]:
        """((table, row key), reason) of rows left out of the roll-up (no time, identity...)."""
        ev = self.ev.c
        query = (
            sa.select(ev.source_table, ev.message_id, ev.at, ev.event, ev.user_id, ev.anonymous_id)
            .where(sa.not_(self.valid), self._arrived_since(since))
            .limit(_BAD_ROWS_SHOWN)
        )
        for row in connection.execute(query).mappings():
            key = f"id={row['message_id']}" if row["message_id"] else "a row without id"
            if row["message_id"] is None:
                reason = "no message id (id is null)"
            elif row["at"] is None:
                reason = "no time (timestamp, original_timestamp and received_at are null)"
            elif row["event"] is None:
                reason = "no event name"
            else:
                reason = "no identity (user_id and anonymous_id are null)"
            yield (f"table {row['source_table']}", key), reason


def _instant_text(value: object) -> str | None:
    if isinstance(value, dt.datetime):
        return format_instant(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    return None if value is None else str(value)


def _day_text(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]
