"""The tables of a schema and their columns, read in a way that works on every driver version.

SQLAlchemy's reflection is used where it is reliable (PostgreSQL and other dialects). DuckDB
is read from its own `information_schema` instead: duckdb-engine (up to 0.17 at least)
borrows PostgreSQL's reflection queries, which name `pg_catalog` tables DuckDB does not
have in full (`pg_collation` from SQLAlchemy 2.0.45 on, joined to `pg_namespace` in 2.1),
so reflecting a column fails on every table with those versions.
"""

from __future__ import annotations

import re
import typing as t

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

# DuckDB's `information_schema.columns.data_type` -> the SQLAlchemy type the source needs.
# Only time types matter to the source (the arrival column is compared as a time); numbers
# keep the types reflection gave them; anything else (VARCHAR, JSON, UUID, STRUCT, lists)
# is read as the driver returns it.
_DUCKDB_TYPES: tuple[tuple[re.Pattern[str], t.Callable[[], sa.types.TypeEngine[t.Any]]], ...] = (
    (re.compile(r"TIMESTAMP WITH TIME ZONE|TIMESTAMPTZ"), lambda: sa.DateTime(timezone=True)),
    (re.compile(r"TIMESTAMP(_S|_MS|_NS)?"), sa.DateTime),
    (re.compile(r"DATE"), sa.Date),
    (re.compile(r"TIME"), sa.Time),
    (re.compile(r"BOOLEAN"), sa.Boolean),
    (re.compile(r"U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)"), sa.BigInteger),
    (re.compile(r"DOUBLE|FLOAT|REAL"), sa.Float),
    (re.compile(r"DECIMAL(\(\d+, ?\d+\))?"), sa.Numeric),
    (re.compile(r"VARCHAR|JSON"), sa.String),
)


def duckdb_type(data_type: str) -> sa.types.TypeEngine[t.Any]:
    """The SQLAlchemy type of a DuckDB column, from its `information_schema` data_type."""
    text = data_type.strip().upper()
    for pattern, make in _DUCKDB_TYPES:
        if pattern.fullmatch(text):
            return make()
    return sa.types.NullType()


def _duckdb_place(connection: Connection, schema: str | None) -> tuple[str, str]:
    """(catalog, schema) of a `schema` setting: `db.schema`, `schema`, or the current one."""
    if schema and "." in schema:
        catalog, _, name = schema.partition(".")
        return catalog, name
    row = connection.execute(sa.text("SELECT current_database(), current_schema()")).one()
    return str(row[0]), schema or str(row[1])


def table_names(engine: Engine, schema: str | None) -> set[str]:
    """The names of the tables and views of `schema` (None: the connection's)."""
    if engine.dialect.name != "duckdb":
        inspector = sa.inspect(engine)
        return set(inspector.get_table_names(schema=schema)) | set(
            inspector.get_view_names(schema=schema)
        )
    with engine.connect() as connection:
        catalog, name = _duckdb_place(connection, schema)
        rows = connection.execute(
            sa.text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_catalog = :catalog AND table_schema = :schema"
            ),
            {"catalog": catalog, "schema": name},
        )
        return {str(row[0]) for row in rows}


def table_columns(
    engine: Engine, name: str, schema: str | None
) -> list[tuple[str, sa.types.TypeEngine[t.Any]]]:
    """(name, type) of each column of a table, in the table's order.

    Raises sqlalchemy's NoSuchTableError when the table has no column to read (gone, or
    not visible to the connection's user).
    """
    if engine.dialect.name != "duckdb":
        columns = sa.inspect(engine).get_columns(name, schema=schema)
        return [(str(c["name"]), c["type"]) for c in columns]
    with engine.connect() as connection:
        catalog, schema_name = _duckdb_place(connection, schema)
        rows = connection.execute(
            sa.text(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_catalog = :catalog AND table_schema = :schema "
                "AND table_name = :name ORDER BY ordinal_position"
            ),
            {"catalog": catalog, "schema": schema_name, "name": name},
        ).all()
    if not rows:
        raise sa.exc.NoSuchTableError(name)
    return [(str(column), duckdb_type(str(data_type))) for column, data_type in rows]
