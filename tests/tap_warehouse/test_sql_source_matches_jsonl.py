"""The same messages from a JSON-lines archive, PostgreSQL tables and DuckDB tables.

Fields the warehouse does not keep, and so left out of these messages on purpose: nested
context objects (the warehouse flattens them: they come back flat camelCase keys), null
values and empty objects, the text form of timestamps (they come back as UTC `Z`), the
case of trait/property keys (columns are snake_case) and top-level keys other than the
contract's fields (the tap drops those on every path anyway).
"""

from __future__ import annotations

import json
from pathlib import Path

from .message_set import segment_messages
from .segment_warehouse import load_messages

STREAMS = ("tracks", "identifies", "groups", "pages", "screens", "aliases")


def _by_stream(run) -> dict[str, list[dict]]:
    return {s: sorted(run.records(s), key=lambda r: r["messageId"]) for s in STREAMS}


def test_warehouse_tables_in_postgres_and_duckdb_give_the_records_of_the_jsonl_archive(
    tmp_path: Path, run_tap, postgres_url: str, duckdb_url: str
) -> None:
    messages = segment_messages()
    archive = tmp_path / "events.jsonl"
    archive.write_text("".join(json.dumps(m) + "\n" for m in messages))
    load_messages(postgres_url, messages)
    load_messages(duckdb_url, messages)

    from_jsonl = run_tap({"events_paths": [str(archive)]})
    from_postgres = run_tap({"events_sql": {"url": postgres_url}})
    from_duckdb = run_tap({"events_sql": {"url": duckdb_url}})

    for run in (from_jsonl, from_postgres, from_duckdb):
        assert run.returncode == 0, run.stderr
    expected = _by_stream(from_jsonl)
    assert sum(len(v) for v in expected.values()) == len(messages)
    assert _by_stream(from_postgres) == expected
    assert _by_stream(from_duckdb) == expected
