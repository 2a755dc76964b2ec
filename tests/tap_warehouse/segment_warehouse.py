"""Load Segment-spec messages into tables shaped like Segment's warehouse schema.

The reverse of the tap's rebuild, written independently: one table per message type,
`messageId` -> `id`, context keys -> `context_<snake_case>`, a track's properties and an
identify's or group's traits -> one snake_case column each, `event_text` holding the
event name and `event` its slug, `uuid_ts` the load time.
"""

from __future__ import annotations

import datetime as dt
import re
import typing as t

import sqlalchemy as sa

TABLE_OF_TYPE = {
    "track": "tracks",
    "identify": "identifies",
    "group": "groups",
    "page": "pages",
    "screen": "screens",
    "alias": "aliases",
}
TIMES = {
    "timestamp": "timestamp",
    "originalTimestamp": "original_timestamp",
    "sentAt": "sent_at",
    "receivedAt": "received_at",
}


def snake_case(name: str) -> str:
    """`groupId` -> `group_id`, `Report Viewed` -> `report_viewed`."""
    return re.sub(r"[^a-z0-9]+", "_", re.sub(r"([A-Z])", r"_\1", name).lower()).strip("_")


def instant(text: str) -> dt.datetime:
    """An ISO 8601 string as an aware datetime."""
    return dt.datetime.fromisoformat(text)


def warehouse_row(message: dict[str, t.Any], loaded_at: dt.datetime | None = None) -> dict:
    """The row Segment's warehouse loader would write for one message."""
    row: dict[str, t.Any] = {
        "id": message.get("messageId"),
        "user_id": message.get("userId"),
        "anonymous_id": message.get("anonymousId"),
    }
    for field, column in TIMES.items():
        row[column] = instant(message[field]) if message.get(field) else None
    row["uuid_ts"] = loaded_at or (
        instant(message["receivedAt"]) + dt.timedelta(seconds=30)
        if message.get("receivedAt")
        else dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    for key, value in (message.get("context") or {}).items():
        row["context_" + snake_case(key)] = value
    kind = message["type"]
    if kind == "track":
        row["event"] = snake_case(message["event"]) if message.get("event") else None
        row["event_text"] = message.get("event")
    if kind in ("page", "screen"):
        row["name"] = message.get("name")
    if kind == "group":
        row["group_id"] = message.get("groupId")
    if kind == "alias":
        row["previous_id"] = message.get("previousId")
    extra = message.get("properties") if kind in ("track", "page", "screen") else None
    if kind in ("identify", "group"):
        extra = message.get("traits")
    for key, value in (extra or {}).items():
        row[snake_case(key)] = value
    return row


def _column_type(values: list[t.Any]) -> sa.types.TypeEngine[t.Any]:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return sa.Boolean()
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return sa.BigInteger()
    if present and all(isinstance(v, int | float) for v in present):
        return sa.Float()
    if present and all(isinstance(v, dt.datetime) for v in present):
        return sa.DateTime(timezone=True)
    return sa.Text()


def load_rows(url: str, table_rows: t.Mapping[str, list[dict[str, t.Any]]]) -> None:
    """Create (or extend) tables and insert rows; new columns are added as needed."""
    engine = sa.create_engine(url)
    inspector = sa.inspect(engine)
    existing = set(inspector.get_table_names())
    with engine.begin() as connection:
        for name, rows in table_rows.items():
            if not rows:
                continue
            columns: dict[str, list[t.Any]] = {}
            for row in rows:
                for key, value in row.items():
                    columns.setdefault(key, []).append(value)
            if name not in existing:
                sa.Table(
                    name,
                    sa.MetaData(),
                    *(sa.Column(c, _column_type(v)) for c, v in columns.items()),
                ).create(connection)
            else:
                have = {c["name"] for c in sa.inspect(connection).get_columns(name)}
                for c, v in columns.items():
                    if c not in have:
                        kind = _column_type(v).compile(dialect=engine.dialect)
                        connection.execute(sa.text(f'ALTER TABLE {name} ADD COLUMN "{c}" {kind}'))
            have_columns = sa.inspect(connection).get_columns(name)
            table = sa.Table(
                name, sa.MetaData(), *(sa.Column(c["name"], c["type"]) for c in have_columns)
            )
            full = [{c: row.get(c) for c in columns} for row in rows]
            connection.execute(table.insert(), full)
    engine.dispose()


def load_messages(
    url: str, messages: t.Iterable[dict[str, t.Any]], loaded_at: dt.datetime | None = None
) -> None:
    """Load Segment messages as the warehouse would (one table per type)."""
    tables: dict[str, list[dict[str, t.Any]]] = {}
    for message in messages:
        tables.setdefault(TABLE_OF_TYPE[message["type"]], []).append(
            warehouse_row(message, loaded_at)
        )
    load_rows(url, tables)
