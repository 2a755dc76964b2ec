"""Engagement: capped daily counts, raw values, P90 reference, scores, trend, reasons.

score(r) = floor(100 * (1 - 10 ** (-r / ref)) + 0.5), computed by DuckDB's pow(), which
gives the same doubles as Python's `**` (both use the C library's pow).
"""

from __future__ import annotations

from plg_transform.output_fields import KEYS
from plg_transform.snapshot import Snapshot

SCORE_MACRO = """
CREATE OR REPLACE TEMP MACRO plg_score(r, ref) AS
    CASE WHEN ref IS NULL THEN 0
         ELSE CAST(floor(100 * (1 - pow(10, -r / ref)) + 0.5) AS INTEGER) END
"""


def _daily_counts(snap: Snapshot) -> None:
    """daily_<kind>: capped counts `c` (and the `occurrences` before the cap) per day."""
    cap = snap.settings.daily_cap
    counted = f"least(sum(n), {int(cap)})" if cap > 0 else "sum(n)"
    # Only scored events in the two windows can contribute to raw values.
    scope = f"weight > 0 AND day >= {snap.previous_start}"
    snap.run(
        f"""
        CREATE OR REPLACE TEMP TABLE daily_user AS
        SELECT user_id, event, weight, day, CAST({counted} AS BIGINT) AS c,
               CAST(sum(n) AS BIGINT) AS occurrences
        FROM ev_day WHERE {scope} GROUP BY ALL
        """
    )
    snap.run(
        f"""
        CREATE OR REPLACE TEMP TABLE daily_membership AS
        SELECT user_id, account_id, event, weight, day, CAST({counted} AS BIGINT) AS c,
               CAST(sum(n) AS BIGINT) AS occurrences
        FROM ev_day WHERE {scope} AND account_id IS NOT NULL GROUP BY ALL
        """
    )
    # An account's count is the sum of its memberships' capped counts.
    snap.run(
        """
        CREATE OR REPLACE TEMP TABLE daily_account AS
        SELECT account_id, event, weight, day, sum(c) AS c, sum(occurrences) AS occurrences
        FROM daily_membership GROUP BY ALL
        """
    )


def _raw_values(snap: Snapshot, kind: str) -> None:
    """per_event_<kind>: counts per event and window; raw_<kind>: their weighted sums."""
    keys = ", ".join(KEYS[kind])
    cur = snap.current_start
    snap.run(
        f"""
        CREATE OR REPLACE TEMP TABLE per_event_{kind} AS
        SELECT {keys}, event, weight,
               CAST(coalesce(sum(c) FILTER (WHERE day >= {cur}), 0) AS BIGINT) AS n_cur,
               CAST(coalesce(sum(c) FILTER (WHERE day < {cur}), 0) AS BIGINT) AS n_prev,
               CAST(coalesce(sum(occurrences) FILTER (WHERE day >= {cur}), 0) AS BIGINT)
                   AS occurrences_cur,
               CAST(coalesce(sum(occurrences) FILTER (WHERE day < {cur}), 0) AS BIGINT)
                   AS occurrences_prev
        FROM daily_{kind} GROUP BY ALL
        """
    )
    snap.run(
        f"""
        CREATE OR REPLACE TEMP TABLE raw_{kind} AS
        SELECT {keys},
               fsum(weight * n_cur) AS raw_cur,
               fsum(weight * n_prev) AS raw_prev,
               coalesce(array_to_string(
                   list(event || ' x' || n_cur ORDER BY weight * n_cur DESC, event)
                       FILTER (WHERE n_cur > 0)[1:3], ', '), '') AS score_reasons
        FROM per_event_{kind} GROUP BY ALL
        """
    )


def reference_sql(snap: Snapshot, kind: str) -> str:
    """SQL of score_reference[kind], else of the nearest-rank P90 of raw over raw > 0.

    A scalar subquery (NULL when no raw value is > 0), so the warehouse models generated
    from these steps (dbt_models.py) compute the reference in SQL as this path does.
    """
    configured = snap.settings.score_reference.get(kind)
    if configured is not None:
        return f"CAST({float(configured)!r} AS DOUBLE)"
    # Nearest rank ceil(0.9 * n), in exact integer arithmetic: (9n + 9) // 10.
    return f"""(
        SELECT raw_cur FROM (
            SELECT raw_cur, row_number() OVER (ORDER BY raw_cur) AS rank, count(*) OVER () AS n
            FROM raw_{kind} WHERE raw_cur > 0)
        WHERE rank = (9 * n + 9) // 10)"""


def build_engagement(snap: Snapshot) -> dict[str, float | None]:
    """Create eng_<kind> tables (keys, raw, scores, trend, label, reasons); return refs."""
    snap.run(SCORE_MACRO)
    _daily_counts(snap)
    refs: dict[str, float | None] = {}
    for kind in ("user", "membership", "account"):
        _raw_values(snap, kind)
        snap.run(
            f"CREATE OR REPLACE TEMP TABLE ref_{kind} AS "
            f"SELECT CAST({reference_sql(snap, kind)} AS DOUBLE) AS ref"
        )
        found = snap.rows(f"SELECT ref FROM ref_{kind}")
        refs[kind] = None if not found or found[0][0] is None else float(found[0][0])
        keys = ", ".join(KEYS[kind])
        snap.run(
            f"""
            CREATE OR REPLACE TEMP TABLE eng_{kind} AS
            WITH scored AS (
                SELECT {keys}, raw_cur, raw_prev, score_reasons,
                       plg_score(raw_cur, (SELECT ref FROM ref_{kind})) AS engagement_score,
                       plg_score(raw_prev, (SELECT ref FROM ref_{kind}))
                           AS engagement_score_previous
                FROM raw_{kind})
            SELECT *, engagement_score - engagement_score_previous AS engagement_trend
            FROM scored
            """
        )
    return refs
