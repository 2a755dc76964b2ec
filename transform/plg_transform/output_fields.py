"""The output fields of contacts, companies and associations: names, SQL and JSON types."""

from __future__ import annotations

from dataclasses import dataclass

from plg_transform.settings import Settings


@dataclass(frozen=True)
class Field:
    """One computed output field."""

    name: str
    sql_type: str  # type in the rule context
    json_type: str  # JSON schema type (nullable unless required)
    fmt: str | None = None  # "date-time" for timestamps
    nullable: bool = True


def _f(name: str, sql: str, js: str, *, fmt: str | None = None, null: bool = True) -> Field:
    return Field(name, sql, js, fmt, null)


COMMON = [
    _f("engagement_score", "INTEGER", "integer", null=False),
    _f("engagement_score_previous", "INTEGER", "integer", null=False),
    _f("engagement_trend", "INTEGER", "integer", null=False),
    _f("engagement_trend_label", "VARCHAR", "string", null=False),
    _f("active_days", "INTEGER", "integer", null=False),
    _f("score_reasons", "VARCHAR", "string", null=False),
    _f("last_active_at", "TIMESTAMP", "string", fmt="date-time"),
    _f("days_since_last_active", "INTEGER", "integer"),
    _f("first_seen_at", "TIMESTAMP", "string", fmt="date-time"),
    _f("tenure_days", "INTEGER", "integer"),
    _f("activation_steps_completed", "INTEGER", "integer", null=False),
    _f("activation_rate", "DOUBLE", "number"),
    _f("activated", "BOOLEAN", "boolean", null=False),
    _f("activated_at", "TIMESTAMP", "string", fmt="date-time"),
    _f("features_used", "VARCHAR", "string", null=False),
    _f("adoption_rate", "DOUBLE", "number"),
    _f("as_of", "TIMESTAMP", "string", fmt="date-time", null=False),
]

OWN = {
    "user": [
        _f("user_id", "VARCHAR", "string", null=False),
        _f("email", "VARCHAR", "string"),
        _f("primary_account_id", "VARCHAR", "string"),
    ],
    "account": [
        _f("account_id", "VARCHAR", "string", null=False),
        _f("name", "VARCHAR", "string"),
        _f("domain", "VARCHAR", "string"),
        _f("active_users", "INTEGER", "integer", null=False),
        _f("total_users", "INTEGER", "integer", null=False),
        _f("champion_user_id", "VARCHAR", "string"),
    ],
    "membership": [
        _f("user_id", "VARCHAR", "string", null=False),
        _f("account_id", "VARCHAR", "string", null=False),
        _f("email", "VARCHAR", "string"),
        _f("is_champion", "BOOLEAN", "boolean", null=False),
    ],
}

# Fields written by rules: not readable by rules.
RULE_OUTPUTS = {
    "user": ["is_pql", "segments", "lifecycle_stage"],
    "account": ["is_pqa", "segments", "lifecycle_stage"],
    "membership": ["segments", "lifecycle_stage"],
}

STREAMS = {"account": "companies", "user": "contacts", "membership": "associations"}
KEYS = {"user": ["user_id"], "account": ["account_id"], "membership": ["user_id", "account_id"]}
OUTPUT_ORDER = ("account", "user", "membership")


def computed_fields(kind: str) -> list[Field]:
    """The computed fields of a kind readable by rules, in output order."""
    return OWN[kind] + COMMON


def passthrough_traits(settings: Settings, kind: str) -> tuple[str, ...]:
    """Trait names copied as fields for an entity kind."""
    if kind == "user":
        return settings.user_traits
    if kind == "account":
        return settings.account_traits
    return settings.membership_traits
