"""Settings of the database and API sources: `events_sql`, `metrics_queries`, `metrics_endpoints`.

Declared once (for `--about` and config validation) and parsed once into dataclasses; each
problem is reported with the setting's dotted name.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from singer_sdk import typing as th
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tap_product_events.segment_messages import STREAM_NAMES

ENTITIES = ("user", "account", "membership")
PAGINATION_STYLES = ("none", "next_link", "link_header", "page", "offset")
ROLLED_UP_STREAMS = ("tracks", "pages", "screens")
DEFAULT_ARRIVAL_COLUMNS = ("uuid_ts", "loaded_at", "received_at")
_STRINGS = th.ArrayType(th.StringType)
_STRING_OR_STRINGS = th.CustomType(
    {"type": ["string", "array", "null"], "items": {"type": "string"}}
)

_URL_HELP = (
    "SQLAlchemy database URL, e.g. `postgresql+psycopg://user:password@host:5432/db` or "
    "`duckdb:////data/warehouse.duckdb` (the dialect's driver must be installed: extras "
    "`tap-product-events[postgres]`, `[duckdb]`). Secret: logs show it with the password "
    "masked."
)

SOURCE_PROPERTIES: tuple[th.Property, ...] = (
    th.Property(
        "events_sql",
        th.ObjectType(
            th.Property("url", th.StringType, required=True, secret=True, description=_URL_HELP),
            th.Property(
                "schema",
                th.StringType,
                description="Database schema holding the tables (default: the connection's).",
            ),
            th.Property(
                "tables",
                th.ObjectType(
                    *(
                        th.Property(
                            name,
                            _STRING_OR_STRINGS,
                            description=f"Table(s) of {name} messages (default `{name}`).",
                        )
                        for name in STREAM_NAMES
                    )
                ),
                description=(
                    "Table per message type when not named as in Segment's warehouse schema; "
                    "`tracks` may list several tables (Segment's per-event tables, each row a "
                    "whole track message with its properties). An empty list skips a type."
                ),
            ),
            th.Property(
                "columns",
                th.ObjectType(additional_properties=th.StringType),
                description=(
                    "Standard column name -> the column's name in your tables, e.g. "
                    '`{"id": "message_id", "uuid_ts": "_loaded_at"}` (applies to every table).'
                ),
            ),
            th.Property(
                "arrival_column",
                th.StringType,
                description=(
                    "Column telling when a row arrived in the database; runs read the rows "
                    "that arrived since the last run (never filtering on the event's own "
                    "time). Default: the first of `uuid_ts`, `loaded_at`, `received_at` that "
                    "the table has."
                ),
            ),
            th.Property(
                "overlap_minutes",
                th.IntegerType,
                default=60,
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
                description=(
                    "Push-down roll-up: instead of raw tracks, pages and screens, ask the "
                    "database for the `daily_rollups` stream (per user/anonymous id, account, "
                    "event and UTC day). identifies, groups and aliases still come raw."
                ),
            ),
            th.Property(
                "rollup_first_events",
                th.IntegerType,
                default=10,
                description=(
                    "How many earliest events (at, messageId) each roll-up row carries; at "
                    "least the transform's largest activation milestone `count`."
                ),
            ),
            th.Property(
                "account_columns",
                _STRINGS,
                description=(
                    "Columns of track/page/screen tables holding the account id for the "
                    "roll-up, first non-empty wins (default `context_group_id`, `group_id`: "
                    "the warehouse names of context.groupId and properties.groupId)."
                ),
            ),
            th.Property(
                "json_columns",
                _STRINGS,
                description=(
                    "Columns holding JSON text to parse (e.g. a `properties` column stored as "
                    "text). Columns named `context`, `properties` or `traits` always are."
                ),
            ),
            th.Property(
                "ignore_columns",
                _STRINGS,
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
                description=(
                    "Keys of rebuilt traits/properties: `columns` keeps the column names "
                    "(`plan_name`), `camel` turns them into camelCase (`planName`). Context "
                    "keys are always camelCase, as Segment writes them."
                ),
            ),
            th.Property(
                "connect_retries",
                th.IntegerType,
                default=3,
                description="Connection attempts after the first before the run fails.",
            ),
        ),
        title="SQL events source",
        description=(
            "Read Segment/RudderStack warehouse tables (tracks, identifies, groups, pages, "
            "screens, aliases) through SQLAlchemy and rebuild Segment-spec messages from the "
            "rows."
        ),
    ),
    th.Property(
        "metrics_queries",
        th.ArrayType(
            th.ObjectType(
                th.Property("name", th.StringType, required=True, description="Query name."),
                th.Property(
                    "url", th.StringType, required=True, secret=True, description=_URL_HELP
                ),
                th.Property("sql", th.StringType, required=True, description="The SELECT to run."),
                th.Property(
                    "entity",
                    th.StringType,
                    required=True,
                    allowed_values=list(ENTITIES),
                    description="What each row describes: user, account or membership.",
                ),
                th.Property(
                    "user_id_column",
                    th.StringType,
                    default="user_id",
                    description="Column of the user id (user and membership).",
                ),
                th.Property(
                    "account_id_column",
                    th.StringType,
                    default="account_id",
                    description="Column of the account id (account and membership).",
                ),
                th.Property(
                    "metric_columns",
                    _STRINGS,
                    description="Columns that are metrics (default: every other column).",
                ),
                th.Property(
                    "observed_at_column",
                    th.StringType,
                    description="Column of the observation time (default: the run's start).",
                ),
            )
        ),
        title="Backend metrics queries",
        description=(
            "Named SQL queries producing the `metrics` stream: one record per row and metric "
            "column, a snapshot of the current values on each run."
        ),
    ),
    th.Property(
        "metrics_endpoints",
        th.ArrayType(
            th.ObjectType(
                th.Property("name", th.StringType, required=True, description="Endpoint name."),
                th.Property("url", th.StringType, required=True, description="Full URL (GET)."),
                th.Property(
                    "auth_header",
                    th.StringType,
                    secret=True,
                    description="Value of the auth header, e.g. `Bearer <token>`. Secret.",
                ),
                th.Property(
                    "auth_header_name",
                    th.StringType,
                    default="Authorization",
                    description="Name of the auth header.",
                ),
                th.Property(
                    "params",
                    th.ObjectType(additional_properties=th.StringType),
                    description="Extra query parameters of every request.",
                ),
                th.Property(
                    "records_path",
                    th.StringType,
                    default="$[*]",
                    description="JSONPath of the records in a response, e.g. `$.data[*]`.",
                ),
                th.Property(
                    "pagination",
                    th.ObjectType(
                        th.Property(
                            "style",
                            th.StringType,
                            allowed_values=list(PAGINATION_STYLES),
                            description=(
                                "`next_link` (a URL in the body at `next_path`), "
                                "`link_header` (RFC 8288 `Link: <...>; rel=next`), `page` "
                                "(page numbers), `offset` (offset/limit) or `none`."
                            ),
                        ),
                        th.Property(
                            "next_path",
                            th.StringType,
                            default="$.next",
                            description="JSONPath of the next page's URL (`next_link`).",
                        ),
                        th.Property("page_param", th.StringType, default="page"),
                        th.Property("first_page", th.IntegerType, default=1),
                        th.Property("offset_param", th.StringType, default="offset"),
                        th.Property(
                            "size_param",
                            th.StringType,
                            description="Page size parameter (`per_page`, `limit`...).",
                        ),
                        th.Property("size", th.IntegerType, default=100),
                    ),
                    description="How to get the next page; stops at a page without records.",
                ),
                th.Property(
                    "entity",
                    th.StringType,
                    required=True,
                    allowed_values=list(ENTITIES),
                    description="What each record describes: user, account or membership.",
                ),
                th.Property("user_id_field", th.StringType, default="user_id"),
                th.Property("account_id_field", th.StringType, default="account_id"),
                th.Property(
                    "metric_fields",
                    _STRINGS,
                    description="Fields that are metrics (default: every other scalar field).",
                ),
                th.Property(
                    "observed_at_field",
                    th.StringType,
                    description="Field of the observation time (default: the run's start).",
                ),
            )
        ),
        title="Backend metrics endpoints",
        description=(
            "Internal JSON endpoints producing the `metrics` stream (singer-sdk REST "
            "stream: retries 429/5xx with backoff)."
        ),
    ),
)


@dataclass(frozen=True)
class SqlEventsSettings:
    """The `events_sql` source."""

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


@dataclass(frozen=True)
class MetricsQuery:
    """One named backend-metrics SQL query."""

    name: str
    url: str
    sql: str
    entity: str
    user_id_column: str
    account_id_column: str
    metric_columns: tuple[str, ...] | None
    observed_at_column: str | None


@dataclass(frozen=True)
class Pagination:
    """How a metrics endpoint pages."""

    style: str
    next_path: str
    page_param: str
    first_page: int
    offset_param: str
    size_param: str | None
    size: int


@dataclass(frozen=True)
class MetricsEndpoint:
    """One backend-metrics JSON endpoint."""

    name: str
    url: str
    auth_header: str | None
    auth_header_name: str
    params: dict[str, str]
    records_path: str
    pagination: Pagination
    entity: str
    user_id_field: str
    account_id_field: str
    metric_fields: tuple[str, ...] | None
    observed_at_field: str | None


class _Reader:
    """Reads typed values out of one settings object, collecting errors by dotted name."""

    def __init__(self, value: t.Mapping[str, t.Any], where: str, errors: list[str]) -> None:
        self.value, self.where, self.errors = value, where, errors

    def fail(self, key: str, problem: str) -> None:
        self.errors.append(f"{self.where}.{key}: {problem}")

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.value.get(key)
        if value is None or value == "":
            if required:
                self.fail(key, "required")
            return default
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {value!r}")
            return default
        return value.strip()

    def choice(self, key: str, allowed: tuple[str, ...], default: str | None = None) -> str:
        value = self.text(key, default, required=default is None)
        if value is not None and value not in allowed:
            self.fail(key, f"expected one of {', '.join(allowed)}, got {value!r}")
        return value or allowed[0]

    def integer(self, key: str, default: int, minimum: int) -> int:
        value = self.value.get(key, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(key, f"expected an integer >= {minimum}, got {value!r}")
            return default
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.value.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {value!r}")
            return default
        return value

    def names(self, key: str) -> tuple[str, ...] | None:
        value = self.value.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(key, f"expected a list of names, got {value!r}")
            return None
        return tuple(v.strip() for v in value)

    def mapping(self, key: str) -> dict[str, str]:
        value = self.value.get(key) or {}
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
        ):
            self.fail(key, f"expected an object of names, got {value!r}")
            return {}
        return {k: v.strip() for k, v in value.items()}

    def url(self, key: str) -> str:
        value = self.text(key, required=True) or ""
        if value:
            try:
                make_url(value)
            except ArgumentError:
                # Never echo the URL: it may hold a password.
                self.fail(key, "not a database URL (dialect+driver://user:password@host/db)")
        return value


def _object(value: object, where: str, errors: list[str]) -> t.Mapping[str, t.Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.append(f"{where}: expected an object, got {type(value).__name__}")
        return None
    return value


def parse_events_sql(value: object, errors: list[str]) -> SqlEventsSettings | None:
    """Parse `events_sql` (None when not set)."""
    config = _object(value, "events_sql", errors)
    if config is None:
        return None
    read = _Reader(config, "events_sql", errors)
    table_config = _object(config.get("tables") or {}, "events_sql.tables", errors) or {}
    unknown = sorted(set(table_config) - set(STREAM_NAMES))
    if unknown:
        read.fail(
            "tables", f"unknown message tables {unknown} (expected {', '.join(STREAM_NAMES)})"
        )
    tables_read = _Reader(table_config, "events_sql.tables", errors)
    tables: dict[str, tuple[str, ...]] = {}
    for stream in STREAM_NAMES:
        names = tables_read.names(stream) if stream in table_config else (stream,)
        tables[stream] = names or ()
    first_events = read.integer("rollup_first_events", 10, 1)
    return SqlEventsSettings(
        url=read.url("url"),
        schema=read.text("schema"),
        tables=tables,
        columns=read.mapping("columns"),
        arrival_column=read.text("arrival_column"),
        overlap_minutes=read.integer("overlap_minutes", 60, 0),
        rollup=read.flag("rollup", False),
        rollup_first_events=first_events,
        account_columns=read.names("account_columns") or ("context_group_id", "group_id"),
        json_columns=frozenset(read.names("json_columns") or ()),
        ignore_columns=frozenset(read.names("ignore_columns") or ()),
        camel_case_keys=read.choice("key_case", ("columns", "camel"), "columns") == "camel",
        connect_retries=read.integer("connect_retries", 3, 0),
    )


def _list_of_objects(value: object, where: str, errors: list[str]) -> list[t.Mapping[str, t.Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        errors.append(f"{where}: expected a list of objects")
        return []
    return value


def _unique_names(items: t.Sequence[t.Any], where: str, errors: list[str]) -> None:
    names = [item.name for item in items]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        errors.append(f"{where}: names must be unique, repeated: {duplicates}")


def parse_metrics_queries(value: object, errors: list[str]) -> tuple[MetricsQuery, ...]:
    """Parse `metrics_queries`."""
    queries = []
    for i, config in enumerate(_list_of_objects(value, "metrics_queries", errors)):
        read = _Reader(config, f"metrics_queries[{i}]", errors)
        queries.append(
            MetricsQuery(
                name=read.text("name", required=True) or f"query {i}",
                url=read.url("url"),
                sql=read.text("sql", required=True) or "",
                entity=read.choice("entity", ENTITIES),
                user_id_column=read.text("user_id_column", "user_id") or "user_id",
                account_id_column=read.text("account_id_column", "account_id") or "account_id",
                metric_columns=read.names("metric_columns"),
                observed_at_column=read.text("observed_at_column"),
            )
        )
    _unique_names(queries, "metrics_queries", errors)
    return tuple(queries)


def parse_metrics_endpoints(value: object, errors: list[str]) -> tuple[MetricsEndpoint, ...]:
    """Parse `metrics_endpoints`."""
    endpoints = []
    for i, config in enumerate(_list_of_objects(value, "metrics_endpoints", errors)):
        where = f"metrics_endpoints[{i}]"
        read = _Reader(config, where, errors)
        url = read.text("url", required=True) or ""
        if url and not url.startswith(("http://", "https://")):
            read.fail("url", "expected an http:// or https:// URL")
        paging = _Reader(
            _object(config.get("pagination") or {}, f"{where}.pagination", errors) or {},
            f"{where}.pagination",
            errors,
        )
        pagination = Pagination(
            style=paging.choice("style", PAGINATION_STYLES, "none"),
            next_path=paging.text("next_path", "$.next") or "$.next",
            page_param=paging.text("page_param", "page") or "page",
            first_page=paging.integer("first_page", 1, 0),
            offset_param=paging.text("offset_param", "offset") or "offset",
            size_param=paging.text("size_param"),
            size=paging.integer("size", 100, 1),
        )
        endpoints.append(
            MetricsEndpoint(
                name=read.text("name", required=True) or f"endpoint {i}",
                url=url,
                auth_header=read.text("auth_header"),
                auth_header_name=read.text("auth_header_name", "Authorization") or "Authorization",
                params=read.mapping("params"),
                records_path=read.text("records_path", "$[*]") or "$[*]",
                pagination=pagination,
                entity=read.choice("entity", ENTITIES),
                user_id_field=read.text("user_id_field", "user_id") or "user_id",
                account_id_field=read.text("account_id_field", "account_id") or "account_id",
                metric_fields=read.names("metric_fields"),
                observed_at_field=read.text("observed_at_field"),
            )
        )
    _unique_names(endpoints, "metrics_endpoints", errors)
    return tuple(endpoints)
