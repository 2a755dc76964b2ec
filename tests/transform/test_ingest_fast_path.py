"""The bulk ingest path stores exactly what the Python reading of a record gives.

Raw RECORD lines are read by DuckDB SQL (message_rows.fast_rows_sql); records it cannot read
exactly go to message_rows.MessageRows. These tests send awkward records through the real
CLI and compare the store's rows with MessageRows on the same records.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import duckdb
import pytest
from plg_transform import singer_input, store_staging
from plg_transform.bad_input import BadInput
from plg_transform.mapper import PLGTransform
from plg_transform.message_rows import FAST_INSTANT, MessageRows
from plg_transform.timestamps import parse_instant

from .conftest import record, state, track

PATHS = ["context.groupId", "properties.account.id"]
TIMES = [
    "2026-02-25T10:00:00Z",
    "2026-02-25T10:00:00.5Z",
    "2026-02-25T10:00:00.123456+05:30",
    "2026-02-25T10:00:00-23:59",
    "2026-02-25T10:00:00",
    "2026-02-25T10:00:00z",
    "2026-02-25 10:00:00Z",
    "2026-02-25",
    "2026-02-30T10:00:00Z",
    "2026-02-25T24:00:00Z",
    "2026-02-25T10:00:00.1234567Z",
    " 2026-02-25T10:00:00Z ",
    "2026-02-25T10:00:00+0530",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2999-01-01T00:00:00Z",  # in the future: kept and reported
    "yesterday",
    "",
]
IDS: list[object] = ["u1", "", 7, -3, 0, 1.0, 2.5, True, None, {"x": 1}, [1], 'é"\\x']


def _awkward_records() -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    for i, ts in enumerate(TIMES):
        out.append(
            ("tracks", {"messageId": f"ts{i}", "userId": "u", "event": "Run", "timestamp": ts})
        )
    out.append(
        (
            "tracks",
            {
                "messageId": "fallback",
                "userId": "u",
                "event": "Run",
                "timestamp": "bad",
                "originalTimestamp": "2026-02-01T00:00:00Z",
            },
        )
    )
    for i, value in enumerate(IDS):
        out.append(
            (
                "tracks",
                {"messageId": f"u{i}", "userId": value, "event": "Run", "timestamp": TIMES[0]},
            )
        )
        out.append(
            (
                "pages",
                {"messageId": f"a{i}", "anonymousId": value, "userId": None, "timestamp": TIMES[0]},
            )
        )
        out.append(
            (
                "tracks",
                {"messageId": value, "userId": "u", "event": "Run", "timestamp": TIMES[0], "n": i},
            )
        )
        out.append(
            (
                "screens",
                {
                    "messageId": f"g{i}",
                    "userId": "u",
                    "timestamp": TIMES[0],
                    "context": {"groupId": value},
                    "properties": {"account": {"id": f"p{i}"}},
                },
            )
        )
        out.append(
            ("tracks", {"messageId": f"e{i}", "userId": "u", "event": value, "timestamp": TIMES[0]})
        )
    out.append(
        (
            "tracks",
            {
                "messageId": "nested",
                "userId": "u",
                "event": "Run",
                "timestamp": TIMES[0],
                "context": {"groupId": {"id": 1}},
                "properties": {"account": [{"id": "x"}]},
            },
        )
    )
    out.append(
        ("aliases", {"messageId": "al", "userId": "u", "previousId": 5, "timestamp": TIMES[0]})
    )
    out.append(("identifies", {"userId": "u", "timestamp": TIMES[0], "traits": {"plan": 1.50}}))
    out.append(
        (
            "tracks",
            {
                "userId": "u",
                "event": "Run",
                "timestamp": TIMES[0],
                "properties": {"price": 0.1, "big": 12345678901234567890},
            },
        )
    )
    return out


def _lines(records: list[tuple[str, dict]]) -> list[str]:
    lines = []
    for i, (stream, rec) in enumerate(records):
        if i % 5 == 0:  # compact, as singer-sdk writes it
            lines.append(
                json.dumps(
                    {"type": "RECORD", "stream": stream, "record": rec}, separators=(",", ":")
                )
            )
        elif i % 5 == 1:  # another key order: parsed in Python first
            lines.append(json.dumps({"record": rec, "type": "RECORD", "stream": stream}))
        else:
            lines.append(record(stream, **rec))
    return lines


def test_store_rows_equal_the_python_reading_of_every_awkward_record(run_transform, tmp_path):
    records = _awkward_records()
    out = run_transform(_lines(records), {"account_id_paths": PATHS})
    stored = (
        duckdb.connect(str(tmp_path / "store.duckdb"), read_only=True)
        .execute(
            "SELECT seq, message_id, kind, user_id, anonymous_id, account_id, event,"
            " epoch_us(ts) FROM messages ORDER BY seq"
        )
        .fetchall()
    )

    bad = BadInput(strict=False)
    rows = MessageRows(PATHS, bad, time.time_ns() // 1000)
    for seq, (stream, rec) in enumerate(records):
        rows.add(stream, rec, seq)
    first_copies: dict[str, tuple] = {}
    for row in rows.messages:  # in arrival order; the first copy of a message id wins
        first_copies.setdefault(row[1], row)
    assert len(stored) > 40
    assert stored == sorted(first_copies.values())
    implausible = bad.counts.get("implausible_time", 0)
    assert implausible + bad.counts.get("implausible_time_dropped", 0) >= 1  # year 2999
    for reason, count in bad.counts.items():
        assert f"bad input: {reason}: {count} " in out.log


def test_fast_instants_match_python_iso_8601_reading():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for text in TIMES:
        ((matches, micros),) = con.execute(
            "SELECT regexp_full_match($t, $p), epoch_us(try_cast($t AS TIMESTAMPTZ))",
            {"t": text, "p": FAST_INSTANT},
        ).fetchall()
        if matches and micros is not None:
            assert micros == parse_instant(text), text


def _run_in_process(lines: list[str], store: Path, capsys) -> list[dict]:
    config = {
        "store_path": str(store),
        "as_of": "2026-03-01T12:00:00Z",
        "events": {"Run": {"weight": 1}},
    }
    mapper = PLGTransform(config=config)
    data = ("\n".join(lines) + "\n").encode()
    mapper.listen(io.TextIOWrapper(io.BytesIO(data)))
    out = capsys.readouterr().out
    return [json.loads(x) for x in out.splitlines() if x.strip()]


def test_block_and_chunk_boundaries_do_not_change_the_result(tmp_path, capsys, monkeypatch):
    lines = [state({"bookmarks": {"a": 1}})]
    for i in range(300):
        lines.append(
            track(
                f"m{i % 250}",
                f"u{i % 7}",
                "Run",
                f"2026-02-{1 + i % 27:02d}T10:00:00Z",
                f"acc{i % 3}",
            )
        )
        if i % 50 == 0:
            lines.append(
                json.dumps(
                    {"type": "SCHEMA", "stream": "tracks", "schema": {}, "key_properties": []}
                )
            )
            lines.append(
                record(
                    "identifies",
                    messageId=f"i{i}",
                    userId=f"u{i % 7}",
                    timestamp="2026-01-01T00:00:00Z",
                    traits={"plan": f"p{i}"},
                )
            )
    lines.append(state({"bookmarks": {"a": 2}}))
    whole = _run_in_process(lines, tmp_path / "a.duckdb", capsys)
    monkeypatch.setattr(singer_input, "BLOCK_BYTES", 97)  # lines split across many reads
    monkeypatch.setattr(store_staging, "CHUNK_BYTES", 1500)  # many DuckDB chunks
    pieces = _run_in_process(lines, tmp_path / "b.duckdb", capsys)
    records = [m for m in whole if m["type"] == "RECORD"]
    assert records and records == [m for m in pieces if m["type"] == "RECORD"]
    assert whole[-1]["value"]["bookmarks"] == pieces[-1]["value"]["bookmarks"] == {"a": 2}


@pytest.mark.parametrize(
    "bad_line",
    [
        '{"type": "RECORD", "stream": "tracks", "record": {"messageId": "x", ',
        '{"type":"RECORD","stream":"tracks","record":{"messageId":"x"}}}',
        "",
        "[1, 2]",
        '{"stream": "tracks"}',
    ],
)
def test_a_malformed_singer_line_stops_the_run_naming_it(run_transform, bad_line):
    good = track("ok", "u", "Run", "2026-02-25T10:00:00Z")
    out = run_transform([good, bad_line, good, state({"b": 1})], check=False)
    assert out.returncode != 0
    assert out.messages == []
    if bad_line.startswith('{"type"'):
        assert "Unable to parse line as JSON" in out.log and "messageId" in out.log
    elif bad_line.startswith("{"):
        assert "missing required type" in out.log
    else:
        assert "Unable to parse line as JSON" in out.log or "not a JSON object" in out.log


def test_crlf_line_ends_and_unknown_streams_read_like_plain_lines(run_transform):
    lines = [
        track("a", "u", "Run", "2026-02-25T10:00:00Z") + "\r",
        record("invoices", id=1) + "\r",
        track("b", "u", "Run", "2026-02-26T10:00:00Z"),
    ]
    out = run_transform(lines)
    assert out.by_key("contacts")["u"]["score_reasons"] == "Run x2"
    assert "unknown stream 'invoices': 1 records ignored" in out.log
