"""PQL, PQA, segments and lifecycle rules: SQL boolean expressions over a record's fields.

Traits and backend metrics are JSON values whose type may differ between entities (120
on one account, "lots" on another). Each record reads them with the SQL type of its own
JSON value, so a rule is evaluated once per combination of value types present, and a
record for which the rule cannot be evaluated (a binder or conversion error) gets false
and is reported, leaving every other record unaffected.
"""

from __future__ import annotations

import json
import logging
import typing as t
from dataclasses import dataclass

import duckdb

from plg_transform.output_fields import (
    KEYS,
    STREAMS,
)
from plg_transform.settings import Rule, Settings
from plg_transform.snapshot import Snapshot
from plg_transform.sql_text import ident, literal


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
    tree: dict[str, t.Any] = (
        json.loads(row[0]) if row else {"error": True, "error_message": "no parse"}
    )
    if tree.get("error"):
        raise ValueError(tree.get("error_message", "does not parse"))
    if len(tree.get("statements", [])) != 1:
        raise ValueError("must be a single SQL expression")
    found: set[str] = set()
    _column_refs(tree["statements"][0], found)
    return found


# The SQL type a JSON value is read as in rules, by its own JSON type.
TYPE_MACRO = """
CREATE OR REPLACE TEMP MACRO plg_rule_type(j) AS
    CASE WHEN j IS NULL OR json_type(j) = 'NULL' THEN 'null'
         WHEN json_type(j) IN ('BIGINT', 'UBIGINT')
              AND TRY_CAST(j->>'$' AS BIGINT) IS NOT NULL THEN 'integer'
         WHEN json_type(j) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN 'double'
         WHEN json_type(j) = 'BOOLEAN' THEN 'boolean'
         WHEN json_type(j) = 'VARCHAR' THEN 'text'
         ELSE 'json' END
"""
_READ_AS = {
    "null": "NULL",
    "integer": "CAST({col}->>'$' AS BIGINT)",
    "double": "CAST({col}->>'$' AS DOUBLE)",
    "boolean": "CAST({col}->>'$' AS BOOLEAN)",
    "text": "{col}->>'$'",
    "json": "{col}",
}


@dataclass
class RuleFailure:
    """Records of one kind for which one rule could not be evaluated (they got false)."""

    rule: Rule
    kind: str
    count: int
    example: str  # the first failing record's key, e.g. "account_id=a2"
    error: str  # DuckDB's message for the example


def rule_index(settings: Settings) -> dict[str, int]:
    """Position of each rule (by setting path) in `settings.rules()`: its hit number."""
    return {rule.setting: i for i, rule in enumerate(settings.rules())}


def evaluate_rules(
    snap: Snapshot, kind: str, table: str, json_columns: dict[str, str]
) -> list[RuleFailure]:
    """Create `rule_hits_<kind>` (keys, idx): the records of `table` each rule holds for.

    `rule_unevaluable_<kind>` (keys, idx) holds the records a rule could not be evaluated
    for (they read it as false).

    `json_columns` maps trait and metric field names to the JSON columns holding them.
    """
    snap.run(TYPE_MACRO)
    keys = KEYS[kind]
    key_cols = ", ".join(ident(k) for k in keys)
    key_defs = ", ".join(f"{ident(k)} VARCHAR" for k in keys)
    snap.run(f"CREATE OR REPLACE TEMP TABLE rule_hits_{kind} ({key_defs}, idx INTEGER)")
    snap.run(f"CREATE OR REPLACE TEMP TABLE rule_unevaluable_{kind} ({key_defs}, idx INTEGER)")
    snap.run(f"CREATE OR REPLACE TEMP TABLE rule_eval ({key_defs}, holds BOOLEAN)")
    failures: list[RuleFailure] = []
    index = rule_index(snap.settings)
    for rule in snap.settings.rules():
        if rule.applies_to != kind:
            continue
        try:
            failure = _evaluate(snap, rule, kind, table, json_columns)
            snap.run(
                f"INSERT INTO rule_hits_{kind} SELECT {key_cols}, {index[rule.setting]} "
                "FROM rule_eval WHERE holds"
            )
            snap.run(
                f"INSERT INTO rule_unevaluable_{kind} SELECT {key_cols}, {index[rule.setting]} "
                "FROM rule_eval WHERE holds IS NULL"
            )
        except duckdb.Error as exc:  # not expected: every known failure is handled per record
            raise RuntimeError(f"{rule.setting}: evaluating the rule failed: {exc}") from exc
        if failure is not None:
            failures.append(failure)
    return failures


def _signatures(
    snap: Snapshot, table: str, typed: list[str], json_columns: dict[str, str]
) -> list[tuple[str, ...]]:
    if not typed:
        return [()]
    cats = ", ".join(f"plg_rule_type({ident(json_columns[n])})" for n in typed)
    return [tuple(r) for r in snap.rows(f"SELECT DISTINCT {cats} FROM {table} ORDER BY ALL")]


def _context(
    table: str,
    typed: list[str],
    signature: tuple[str, ...],
    nulls: list[str],
    json_columns: dict[str, str],
) -> str:
    cols = [
        _READ_AS[cat].format(col=ident(json_columns[n])) + f" AS {ident(n)}"
        for n, cat in zip(typed, signature, strict=True)
    ]
    cols += [f"NULL AS {ident(n)}" for n in nulls]
    where = " AND ".join(
        f"plg_rule_type({ident(json_columns[n])}) = {literal(cat)}"
        for n, cat in zip(typed, signature, strict=True)
    )
    select = ", ".join(["*", *cols])
    return f"SELECT {select} FROM {table}" + (f" WHERE {where}" if where else "")


def _evaluate(
    snap: Snapshot, rule: Rule, kind: str, table: str, json_columns: dict[str, str]
) -> RuleFailure | None:
    """Fill rule_eval with (keys, holds); holds is NULL where the rule failed."""
    refs = referenced_fields(snap.con, rule)
    typed = sorted(n for n in refs if n in json_columns)
    nulls = sorted(n for n in refs if n.startswith("metric_") and n not in json_columns)
    keys = ", ".join(ident(k) for k in KEYS[kind])
    truth = f"coalesce(CAST(({rule.when}) AS BOOLEAN), false)"
    snap.run("DELETE FROM rule_eval")
    for signature in _signatures(snap, table, typed, json_columns):
        context = _context(table, typed, signature, nulls, json_columns)
        # TRY turns a per-record runtime error (e.g. a failed cast) into NULL. It cannot
        # wrap volatile functions, hence the plain attempt; a binder error means the rule
        # cannot read values of these types at all.
        attempts = [f"TRY({truth})", truth]
        for i, expr in enumerate(attempts):
            try:
                snap.run(f"INSERT INTO rule_eval SELECT {keys}, {expr} FROM ({context})")
                break
            except duckdb.BinderException:
                if i == len(attempts) - 1:
                    snap.run(f"INSERT INTO rule_eval SELECT {keys}, NULL FROM ({context})")
            except duckdb.Error:
                _evaluate_row_by_row(snap, keys, truth, context)
                break
    return _failure(snap, rule, kind, typed, nulls, json_columns, table)


def _evaluate_row_by_row(snap: Snapshot, keys: str, truth: str, context: str) -> None:
    """Last resort when one record's error fails the whole statement."""
    snap.run(
        f"CREATE OR REPLACE TEMP TABLE rule_ctx AS "
        f"SELECT row_number() OVER () AS plg_row, * FROM ({context})"
    )
    count = snap.rows("SELECT count(*) FROM rule_ctx")[0][0]
    for row in range(1, int(count) + 1):
        try:
            snap.run(
                f"INSERT INTO rule_eval SELECT {keys}, {truth} FROM rule_ctx WHERE plg_row = {row}"
            )
        except duckdb.Error:
            snap.run(
                f"INSERT INTO rule_eval SELECT {keys}, NULL FROM rule_ctx WHERE plg_row = {row}"
            )


def _failure(
    snap: Snapshot,
    rule: Rule,
    kind: str,
    typed: list[str],
    nulls: list[str],
    json_columns: dict[str, str],
    table: str,
) -> RuleFailure | None:
    keys = KEYS[kind]
    order = ", ".join(ident(k) for k in keys)
    rows = snap.rows(
        f"SELECT count(*) OVER (), {order} FROM rule_eval WHERE holds IS NULL "
        f"ORDER BY {order} LIMIT 1"
    )
    if not rows:
        return None
    count, *example = rows[0]
    # Re-run the rule on the example without TRY to tell the user why it failed.
    match = " AND ".join(f"{ident(k)} = ?" for k in keys)
    error = "the rule cannot read values of these types"
    try:
        if typed:
            cats = ", ".join(f"plg_rule_type({ident(json_columns[n])})" for n in typed)
            found = snap.con.execute(f"SELECT {cats} FROM {table} WHERE {match}", example)
            signature = tuple(found.fetchall()[0])
        else:
            signature = ()
        context = _context(table, typed, signature, nulls, json_columns)
        snap.con.execute(
            f"SELECT CAST(({rule.when}) AS BOOLEAN) FROM ({context}) WHERE {match}", example
        ).fetchall()
    except duckdb.Error as exc:
        error = str(exc).strip().splitlines()[0]
    described = ", ".join(f"{k}={v}" for k, v in zip(keys, example, strict=True))
    return RuleFailure(rule=rule, kind=kind, count=int(count), example=described, error=error)


def report_rule_failures(logger: logging.Logger, failures: list[RuleFailure]) -> None:
    """Log one line per rule that could not be evaluated for some records."""
    for f in failures:
        logger.warning(
            "rule %s (%r) could not be evaluated for %d %s record(s), which read it as "
            "false; e.g. %s: %s",
            f.rule.setting,
            f.rule.when,
            f.count,
            STREAMS[f.kind],
            f.example,
            f.error,
        )


def rule_columns(settings: Settings, kind: str) -> list[tuple[str, str]]:
    """(SQL expression, output field) of the rule outputs of a kind.

    The expressions read `plg_hits`, the list of rule numbers that hold for the record
    (from `rule_hits_<kind>`).
    """
    index = rule_index(settings)
    rules = [r for r in settings.rules() if r.applies_to == kind]

    def truth(rule: Rule) -> str:
        return f"coalesce(list_contains(plg_hits, {index[rule.setting]}), false)"

    out: list[tuple[str, str]] = []
    if kind == "user":
        out.append((truth(settings.pql) if settings.pql else "false", "is_pql"))
    if kind == "account":
        out.append((truth(settings.pqa) if settings.pqa else "false", "is_pqa"))
    segs = [r for r in rules if r in settings.segments]
    names = ", ".join(f"CASE WHEN {truth(r)} THEN {literal(r.name)} END" for r in segs)
    out.append((f"concat_ws(';', {names})" if segs else "''", "segments"))
    stages = [r for r in rules if r in settings.lifecycle]
    whens = " ".join(f"WHEN {truth(r)} THEN {literal(r.name)}" for r in stages)
    out.append((f"CASE {whens} END" if stages else "CAST(NULL AS VARCHAR)", "lifecycle_stage"))
    return out
