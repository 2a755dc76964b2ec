"""Parquet BATCH files read column by column: the message rows without a JSON per record.

`message_rows.fast_rows_sql` reads a record as one JSON document. A Parquet batch file
already holds its fields as typed columns, and turning every row back into JSON to pick
five fields out of it again costs most of the ingest. When the columns the store reads
have types whose meaning is plain (strings, JSON objects), `parquet_rows_sql` reads them
directly, with the same rules as `fast_rows_sql` (an empty id is no id, an id or account
that is a float is left to Python, only ISO 8601 instants both readers agree on are
fast). A file with other column types takes `fast_rows_sql`'s way. Either way the rows
left to Python carry their record as JSON text, so both ways stage the same rows.
"""

from __future__ import annotations

import typing as t

from plg_transform.message_rows import FAST_INSTANT, FAST_STREAMS
from plg_transform.message_rows import _sql_id as sql_id

# Record fields the store reads whose column must be a string (or absent).
_STRING_FIELDS = ("messageId", "userId", "anonymousId", "event", "timestamp")
_TEXT_TYPES = ("VARCHAR",)
_JSON_TYPES = ("JSON",)


def _column(name: str) -> str:
    return 'p."' + name.replace('"', '""') + '"'


def _string(name: str, types: t.Mapping[str, str]) -> str:
    """A string column's value, NULL when the file has no such column."""
    return _column(name) if name in types else "NULL::VARCHAR"


def _account_value(path: str, types: t.Mapping[str, str]) -> tuple[str, str] | None:
    """(SQL of as_id() of the path's value, SQL true when it is not a float); None when
    the path cannot be read from these columns as `fast_rows_sql` reads it."""
    parts = path.split(".")
    if any(not part or '"' in part or "\\" in part or "'" in part for part in parts):
        return None
    head, rest = parts[0], parts[1:]
    kind = types.get(head)
    if kind is None:
        return "NULL", "true"
    if kind in _TEXT_TYPES:
        # A string has no members: a longer path finds nothing in it.
        return (f"nullif({_column(head)}, '')" if not rest else "NULL"), "true"
    if kind in _JSON_TYPES:
        value = _column(head)
        if rest:
            inner = "$." + ".".join(f'"{part}"' for part in rest)
            value = f"json_extract({value}, '{inner}')"
        return sql_id(value), f"json_type({value}) IS DISTINCT FROM 'DOUBLE'"
    return None


def parquet_rows_sql(account_id_paths: t.Sequence[str], types: t.Mapping[str, str]) -> str | None:
    """SQL of `fast_rows_sql`'s columns (with `record`) for a Parquet file of `types`.

    `types` maps the file's column names to DuckDB types. Parameters: `$file`, `$first`
    (the first record's seq), `$stream`, `$earliest` and `$future`. None when a column
    the store reads has a type this reading does not cover.
    """
    if any(types.get(f, "VARCHAR") not in _TEXT_TYPES for f in _STRING_FIELDS):
        return None
    accounts = [_account_value(p, types) for p in account_id_paths]
    if any(a is None for a in accounts):
        return None
    readable = t.cast(list[tuple[str, str]], accounts)
    account = ", ".join(value for value, _ in readable) or "NULL"
    no_float = " AND ".join(check for _, check in readable) or "true"
    fixed = " ".join(
        f"WHEN '{stream}' THEN '{event}'" for stream, event in FAST_STREAMS.items() if event
    )
    streams = ", ".join(f"'{s}'" for s in FAST_STREAMS)
    timestamp = _string("timestamp", types)
    return f"""
        SELECT seq, message_id, user_id, anonymous_id, account_id, event, ts_us, fast,
            CASE WHEN NOT fast THEN to_json(p)::VARCHAR END AS record
        FROM (
        SELECT *, coalesce(shaped AND message_id IS NOT NULL AND event IS NOT NULL
                AND (user_id IS NOT NULL OR anonymous_id IS NOT NULL)
                AND ts_us IS NOT NULL AND ts_us BETWEEN $earliest AND $future, false) AS fast
        FROM (
            SELECT row_number() OVER () - 1 + $first AS seq, p,
                $stream IN ({streams}) AND {no_float} AS shaped,
                nullif({_string("messageId", types)}, '') AS message_id,
                nullif({_string("userId", types)}, '') AS user_id,
                nullif({_string("anonymousId", types)}, '') AS anonymous_id,
                coalesce({account}) AS account_id,
                CASE $stream {fixed} ELSE nullif({_string("event", types)}, '') END AS event,
                CASE WHEN regexp_full_match({timestamp}, '{FAST_INSTANT}')
                    THEN epoch_us(try_cast({timestamp} AS TIMESTAMPTZ)) END AS ts_us
            FROM read_parquet($file) AS p
        ))"""
