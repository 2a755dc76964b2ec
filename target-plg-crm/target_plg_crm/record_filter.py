"""`sync_filter`: a DuckDB SQL boolean over a record's fields deciding which records sync.

The expression is parsed at start-up (a syntax error is a config error naming the
setting); the fields it reads are checked against the stream's SCHEMA when it arrives.
Each field is read with the SQL type its SCHEMA declares (integer -> BIGINT, number ->
DOUBLE, boolean -> BOOLEAN, date-time -> TIMESTAMP, other strings -> VARCHAR, anything
else -> JSON). A batch is evaluated in one query; if the query fails for a value, the
records are evaluated one by one and those that fail are left out (and reported).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from target_plg_crm.property_plan import json_default


class FilterSchemaError(ValueError):
    """The filter reads fields the stream's SCHEMA lacks, or is not a boolean over them."""


def _column_refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        if node.get("class") == "COLUMN_REF" and node.get("column_names"):
            found.add(node["column_names"][-1])
        for value in node.values():
            _column_refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _column_refs(value, found)


def referenced_fields(expression: str) -> set[str]:
    """The fields `expression` reads (DuckDB's parse tree); ValueError if it does not parse."""
    with duckdb.connect() as con:
        row = con.execute("SELECT json_serialize_sql(?)", [f"SELECT ({expression})"]).fetchall()
    tree: dict[str, Any] = json.loads(row[0][0]) if row else {"error": True}
    if tree.get("error"):
        raise ValueError(f"does not parse: {tree.get('error_message', 'syntax error')}")
    statements = tree.get("statements") or []
    node = statements[0].get("node", {}) if len(statements) == 1 else {}
    if len(statements) != 1 or node.get("from_table", {}).get("type") != "EMPTY":
        raise ValueError("must be one SQL expression")
    if len(node.get("select_list") or []) != 1:
        raise ValueError("must be one SQL expression (no top-level comma)")
    found: set[str] = set()
    _column_refs(statements[0], found)
    return found


def _sql_type(schema: Mapping[str, Any]) -> str:
    types: set[str] = set()
    formats: set[str] = set()
    options = [schema, *(schema.get("anyOf") or []), *(schema.get("oneOf") or [])]
    for option in options:
        declared = option.get("type")
        types.update([declared] if isinstance(declared, str) else declared or [])
        if option.get("format"):
            formats.add(option["format"])
    types.discard("null")
    if types == {"integer"}:
        return "BIGINT"
    if types and types <= {"integer", "number"}:
        return "DOUBLE"
    if types == {"boolean"}:
        return "BOOLEAN"
    if types == {"string"}:
        return "TIMESTAMP" if "date-time" in formats else "VARCHAR"
    return "JSON"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _parameter(value: Any, sql_type: str) -> Any:
    if value is None:
        return None
    if sql_type == "JSON":
        return json.dumps(value, default=json_default)
    if sql_type in ("VARCHAR", "TIMESTAMP"):
        return value if isinstance(value, str) else json.dumps(value, default=json_default)
    if sql_type == "BOOLEAN":
        return value if isinstance(value, bool) else None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None  # a value of another type than the SCHEMA says reads NULL
    return float(value) if sql_type == "DOUBLE" else value


@dataclass
class RecordFilter:
    """One stream's filter, bound to that stream's SCHEMA."""

    setting: str
    expression: str
    columns: dict[str, str]  # field -> SQL type
    failures: list[str] = field(default_factory=list)

    @classmethod
    def for_schema(cls, setting: str, expression: str, schema: Mapping[str, Any]) -> RecordFilter:
        """Bind `expression` to the stream's fields; FilterSchemaError names the unknown ones."""
        fields = schema.get("properties") or {}
        used = referenced_fields(expression)
        unknown = sorted(used - set(fields))
        if unknown:
            raise FilterSchemaError(
                f"`{setting}`: unknown field(s) {unknown}; the stream has {sorted(fields)}"
            )
        bound = cls(setting, expression, {f: _sql_type(fields[f] or {}) for f in sorted(used)})
        with duckdb.connect() as con:
            try:
                bound._run(con, [])
            except duckdb.Error as error:
                message = str(error).splitlines()[0]
                raise FilterSchemaError(f"`{setting}`: cannot be evaluated: {message}") from error
        return bound

    def _query(self, count: int) -> str:
        columns = ", ".join(
            f"TRY_CAST(unnest(?::VARCHAR[]) AS {t}) AS {_ident(f)}"
            if t in ("TIMESTAMP", "JSON")
            else f"unnest(?::{t}[]) AS {_ident(f)}"
            for f, t in self.columns.items()
        )
        source = f"SELECT unnest(range({count})) AS plg_row{', ' + columns if columns else ''}"
        return f"SELECT plg_row FROM ({source}) WHERE ({self.expression})"

    def _run(
        self, con: duckdb.DuckDBPyConnection, records: Sequence[Mapping[str, Any]]
    ) -> set[int]:
        parameters = [[_parameter(r.get(f), t) for r in records] for f, t in self.columns.items()]
        rows = con.execute(self._query(len(records)), parameters).fetchall()
        return {int(row[0]) for row in rows}

    def keep(self, records: Sequence[Mapping[str, Any]]) -> list[bool]:
        """Whether each record passes (NULL and errors: it does not)."""
        if not records:
            return []
        with duckdb.connect() as con:
            try:
                kept = self._run(con, records)
            except duckdb.Error:
                kept = set()
                for index, record in enumerate(records):
                    try:
                        if self._run(con, [record]):
                            kept.add(index)
                    except duckdb.Error as error:
                        self.failures.append(str(error).splitlines()[0])
        return [index in kept for index in range(len(records))]
