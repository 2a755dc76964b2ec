"""The `companies`, `contacts` and `associations` streams of the `scores_sql` source.

Each stream's schema is the one plg-transform writes for the same settings (the dbt
package's `plg_stream_schemas` model, generated from the transform's code) plus one
property per backend metric found (`plg_metric_names`); its records are the rows of
`plg_final_<kind>` (score_records.py), in key order.
"""

from __future__ import annotations

import json
import typing as t

import singer_sdk.singerlib as singer
import sqlalchemy as sa
from singer_sdk import Stream
from singer_sdk.exceptions import FatalSyncError

from tap_product_events.sources.scores.score_records import (
    JSON_PREFIX,
    KEYS,
    KIND_OF_STREAM,
    STREAM_OF_KIND,
    score_record,
)
from tap_product_events.sources.scores.settings import ScoresSqlSettings
from tap_product_events.sources.sql_connection import failure_text, open_engine

if t.TYPE_CHECKING:
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context
    from sqlalchemy.engine import Engine

OUTPUT_ORDER = ("companies", "contacts", "associations")  # discovery order (the SDK sorts)


class ScoresMissingError(FatalSyncError):
    """The warehouse has no results of the dbt package (not run yet, or another schema)."""


def _table(name: str, schema: str | None) -> str:
    quoted = '"' + name + '"'
    return f'"{schema}".{quoted}' if schema else quoted


class ScoresReader:
    """The dbt package's result tables in one warehouse, read once per run."""

    def __init__(self, settings: ScoresSqlSettings, tap: Tap) -> None:
        self.settings = settings
        self.tap = tap
        self._engine: Engine | None = None
        self._metrics: dict[str, list[str]] | None = None

    @property
    def engine(self) -> Engine:
        """The warehouse connection (opened on first use, retried)."""
        if self._engine is None:
            self._engine = open_engine(self.settings.url, "scores_sql.url", self.tap.logger)
        return self._engine

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Columns and rows of a query on the results."""
        try:
            with self.engine.connect() as connection:
                result = connection.execute(sa.text(sql))
                return list(result.keys()), [tuple(row) for row in result]
        except sa.exc.DBAPIError as exc:
            reason = failure_text(exc, self.settings.url)
            raise ScoresMissingError(
                "scores_sql: cannot read the dbt package's results (run `dbt run` of "
                f"dbt/plg_scores first, into scores_sql.schema): {reason}"
            ) from None

    def metric_names(self, kind: str) -> list[str]:
        """Names of the backend metrics of an entity kind, sorted."""
        if self._metrics is None:
            _, rows = self.query(
                f"SELECT kind, metric FROM {_table('plg_metric_names', self.settings.schema)}"
            )
            found: dict[str, list[str]] = {}
            for row_kind, metric in rows:
                found.setdefault(str(row_kind), []).append(str(metric))
            self._metrics = {k: sorted(v) for k, v in found.items()}
        return self._metrics.get(kind, [])

    def schemas(self) -> dict[str, tuple[dict, list[str]]]:
        """(schema, key properties) of each stream, metric properties included."""
        _, rows = self.query(
            "SELECT stream, schema, key_properties FROM "
            + _table("plg_stream_schemas", self.settings.schema)
        )
        found = {}
        for stream, shape, keys in rows:
            schema = json.loads(shape)
            for name in self.metric_names(KIND_OF_STREAM[stream]):
                schema["properties"]["metric_" + name] = {}
            found[str(stream)] = (schema, list(json.loads(keys)))
        return found

    def records(self, stream: str) -> t.Iterator[dict[str, t.Any]]:
        """The records of one stream, in key order."""
        kind = KIND_OF_STREAM[stream]
        table = _table("plg_final_" + kind, self.settings.schema)
        names, _ = self.query(f"SELECT * FROM {table} WHERE 1 = 0")
        # JSON columns as their text, which every driver returns as is (some parse JSON).
        select = ", ".join(
            f'CAST("{n}" AS VARCHAR) AS "{n}"' if n.startswith(JSON_PREFIX) else f'"{n}"'
            for n in names
        )
        order = ", ".join(KEYS[kind])
        columns, rows = self.query(f"SELECT {select} FROM {table} ORDER BY {order}")
        metrics = self.metric_names(kind)
        for row in rows:
            yield score_record(columns, row, metrics)


class ScoreStream(Stream):
    """One of the transform's output streams, read from the warehouse."""

    def __init__(self, tap: Tap, reader: ScoresReader, name: str, schema: dict, keys: list[str]):
        super().__init__(tap, schema=schema, name=name)
        self.primary_keys = keys
        self.reader = reader
        self.full_schema = schema

    def _generate_schema_messages(self) -> t.Generator[singer.SchemaMessage, None, None]:
        """The SDK's SCHEMA messages, with the transform's schema kept whole.

        The SDK's catalog drops the annotations it does not know, such as `x-options`
        (the `segments` values target-plg-crm creates its picklists from).
        """
        for message in super()._generate_schema_messages():
            same_fields = set(message.schema.get("properties", {})) == set(
                self.full_schema["properties"]
            )
            if message.stream == self.name and same_fields:  # not changed by a stream map
                message.schema = self.full_schema
            yield message

    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        """Every record of the stream (a snapshot: no bookmark)."""
        yield from self.reader.records(self.name)


def score_streams(tap: Tap, settings: ScoresSqlSettings) -> list[Stream]:
    """The three streams, in the order plg-transform writes them."""
    reader = ScoresReader(settings, tap)
    schemas = reader.schemas()
    missing = [s for s in STREAM_OF_KIND.values() if s not in schemas]
    if missing:
        raise ScoresMissingError(f"scores_sql: plg_stream_schemas has no {', '.join(missing)}")
    return [ScoreStream(tap, reader, name, *schemas[name]) for name in OUTPUT_ORDER]
