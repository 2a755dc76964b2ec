"""Create tables of given rows in any schema (warehouses keep a schema per source).

Column types follow the values: booleans, integers, floats, aware datetimes (timestamptz),
naive datetimes (a `timestamp` holding UTC, as Redshift keeps them), else text.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import sqlalchemy as sa


def _column_type(values: list[t.Any]) -> sa.types.TypeEngine[t.Any]:
    present = [v for v in values if v is not None]
    if not present:
        return sa.Text()
    if all(isinstance(v, bool) for v in present):
        return sa.Boolean()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return sa.BigInteger()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return sa.Float()
    if all(isinstance(v, dt.datetime) for v in present):
        return sa.DateTime(timezone=present[0].tzinfo is not None)
    return sa.Text()


def create_tables(
    url: str,
    table_rows: t.Mapping[str, list[dict[str, t.Any]]],
    schema: str | None = None,
) -> None:
    """Create each table (in `schema`, created if missing) with the union of its rows' keys."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        if schema is not None:
            connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        for name, rows in table_rows.items():
            columns: dict[str, list[t.Any]] = {}
            for row in rows:
                for key, value in row.items():
                    columns.setdefault(key, []).append(value)
            table = sa.Table(
                name,
                sa.MetaData(),
                *(sa.Column(c, _column_type(v)) for c, v in columns.items()),
                schema=schema,
            )
            table.create(connection)
            if rows:
                connection.execute(table.insert(), [{c: r.get(c) for c in columns} for r in rows])
    engine.dispose()


def insert_rows(
    url: str, name: str, rows: list[dict[str, t.Any]], schema: str | None = None
) -> None:
    """Append rows to an existing table (a later load)."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        # Columns only: full reflection (constraints) is not supported by every dialect.
        columns = sa.inspect(connection).get_columns(name, schema=schema)
        table = sa.Table(
            name, sa.MetaData(), *(sa.Column(c["name"], c["type"]) for c in columns), schema=schema
        )
        connection.execute(table.insert(), rows)
    engine.dispose()
