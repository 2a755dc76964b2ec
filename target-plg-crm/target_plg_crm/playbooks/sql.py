"""The playbooks' SQL: `when` over records, `choose` over a company's members (DuckDB).

Records are judged as the CRM last accepted them (stored as JSON), so each column's SQL
type comes from its values: booleans BOOLEAN, integers BIGINT, other numbers DOUBLE,
strings VARCHAR, anything else JSON. A field no record holds reads NULL. `when` sees
one table named after the object (`company.is_pqa` or just `is_pqa`); `choose` sees
`membership` joined with `contact` (qualify a field both have).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

from target_plg_crm.property_plan import json_default
from target_plg_crm.record_filter import referenced_fields


class PlaybookSQLError(ValueError):
    """An expression failed on the records (a type mismatch, an ambiguous column...)."""


def _sql_type(values: Sequence[Any]) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "BOOLEAN"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "BIGINT"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "DOUBLE"
    if all(isinstance(v, str) for v in present):
        return "VARCHAR"
    return "JSON"


def _parameter(value: Any, sql_type: str) -> Any:
    if value is None:
        return None
    if sql_type == "JSON":
        return json.dumps(value, default=json_default)
    if sql_type == "DOUBLE":
        return float(value)
    return value


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table(records: Sequence[Mapping[str, Any]], wanted: set[str]) -> tuple[str, list[list[Any]]]:
    """`SELECT unnest(range(n)) AS plg_row, unnest(?) AS field...` and its parameters."""
    names = sorted({name for record in records for name in record} | wanted)
    columns, parameters = [], []
    for name in names:
        values = [record.get(name) for record in records]
        sql_type = _sql_type(values)
        cast = "VARCHAR" if sql_type == "JSON" else sql_type
        column = f"unnest(?::{cast}[])"
        if sql_type == "JSON":
            column = f"TRY_CAST({column} AS JSON)"
        columns.append(f"{column} AS {_ident(name)}")
        parameters.append([_parameter(v, sql_type) for v in values])
    select = ", ".join(["unnest(range(?)) AS plg_row", *columns])
    return f"SELECT {select}", [[len(records)], *parameters]


def _flatten(parameters: list[list[Any]]) -> list[Any]:
    """The `range(?)` parameter is a number, the others lists."""
    return [p[0] if i == 0 else p for i, p in enumerate(parameters)]


def _run(sql: str, parameters: list[Any]) -> list[int]:
    with duckdb.connect() as con:
        try:
            return [int(row[0]) for row in con.execute(sql, parameters).fetchall()]
        except duckdb.Error as error:
            raise PlaybookSQLError(str(error).splitlines()[0]) from None


def holding(expression: str, table: str, records: Sequence[Mapping[str, Any]]) -> set[int]:
    """Indexes of the records for which `expression` is true (NULL is not)."""
    if not records:
        return set()
    source, parameters = _table(records, referenced_fields(expression))
    sql = f"SELECT plg_row FROM ({source}) AS {_ident(table)} WHERE ({expression})"
    return set(_run(sql, _flatten(parameters)))


def chosen(
    where: str | None,
    order_by: str | None,
    limit: int,
    members: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
) -> list[int]:
    """Indexes of the (membership, contact) pairs `where` keeps, in `order_by`, at most
    `limit` (ties keep the members' order)."""
    if not members:
        return []
    wanted = referenced_fields(where) if where else set()
    held = {name for pair in members for record in pair for name in record}
    # A field neither has reads NULL (from the membership's side, so never ambiguous).
    membership_sql, membership_parameters = _table([m for m, _ in members], wanted - held)
    contact_sql, contact_parameters = _table([c for _, c in members], set())
    order = f"{order_by}, membership.plg_row" if order_by else "membership.plg_row"
    sql = (
        f"SELECT membership.plg_row FROM ({membership_sql}) AS membership "
        f"JOIN ({contact_sql}) AS contact ON membership.plg_row = contact.plg_row "
        f"WHERE ({where or 'TRUE'}) ORDER BY {order} LIMIT {int(limit)}"
    )
    parameters = _flatten(membership_parameters) + _flatten(contact_parameters)
    return _run(sql, parameters)
