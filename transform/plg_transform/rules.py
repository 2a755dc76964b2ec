"""PQL, PQA, segments and lifecycle rules: SQL boolean expressions over a record's fields."""

from __future__ import annotations

import json
import typing as t

import duckdb
from singer_sdk.exceptions import ConfigValidationError

from plg_transform.config import Rule, Settings
from plg_transform.fields import RULE_OUTPUTS, computed_fields, passthrough_traits
from plg_transform.sql_text import ident


def _column_refs(node: t.Any, found: set[str]) -> None:
    if isinstance(node, dict):
        if node.get("class") == "COLUMN_REF" and node.get("column_names"):
            found.add(node["column_names"][-1])
        for value in node.values():
            _column_refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _column_refs(value, found)


def referenced_fields(con: duckdb.DuckDBPyConnection, rule: Rule) -> set[str]:
    """Field names a rule reads, from DuckDB's own parse tree.

    Raises:
        ValueError: when the expression does not parse as one SQL expression.
    """
    row = con.execute("SELECT json_serialize_sql(?)", [f"SELECT ({rule.when})"]).fetchone()
    tree = json.loads(row[0]) if row else {"error": True, "error_message": "no parse"}
    if tree.get("error"):
        raise ValueError(tree.get("error_message", "does not parse"))
    if len(tree.get("statements", [])) != 1:
        raise ValueError("must be a single SQL expression")
    found: set[str] = set()
    _column_refs(tree["statements"][0], found)
    return found


def metric_fields(settings: Settings) -> dict[str, set[str]]:
    """metric_* fields referenced by the rules of each kind (they read NULL without data)."""
    con = duckdb.connect()
    try:
        result: dict[str, set[str]] = {"user": set(), "account": set(), "membership": set()}
        for rule in settings.rules():
            names = referenced_fields(con, rule)
            result[rule.applies_to] |= {n for n in names if n.startswith("metric_")}
        return result
    finally:
        con.close()


def _empty_context(settings: Settings, kind: str, metrics: set[str]) -> str:
    cols = [f"CAST(NULL AS {f.sql_type}) AS {ident(f.name)}" for f in computed_fields(kind)]
    cols += [f"NULL AS {ident(name)}" for name in passthrough_traits(settings, kind)]
    cols += [f"NULL AS {ident(name)}" for name in sorted(metrics)]
    return "SELECT " + ", ".join(cols) + " FROM range(0)"


def check_rules(settings: Settings) -> None:
    """Compile every rule against the real output columns of its kind.

    Raises:
        ConfigValidationError: naming each rule that does not compile or reads an
            unknown field.
    """
    errors: list[str] = []
    con = duckdb.connect()
    try:
        for rule in settings.rules():
            kind = rule.applies_to
            known = {f.name for f in computed_fields(kind)} | set(
                passthrough_traits(settings, kind)
            )
            try:
                names = referenced_fields(con, rule)
            except (ValueError, duckdb.Error) as exc:
                errors.append(f"{rule.setting}: does not parse: {exc}")
                continue
            bad = sorted(n for n in names if n not in known and not n.startswith("metric_"))
            if bad:
                outputs = [n for n in bad if n in RULE_OUTPUTS[kind]]
                hint = (
                    f" (rule outputs {outputs} cannot be read by rules)"
                    if outputs
                    else f"; {kind} fields are: {', '.join(sorted(known))}"
                )
                errors.append(f"{rule.setting}: unknown field(s) {bad}{hint}")
                continue
            metrics = {n for n in names if n.startswith("metric_")}
            context = _empty_context(settings, kind, metrics)
            try:
                described = con.execute(
                    f"DESCRIBE SELECT ({rule.when}) AS r FROM ({context})"
                ).fetchall()
                con.execute(
                    f"SELECT first_seen_at, coalesce(({rule.when}), false) FROM ({context})"
                ).fetchall()
            except duckdb.Error as exc:
                errors.append(f"{rule.setting}: does not compile in DuckDB: {exc}")
                continue
            result_type = str(described[0][1])
            if result_type not in ("BOOLEAN", '"NULL"', "NULL"):
                errors.append(f"{rule.setting}: must be a boolean expression, got {result_type}")
    finally:
        con.close()
    if errors:
        raise ConfigValidationError("Invalid plg-transform settings", errors=errors)


def rule_columns(settings: Settings, kind: str) -> list[tuple[str, str]]:
    """(SQL expression, output field) of the rule outputs of a kind."""
    rules = [r for r in settings.rules() if r.applies_to == kind]
    out: list[tuple[str, str]] = []

    def truth(rule: Rule) -> str:
        return f"coalesce(CAST(({rule.when}) AS BOOLEAN), false)"

    if kind == "user":
        out.append((truth(settings.pql) if settings.pql else "false", "is_pql"))
    if kind == "account":
        out.append((truth(settings.pqa) if settings.pqa else "false", "is_pqa"))
    segs = [r for r in rules if r in settings.segments]
    names = ", ".join(f"CASE WHEN {truth(r)} THEN {_quote(r.name)} END" for r in segs)
    out.append((f"concat_ws(';', {names})" if segs else "''", "segments"))
    stages = [r for r in rules if r in settings.lifecycle]
    whens = " ".join(f"WHEN {truth(r)} THEN {_quote(r.name)}" for r in stages)
    out.append((f"CASE {whens} END" if stages else "CAST(NULL AS VARCHAR)", "lifecycle_stage"))
    return out


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
