"""The `scores_sql` setting: where the dbt package (dbt/plg_scores) wrote the scores."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from singer_sdk import typing as th

from tap_product_events.setting_types import NAME
from tap_product_events.sources.sql_connection import DATABASE_URL_SETTING

SCORES_SQL = th.Property(
    "scores_sql",
    th.ObjectType(
        DATABASE_URL_SETTING,
        th.Property(
            "schema",
            NAME,
            title="Database schema",
            description="Schema of the dbt package's models (default: the connection's).",
        ),
        additional_properties=False,
    ),
    title="Scores in the warehouse",
    description=(
        "Read the contacts, companies and associations the dbt package dbt/plg_scores "
        "computed in the warehouse (its `plg_final_*` tables) and emit them as the streams "
        "plg-transform emits, for target-plg-crm: `meltano run dbt-duckdb:run "
        "tap-product-events target-plg-crm`. Every run emits every record (a snapshot)."
    ),
)


@dataclass(frozen=True)
class ScoresSqlSettings:
    """Where the dbt package's result tables are."""

    url: str
    schema: str | None

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> ScoresSqlSettings:
        """The settings of a validated `scores_sql` object."""
        return cls(url=config["url"], schema=config.get("schema"))
