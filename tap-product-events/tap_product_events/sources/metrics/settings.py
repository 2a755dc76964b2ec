"""The `metrics_queries` and `metrics_endpoints` settings: where backend metrics come from."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from singer_sdk import typing as th

from tap_product_events.setting_types import NAME, names
from tap_product_events.sources.sql_connection import DATABASE_URL_SETTING

ENTITIES = ("user", "account", "membership")
PAGINATION_STYLES = ("none", "next_link", "link_header", "page", "offset")


def _entity(what: str) -> th.Property[str]:
    return th.Property(
        "entity",
        th.StringType,
        required=True,
        allowed_values=list(ENTITIES),
        title="Entity",
        description=f"What each {what} describes: user, account or membership.",
    )


def _source_name(what: str) -> th.Property[str]:
    return th.Property(
        "name",
        NAME,
        required=True,
        title="Name",
        description=f"The {what}'s name, unique among them; reports name it.",
    )


METRICS_QUERIES = th.Property(
    "metrics_queries",
    th.ArrayType(
        th.ObjectType(
            _source_name("query"),
            DATABASE_URL_SETTING,
            th.Property(
                "sql",
                th.StringType(min_length=1),
                required=True,
                title="SQL",
                description="The SELECT to run.",
            ),
            _entity("row"),
            th.Property(
                "user_id_column",
                NAME,
                default="user_id",
                title="User id column",
                description="Column of the user id (user and membership).",
            ),
            th.Property(
                "account_id_column",
                NAME,
                default="account_id",
                title="Account id column",
                description="Column of the account id (account and membership).",
            ),
            th.Property(
                "metric_columns",
                names(min_items=1),
                title="Metric columns",
                description="Columns that are metrics (default: every other column).",
            ),
            th.Property(
                "observed_at_column",
                NAME,
                title="Observed-at column",
                description="Column of the observation time (default: the run's start).",
            ),
            additional_properties=False,
        )
    ),
    title="Backend metrics queries",
    description=(
        "Named SQL queries producing the `metrics` stream: one record per row and metric "
        "column, a snapshot of the current values on each run."
    ),
)

_PAGINATION = th.ObjectType(
    th.Property(
        "style",
        th.StringType,
        default="none",
        allowed_values=list(PAGINATION_STYLES),
        title="Style",
        description=(
            "`next_link` (a URL in the body at `next_path`), `link_header` (RFC 8288 "
            "`Link: <...>; rel=next`), `page` (page numbers), `offset` (offset/limit) or "
            "`none`."
        ),
    ),
    th.Property(
        "next_path",
        NAME,
        default="$.next",
        title="Next link path",
        description="JSONPath of the next page's URL (`next_link`).",
    ),
    th.Property(
        "page_param",
        NAME,
        default="page",
        title="Page parameter",
        description="Query parameter of the page number (`page`).",
    ),
    th.Property(
        "first_page",
        th.IntegerType(minimum=0),
        default=1,
        title="First page",
        description="Number of the first page (`page`).",
    ),
    th.Property(
        "offset_param",
        NAME,
        default="offset",
        title="Offset parameter",
        description="Query parameter of the offset (`offset`).",
    ),
    th.Property(
        "size_param",
        NAME,
        title="Page size parameter",
        description=(
            "Query parameter of the page size (`per_page`, `limit`...); when set, a page "
            "shorter than `size` is the last."
        ),
    ),
    th.Property(
        "size",
        th.IntegerType(minimum=1),
        default=100,
        title="Page size",
        description="Records per page asked for with `size_param` (`offset` steps by it).",
    ),
    additional_properties=False,
)

METRICS_ENDPOINTS = th.Property(
    "metrics_endpoints",
    th.ArrayType(
        th.ObjectType(
            _source_name("endpoint"),
            th.Property(
                "url",
                th.StringType(min_length=1),
                required=True,
                title="URL",
                description="Full http:// or https:// URL (GET).",
            ),
            th.Property(
                "auth_header",
                th.StringType,
                secret=True,
                title="Auth header value",
                description="Value of the auth header, e.g. `Bearer <token>`. Secret.",
            ),
            th.Property(
                "auth_header_name",
                NAME,
                default="Authorization",
                title="Auth header name",
                description="Name of the auth header.",
            ),
            th.Property(
                "params",
                th.ObjectType(additional_properties=th.StringType),
                default={},
                secret=True,
                title="Query parameters",
                description=(
                    "Extra query parameters of every request (name -> value). Secret, as "
                    "an API key may be one of them."
                ),
            ),
            th.Property(
                "records_path",
                NAME,
                default="$[*]",
                title="Records path",
                description="JSONPath of the records in a response, e.g. `$.data[*]`.",
            ),
            th.Property(
                "pagination",
                _PAGINATION,
                default={},
                title="Pagination",
                description="How to get the next page; stops at a page without records.",
            ),
            _entity("record"),
            th.Property(
                "user_id_field",
                NAME,
                default="user_id",
                title="User id field",
                description="Field of the user id (user and membership).",
            ),
            th.Property(
                "account_id_field",
                NAME,
                default="account_id",
                title="Account id field",
                description="Field of the account id (account and membership).",
            ),
            th.Property(
                "metric_fields",
                names(min_items=1),
                title="Metric fields",
                description="Fields that are metrics (default: every other scalar field).",
            ),
            th.Property(
                "observed_at_field",
                NAME,
                title="Observed-at field",
                description="Field of the observation time (default: the run's start).",
            ),
            additional_properties=False,
        )
    ),
    title="Backend metrics endpoints",
    description=(
        "Internal JSON endpoints producing the `metrics` stream (singer-sdk REST "
        "stream: retries 429/5xx with backoff)."
    ),
)


def _optional_names(value: t.Sequence[str] | None) -> tuple[str, ...] | None:
    return tuple(value) if value is not None else None


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

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> MetricsQuery:
        """The query of one validated `metrics_queries` item."""
        return cls(
            name=config["name"],
            url=config["url"],
            sql=config["sql"],
            entity=config["entity"],
            user_id_column=config["user_id_column"],
            account_id_column=config["account_id_column"],
            metric_columns=_optional_names(config.get("metric_columns")),
            observed_at_column=config.get("observed_at_column"),
        )


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

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> Pagination:
        """The paging of one validated `pagination` object."""
        return cls(
            style=config["style"],
            next_path=config["next_path"],
            page_param=config["page_param"],
            first_page=config["first_page"],
            offset_param=config["offset_param"],
            size_param=config.get("size_param"),
            size=config["size"],
        )


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

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> MetricsEndpoint:
        """The endpoint of one validated `metrics_endpoints` item."""
        return cls(
            name=config["name"],
            url=config["url"],
            auth_header=config.get("auth_header") or None,
            auth_header_name=config["auth_header_name"],
            params=dict(config["params"]),
            records_path=config["records_path"],
            pagination=Pagination.from_config(config["pagination"]),
            entity=config["entity"],
            user_id_field=config["user_id_field"],
            account_id_field=config["account_id_field"],
            metric_fields=_optional_names(config.get("metric_fields")),
            observed_at_field=config.get("observed_at_field"),
        )
