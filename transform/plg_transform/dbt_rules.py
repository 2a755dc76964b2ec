"""The rules (PQL, PQA, segments, lifecycle) as one SQL query per entity kind, for dbt.

The embedded path (rules.py) evaluates a rule once per combination of JSON value types
found in the data, and isolates the records a rule cannot be evaluated for. A dbt model
cannot look at the data first, so here every combination of types a rule's traits and
metrics can have is a branch of one query: a branch whose expression does not bind for
those types (checked now, against the recording database's empty `base_<kind>`) is left
out, so its records read the rule as false, as the embedded path reads them; a per-record
error (a failed cast) is turned into NULL by TRY, also false. The same helpers as
rules.py give the fields a rule reads, the type of a JSON value, and how it is read.
"""

from __future__ import annotations

import itertools

import duckdb

from plg_transform.output_fields import KEYS, passthrough_traits
from plg_transform.rules import _READ_AS, TYPE_MACRO, referenced_fields, rule_index
from plg_transform.settings import Rule, Settings
from plg_transform.sql_text import ident, literal

ALL_METRICS_COLUMN = "__json__metric_*"  # one JSON object of every backend metric
MAX_TYPED_FIELDS = 4  # 6^4 branches; a rule reading more JSON fields is refused
_CATEGORIES = tuple(_READ_AS)


class RuleNotGeneratedError(Exception):
    """A rule cannot be written as a warehouse query (too many JSON-valued fields)."""


def _json_expressions(settings: Settings, kind: str, fields: set[str]) -> dict[str, str]:
    """SQL of the JSON value of each trait or metric field a rule reads."""
    traits = set(passthrough_traits(settings, kind))
    found = {}
    for name in sorted(fields):
        if name in traits:
            found[name] = ident("__json__" + name)
        elif name.startswith("metric_"):
            path = '$."' + name.removeprefix("metric_").replace('"', '\\"') + '"'
            found[name] = f"json_extract({ident(ALL_METRICS_COLUMN)}, {literal(path)})"
    return found


def _branch(
    base: str, keys: str, truth: str, typed: dict[str, str], signature: tuple[str, ...]
) -> str:
    cols = [
        _READ_AS[cat].format(col=f"({expr})") + f" AS {ident(name)}"
        for (name, expr), cat in zip(typed.items(), signature, strict=True)
    ]
    where = " AND ".join(
        f"plg_rule_type({expr}) = {literal(cat)}"
        for expr, cat in zip(typed.values(), signature, strict=True)
    )
    context = f"SELECT {', '.join(['*', *cols])} FROM {base}"
    if where:
        context += f" WHERE {where}"
    return f"SELECT {keys}, {truth} AS holds FROM ({context})"


def _binds(con: duckdb.DuckDBPyConnection, sql: str) -> bool:
    try:
        con.execute(f"SELECT * FROM ({sql}) LIMIT 0")
    except duckdb.BinderException:
        return False
    except duckdb.Error as exc:
        if "TRY" in str(exc):  # TRY cannot wrap volatile functions
            return False
        raise
    return True


def _rule_branches(
    con: duckdb.DuckDBPyConnection, settings: Settings, kind: str, rule: Rule, base: str
) -> list[str]:
    """The branches (keys, holds) of one rule that bind, one per type combination."""
    fields = referenced_fields(con, rule)
    typed = _json_expressions(settings, kind, fields)
    if len(typed) > MAX_TYPED_FIELDS:
        raise RuleNotGeneratedError(
            f"{rule.setting}: reads {len(typed)} trait/metric fields; the warehouse models "
            f"handle at most {MAX_TYPED_FIELDS}"
        )
    keys = ", ".join(ident(k) for k in KEYS[kind])
    truth = f"coalesce(CAST(({rule.when}) AS BOOLEAN), false)"
    branches = []
    for signature in itertools.product(_CATEGORIES, repeat=len(typed)):
        for expr in (f"TRY({truth})", truth):
            branch = _branch(base, keys, expr, typed, signature)
            if _binds(con, branch.replace(base, f"base_{kind}")):
                branches.append(branch)
                break
    return branches


def rule_hits_sql(con: duckdb.DuckDBPyConnection, settings: Settings, kind: str, base: str) -> str:
    """SQL of rule_hits_<kind> (keys, idx): the records each rule of `kind` holds for.

    `con` is the recording database (its empty `base_<kind>` is used to check binding);
    `base` is how the generated SQL names base_<kind>.
    """
    con.execute(TYPE_MACRO)
    index = rule_index(settings)
    keys = ", ".join(ident(k) for k in KEYS[kind])
    parts = []
    for rule in settings.rules():
        if rule.applies_to != kind:
            continue
        branches = _rule_branches(con, settings, kind, rule, base)
        if branches:
            union = "\nUNION ALL\n".join(branches)
            parts.append(
                f"SELECT {keys}, {index[rule.setting]} AS idx FROM (\n{union}\n) WHERE holds"
            )
    if not parts:
        empty = ", ".join(f"CAST(NULL AS VARCHAR) AS {ident(k)}" for k in KEYS[kind])
        return f"SELECT {empty}, CAST(NULL AS INTEGER) AS idx WHERE false"
    return "\nUNION ALL\n".join(parts)
