"""The `events_sql` setting: which warehouse tables the tap reads, and how."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from singer_sdk import typing as th

from tap_product_events.segment_messages import STREAM_NAMES
from tap_product_events.setting_types import NAME, NAME_OR_NAMES, names
from tap_product_events.sources.sql_connection import DATABASE_URL_SETTING

ROLLED_UP_STREAMS = ("tracks", "pages", "screens")
DEFAULT_ARRIVAL_COLUMNS = ("uuid_ts", "loaded_at", "received_at")

EVENTS_SQL = th.Property(
    "events_sql",
    th.ObjectType(
        DATABASE_URL_SETTING,
        th.Property(
            "schema",
            NAME,
            title="Database schema",
            description="Database schema holding the tables (default: the connection's).",
        ),
        th.Property(
            "tables",
            th.ObjectType(
                *(
                    th.Property(
                        name,
                        NAME_OR_NAMES,
                        default=name,
                        title=f"{name.capitalize()} tables",
                        description=f"Table(s) of {name} messages; an empty list skips them.",
                    )
                    for name in STREAM_NAMES
                ),
                additional_properties=False,
            ),
            default={},
            title="Tables",
            description=(
                "Table per message type when not named as in Segment's warehouse schema; "
                "`tracks` may list several tables (Segment's per-event tables, each row a "
                "whole track message with its properties). An empty list skips a type."
            ),
        ),
        th.Property(
            "columns",
            th.ObjectType(additional_properties=NAME),
            default={},
            title="Column names",
            description=(
                "Standard column name -> the column's name in your tables, e.g. "
                '`{"id": "message_id", "uuid_ts": "_loaded_at"}` (applies to every table).'
            ),
        ),
        th.Property(
            "arrival_column",
            NAME,
            title="Arrival column",
            description=(
                "Column telling when a row arrived in the database; runs read the rows "
                "that arrived since the last run (never filtering on the event's own "
                "time). Default: the first of `uuid_ts`, `loaded_at`, `received_at` that "
                "the table has."
            ),
        ),
        th.Property(
            "overlap_minutes",
            th.IntegerType(minimum=0),
            default=60,
            title="Overlap (minutes)",
            description=(
                "Look-back: each run re-reads rows that arrived up to this many minutes "
                "before the bookmark, for rows that committed late. The re-delivered "
                "messages keep their messageId, so the transform counts them once."
            ),
        ),
        th.Property(
            "rollup",
            th.BooleanType,
            default=False,
            title="Push-down daily roll-up",
            description=(
                "Push-down roll-up: instead of raw tracks, pages and screens, ask the "
                "database for the `daily_rollups` stream (per user/anonymous id, account, "
                "event and UTC day). identifies, groups and aliases still come raw."
            ),
        ),
        th.Property(
            "rollup_first_events",
            th.IntegerType(minimum=1),
            default=10,
            title="Roll-up first events",
            description=(
                "How many earliest events (at, messageId) each roll-up row carries; at "
                "least the transform's largest activation milestone `count`."
            ),
        ),
        th.Property(
            "account_columns",
            names(min_items=1),
            default=["context_group_id", "group_id"],
            title="Account columns",
            description=(
                "Columns of track/page/screen tables holding the account id for the "
                "roll-up, first non-empty wins (the warehouse names of context.groupId "
                "and properties.groupId by default)."
            ),
        ),
        th.Property(
            "json_columns",
            names(),
            default=[],
            title="JSON columns",
            description=(
                "Columns holding JSON text to parse (e.g. a `properties` column stored as "
                "text). Columns named `context`, `properties` or `traits` always are."
            ),
        ),
        th.Property(
            "ignore_columns",
            names(),
            default=[],
            title="Ignored columns",
            description=(
                "Further columns to leave out of the rebuilt messages (always left out: "
                "`uuid`, `uuid_ts`, `loaded_at`, the arrival column, `event_text`)."
            ),
        ),
        th.Property(
            "key_case",
            th.StringType,
            default="columns",
            allowed_values=["columns", "camel"],
            title="Key case",
            description=(
                "Keys of rebuilt traits/properties: `columns` keeps the column names "
                "(`plan_name`), `camel` turns them into camelCase (`planName`). Context "
                "keys are always camelCase, as Segment writes them."
            ),
        ),
        th.Property(
            "connect_retries",
            th.IntegerType(minimum=0),
            default=3,
            title="Connection retries",
            description="Connection attempts after the first before the run fails.",
        ),
        additional_properties=False,
    ),
    title="SQL events source",
    description=(
        "Read Segment/RudderStack warehouse tables (tracks, identifies, groups, pages, "
        "screens, aliases) through SQLAlchemy and rebuild Segment-spec messages from the "
        "rows."
    ),
)


@dataclass(frozen=True)
class SqlEventsSettings:
    """The `events_sql` source, from the validated config (defaults filled in)."""

    url: str
    schema: str | None
    tables: dict[str, tuple[str, ...]]
    columns: dict[str, str]
    arrival_column: str | None
    overlap_minutes: int
    rollup: bool
    rollup_first_events: int
    account_columns: tuple[str, ...]
    json_columns: frozenset[str]
    ignore_columns: frozenset[str]
    camel_case_keys: bool
    connect_retries: int

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> SqlEventsSettings:
        """The settings of a validated `events_sql` object."""
        # One table name, or a list of them (an empty list skips the message type).
        tables: dict[str, tuple[str, ...]] = {
            stream: (value,) if isinstance(value, str) else tuple(value)
            for stream, value in config["tables"].items()
        }
        return cls(
            url=config["url"],
            schema=config.get("schema"),
            tables={stream: tables[stream] for stream in STREAM_NAMES},
            columns=dict(config["columns"]),
            arrival_column=config.get("arrival_column"),
            overlap_minutes=config["overlap_minutes"],
            rollup=config["rollup"],
            rollup_first_events=config["rollup_first_events"],
            account_columns=tuple(config["account_columns"]),
            json_columns=frozenset(config["json_columns"]),
            ignore_columns=frozenset(config["ignore_columns"]),
            camel_case_keys=config["key_case"] == "camel",
            connect_retries=config["connect_retries"],
        )
