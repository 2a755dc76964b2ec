"""What JSON Schema cannot say about the settings: rules that compile, names that clash.

`check_settings` runs after the schema accepted the config (types, bounds, defaults are
right) and adds each problem to the same `SettingProblems` the schema's problems go to,
so every refusal reads alike: `` `segments[2].when`: does not parse: ... ``.
"""

from __future__ import annotations

import re
import typing as t

import duckdb
from plg_settings import SettingProblems

from plg_transform.output_fields import RULE_OUTPUTS, computed_fields, passthrough_traits
from plg_transform.rules import referenced_fields
from plg_transform.settings import Rule, Settings
from plg_transform.sql_text import ident
from plg_transform.timestamps import parse_instant

# DuckDB's JSON reader alone takes 64 MB: below this the store cannot read its input.
MIN_MEMORY_BYTES = 128 * 1000**2
_MEMORY_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]?I?B)", re.IGNORECASE)
_UNIT_BYTES = {
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
}


def check_settings(config: t.Mapping[str, t.Any], problems: SettingProblems) -> None:
    """Add to `problems` what is wrong with a config the schema accepted."""
    as_of = config.get("as_of")
    if as_of is not None and parse_instant(as_of) is None:
        problems.add("as_of", f"not an ISO 8601 date-time: {as_of!r}")
    settings = Settings.from_config(config)
    _check_memory_limit(settings.store_memory_limit, problems)
    _check_unique_names(settings, problems)
    _check_trait_names(settings, problems)
    _check_rules(settings, problems)


def memory_bytes(size: str) -> float:
    """Bytes of a memory size the schema's pattern accepted, e.g. `512MB`, `2 GiB`."""
    match = _MEMORY_SIZE.fullmatch(size.strip())
    if match is None:  # the schema's pattern guarantees a match
        raise ValueError(f"not a memory size: {size!r}")
    return float(match.group(1)) * _UNIT_BYTES[match.group(2).upper()]


def _check_memory_limit(size: str, problems: SettingProblems) -> None:
    if memory_bytes(size) < MIN_MEMORY_BYTES:
        problems.add("store_memory_limit", f"must be at least 128MB, got {size!r}")


def _check_unique_names(settings: Settings, problems: SettingProblems) -> None:
    seen: set[str] = set()
    for i, rule in enumerate(settings.segments):
        if rule.name in seen:
            problems.add(["segments", i, "name"], f"duplicate segment name {rule.name!r}")
        seen.add(rule.name)
    seen = set()
    for i, milestone in enumerate(settings.milestones):
        if milestone.name in seen:
            problems.add(
                ["activation", "milestones", i, "name"],
                f"duplicate milestone name {milestone.name!r}",
            )
        seen.add(milestone.name)


def _check_trait_names(settings: Settings, problems: SettingProblems) -> None:
    """Trait names must not collide with computed fields or metric_* fields."""
    for kind, key in (
        ("user", "user_traits"),
        ("account", "account_traits"),
        ("membership", "membership_traits"),
    ):
        taken = {f.name for f in computed_fields(kind)} | set(RULE_OUTPUTS[kind])
        for i, name in enumerate(passthrough_traits(settings, kind)):
            if name in taken:
                problems.add([key, i], f"{name!r} collides with the computed field {name!r}")
            elif name.startswith("metric_"):
                problems.add([key, i], f"{name!r} collides with backend metric fields")
    for i, name in enumerate(settings.account_traits):
        if name in settings.membership_traits:
            problems.add(
                ["account_traits", i],
                f"{name!r} is listed in membership_traits, so it is a membership trait, "
                "never an account trait",
            )


def _empty_context(settings: Settings, kind: str, metrics: set[str]) -> str:
    cols = [f"CAST(NULL AS {f.sql_type}) AS {ident(f.name)}" for f in computed_fields(kind)]
    cols += [f"NULL AS {ident(name)}" for name in passthrough_traits(settings, kind)]
    cols += [f"NULL AS {ident(name)}" for name in sorted(metrics)]
    return "SELECT " + ", ".join(cols) + " FROM range(0)"


def _check_rules(settings: Settings, problems: SettingProblems) -> None:
    """Compile every rule against the real output columns of its kind."""
    con = duckdb.connect()
    try:
        for rule in settings.rules():
            problem = _rule_problem(con, settings, rule)
            if problem is not None:
                problems.add(rule.setting, problem)
    finally:
        con.close()


def _rule_problem(con: duckdb.DuckDBPyConnection, settings: Settings, rule: Rule) -> str | None:
    """What is wrong with one rule, or None when it compiles to a boolean."""
    kind, when = rule.applies_to, rule.when
    known = {f.name for f in computed_fields(kind)} | set(passthrough_traits(settings, kind))
    try:
        names = referenced_fields(con, rule)
    except (ValueError, duckdb.Error) as exc:
        return f"does not parse: {_first_line(exc)}"
    bad = sorted(n for n in names if n not in known and not n.startswith("metric_"))
    if bad:
        outputs = [n for n in bad if n in RULE_OUTPUTS[kind]]
        hint = (
            f" (rule outputs {outputs} cannot be read by rules)"
            if outputs
            else f"; {kind} fields are: {', '.join(sorted(known))}"
        )
        return f"unknown field(s) {bad}{hint}"
    context = _empty_context(settings, kind, {n for n in names if n.startswith("metric_")})
    try:
        described = con.execute(f"DESCRIBE SELECT ({when}) AS r FROM ({context})").fetchall()
        con.execute(f"SELECT first_seen_at, coalesce(({when}), false) FROM ({context})").fetchall()
    except duckdb.Error as exc:
        return f"does not compile in DuckDB: {_first_line(exc)}"
    result_type = str(described[0][1])
    if result_type not in ("BOOLEAN", '"NULL"', "NULL"):
        return f"must be a boolean expression, got {result_type}"
    return None


def _first_line(error: Exception) -> str:
    """DuckDB's message without the query excerpt it adds below: one line per problem."""
    text = str(error).strip()
    return text.splitlines()[0] if text else repr(error)
