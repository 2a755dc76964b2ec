"""Assembling the contacts, companies and associations records and writing them out."""

from __future__ import annotations

import typing as t

from plg_transform.output_fields import (
    KEYS,
    RULE_OUTPUTS,
    STREAMS,
    computed_fields,
    passthrough_traits,
)
from plg_transform.rules import RuleFailure, evaluate_rules, rule_columns
from plg_transform.snapshot import Snapshot
from plg_transform.sql_text import ident, literal
from plg_transform.timestamps import DAY_US

ISO_MACRO = """
CREATE OR REPLACE TEMP MACRO plg_iso(x) AS
    CASE WHEN x IS NULL THEN NULL
         WHEN date_trunc('second', x) = x THEN strftime(x, '%Y-%m-%dT%H:%M:%SZ')
         ELSE strftime(x, '%Y-%m-%dT%H:%M:%S.%fZ') END
"""

_TRAIT_TABLE = {"user": "u_tr", "account": "a_tr", "membership": "m_tr"}
_ENTITY_TABLE = {"user": "users", "account": "accounts", "membership": "memberships"}


def _join(alias: str, table: str, kind: str) -> str:
    on = " AND ".join(f"{alias}.{k} = x.{k}" for k in KEYS[kind])
    return f"LEFT JOIN {table} {alias} ON {on}"


def _common_sql(snap: Snapshot, kind: str) -> str:
    s = snap.settings
    t_us = int(snap.as_of_us)
    total = len(s.milestones)
    features = len(s.features)
    first_seen = (
        "least(fs.first_message_at, CASE WHEN tr.trait_created_at <= "
        f"{snap.as_of_sql} THEN tr.trait_created_at END)"
    )
    days = "(CAST({t} AS BIGINT) - epoch_us({x})) // {day}"
    return f"""
        coalesce(e.engagement_score, 0) AS engagement_score,
        coalesce(e.engagement_score_previous, 0) AS engagement_score_previous,
        coalesce(e.engagement_trend, 0) AS engagement_trend,
        CASE WHEN coalesce(e.engagement_trend, 0) >= 10 THEN 'rising'
             WHEN coalesce(e.engagement_trend, 0) <= -10 THEN 'falling'
             ELSE 'steady' END AS engagement_trend_label,
        CAST(coalesce(a.active_days, 0) AS INTEGER) AS active_days,
        coalesce(e.score_reasons, '') AS score_reasons,
        a.last_active_at AS last_active_at,
        CAST({days.format(t=t_us, x="a.last_active_at", day=DAY_US)} AS INTEGER)
            AS days_since_last_active,
        {first_seen} AS first_seen_at,
        CAST({days.format(t=t_us, x=first_seen, day=DAY_US)} AS INTEGER) AS tenure_days,
        CAST(coalesce(ms.steps, 0) AS INTEGER) AS activation_steps_completed,
        {f"CAST(coalesce(ms.steps, 0) AS DOUBLE) / {total}" if total else "CAST(NULL AS DOUBLE)"}
            AS activation_rate,
        {f"coalesce(ms.steps, 0) = {total}" if total else "false"} AS activated,
        ms.activated_at AS activated_at,
        coalesce(a.features_used, '') AS features_used,
        {
        f"CAST(coalesce(a.features_count, 0) AS DOUBLE) / {features}"
        if features
        else "CAST(NULL AS DOUBLE)"
    } AS adoption_rate,
        {snap.as_of_sql} AS as_of
    """


def _own_sql(kind: str) -> tuple[str, str]:
    """Own fields and extra joins of a kind."""
    if kind == "user":
        return (
            "x.user_id, tr.email AS email, prim.account_id AS primary_account_id,",
            """
            LEFT JOIN (
                SELECT m.user_id, m.account_id FROM memberships m
                LEFT JOIN eng_membership em USING (user_id, account_id)
                QUALIFY row_number() OVER (PARTITION BY m.user_id ORDER BY
                    coalesce(em.engagement_score, 0) DESC, coalesce(em.raw_cur, 0) DESC,
                    m.account_id) = 1
            ) prim ON prim.user_id = x.user_id
            """,
        )
    if kind == "account":
        return (
            """x.account_id, tr.name AS name, tr.domain AS domain,
            CAST(coalesce(a.active_users, 0) AS INTEGER) AS active_users,
            CAST(coalesce(tu.total_users, 0) AS INTEGER) AS total_users,
            champ.user_id AS champion_user_id,""",
            """
            LEFT JOIN (SELECT account_id, count(*) AS total_users FROM memberships
                       GROUP BY account_id) tu ON tu.account_id = x.account_id
            LEFT JOIN champions champ ON champ.account_id = x.account_id
            """,
        )
    return (
        """x.user_id, x.account_id, ut.email AS email,
        coalesce(champ.user_id = x.user_id, false) AS is_champion,""",
        """
        LEFT JOIN u_tr ut ON ut.user_id = x.user_id
        LEFT JOIN champions champ ON champ.account_id = x.account_id
        """,
    )


def build_records(snap: Snapshot, metrics: dict[str, list[str]]) -> list[RuleFailure]:
    """Create final_<kind> tables holding every output field (and rule results).

    Returns the rules that could not be evaluated for some records (those read false).
    """
    snap.run(ISO_MACRO)
    snap.run(
        """
        CREATE OR REPLACE TEMP TABLE champions AS
        SELECT m.account_id, m.user_id FROM memberships m
        JOIN eng_membership em USING (user_id, account_id)
        WHERE em.engagement_score > 0
        QUALIFY row_number() OVER (PARTITION BY m.account_id ORDER BY
            em.engagement_score DESC, em.raw_cur DESC, m.user_id) = 1
        """
    )
    failures: list[RuleFailure] = []
    for kind in ("user", "account", "membership"):
        own, joins = _own_sql(kind)
        json_columns = {n: "__json__" + n for n in passthrough_traits(snap.settings, kind)}
        json_columns |= {"metric_" + m: "__json__metric_" + m for m in metrics[kind]}
        trait_cols = "".join(
            f", tr.{ident('__json__' + n)}" for n in passthrough_traits(snap.settings, kind)
        )
        metric_cols = "".join(f", met.{ident('__json__metric_' + m)}" for m in metrics[kind])
        snap.run(
            f"""
            CREATE OR REPLACE TEMP TABLE base_{kind} AS
            SELECT {own} {_common_sql(snap, kind)} {trait_cols} {metric_cols}
            FROM {_ENTITY_TABLE[kind]} x
            {_join("e", f"eng_{kind}", kind)}
            {_join("a", f"act_{kind}", kind)}
            {_join("ms", f"ms_{kind}", kind)}
            {_join("fs", f"fs_{kind}", kind)}
            {_join("tr", _TRAIT_TABLE[kind], kind)}
            {_join("met", f"met_{kind}", kind)}
            {joins}
            """
        )
        failures += evaluate_rules(snap, kind, f"base_{kind}", json_columns)
        keys = ", ".join(KEYS[kind])
        rules = "".join(
            f", {expr} AS {ident(name)}" for expr, name in rule_columns(snap.settings, kind)
        )
        snap.run(
            f"""
            CREATE OR REPLACE TEMP TABLE final_{kind} AS
            SELECT b.* {rules}
            FROM base_{kind} b
            LEFT JOIN (SELECT {keys}, list(idx) AS plg_hits FROM rule_hits_{kind} GROUP BY ALL)
                USING ({keys})
            """
        )
    return failures


def output_fields(snap: Snapshot, kind: str, metrics: dict[str, list[str]]) -> list[str]:
    """Output field names of a kind, in record order."""
    names = [f.name for f in computed_fields(kind)]
    names += list(passthrough_traits(snap.settings, kind))
    names += ["metric_" + m for m in metrics[kind]]
    return names + RULE_OUTPUTS[kind]


def schema(snap: Snapshot, kind: str, metrics: dict[str, list[str]]) -> dict:
    """JSON schema of a stream."""
    props: dict[str, dict] = {}
    for f in computed_fields(kind):
        prop: dict[str, t.Any] = {"type": [f.json_type, "null"] if f.nullable else f.json_type}
        if f.fmt:
            prop["format"] = f.fmt
        props[f.name] = prop
    for name in passthrough_traits(snap.settings, kind):
        props[name] = {}  # traits keep their JSON type
    for m in metrics[kind]:
        props["metric_" + m] = {}
    if kind == "user":
        props["is_pql"] = {"type": "boolean"}
    if kind == "account":
        props["is_pqa"] = {"type": "boolean"}
    # The possible values, so a CRM target can create its picklists with every option
    # up front: `enum` for the stage, the annotation `x-options` for the `;`-joined set.
    segments = [r.name for r in snap.settings.segments if r.applies_to == kind]
    stages = list(dict.fromkeys(r.name for r in snap.settings.lifecycle if r.applies_to == kind))
    props["segments"] = {"type": "string", "x-options": segments}
    props["lifecycle_stage"] = {"type": ["string", "null"]}
    if stages:
        props["lifecycle_stage"]["enum"] = [*stages, None]
    return {"type": "object", "properties": props}


def record_lines(
    snap: Snapshot,
    kind: str,
    metrics: dict[str, list[str]],
    batch: int = 10_000,
    key: t.Sequence[str] | None = None,
) -> t.Iterator[list[str]]:
    """RECORD lines of a stream, built as JSON by DuckDB, streamed in batches.

    With `key` (the values of the kind's key fields), only that entity's line.
    """
    timestamps = {f.name for f in computed_fields(kind) if f.fmt == "date-time"}
    json_cols = {n for n in passthrough_traits(snap.settings, kind)} | {
        "metric_" + m for m in metrics[kind]
    }
    pairs = []
    for name in output_fields(snap, kind, metrics):
        if name in timestamps:
            value = f"plg_iso({ident(name)})"
        elif name in json_cols:
            value = ident("__json__" + name)
        else:
            value = ident(name)
        pairs.append(f"{literal(name)}, {value}")
    prefix = '{"type":"RECORD","stream":"' + STREAMS[kind] + '","record":'
    order = ", ".join(KEYS[kind])
    where = " AND ".join(f"{ident(k)} = ?" for k in KEYS[kind]) if key is not None else "true"
    result = snap.con.execute(
        f"SELECT {literal(prefix)} || CAST(json_object({', '.join(pairs)}) AS VARCHAR) || '}}' "
        f"FROM final_{kind} WHERE {where} ORDER BY {order}",
        list(key or ()),
    )
    while True:
        rows = result.fetchmany(batch)
        if not rows:
            break
        yield [r[0] for r in rows]
