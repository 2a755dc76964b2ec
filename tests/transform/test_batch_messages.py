"""Singer BATCH input (JSONL and Parquet files) gives exactly the records of RECORD input.

The batches come from a real singer-sdk tap configured with `batch_config` (the SDK
writes the gzipped JSONL files and the BATCH messages itself). tap-product-events does
not advertise BATCH, so a small SDK tap defined here emits the same kind of Segment
records. pyarrow is not installed, so the Parquet files are written with DuckDB from the
same records, with the column-union shape a Parquet batcher produces.
"""

from __future__ import annotations

import contextlib
import io
import json
import typing as t
from pathlib import Path

import duckdb
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.helpers.capabilities import PluginCapabilities, TapCapabilities

from .conftest import record, track

CONFIG = {
    "events": {"Run": {"weight": 2, "feature": "running"}, "Walk": {"weight": 1}},
    "user_traits": ["plan"],
    "account_traits": ["industry"],
    "activation": {"milestones": [{"name": "ran", "event": "Run", "count": 2}]},
}
OUTPUT_STREAMS = ("companies", "contacts", "associations")


def _segment_records() -> dict[str, list[dict]]:
    """Tracks (with a re-delivered messageId), identifies, groups and pages."""
    tracks, identifies, groups, pages = [], [], [], []
    for i in range(40):
        user = f"u{i % 6}"
        ts = f"2026-02-{1 + i % 27:02d}T{i % 24:02d}:15:00Z"
        tracks.append(
            {
                "messageId": f"t{i}",
                "type": "track",
                "userId": user,
                "event": ["Run", "Walk", "Jump"][i % 3],
                "timestamp": ts,
                "context": {"groupId": f"acc{i % 3}"},
                "properties": {"value": i * 1.5},
            }
        )
    # A copy of t3 delivered later with another time: the first copy must win.
    tracks.append({**tracks[3], "timestamp": "2026-02-27T23:00:00Z"})
    # An event of an anonymous visitor later linked by an identify.
    tracks.append(
        {
            "messageId": "anon-1",
            "type": "track",
            "anonymousId": "visitor",
            "event": "Run",
            "timestamp": "2026-02-20T08:00:00+01:00",
        }
    )
    for i in range(6):
        identifies.append(
            {
                "messageId": f"i{i}",
                "type": "identify",
                "userId": f"u{i}",
                "anonymousId": "visitor" if i == 2 else f"a{i}",
                "timestamp": f"2026-01-{10 + i:02d}T00:00:00Z",
                "traits": {"email": f"U{i}@Example.com", "plan": ["free", "pro"][i % 2]},
            }
        )
    # A later identify without `plan`: plan stays "pro" (absent is not null).
    identifies.append(
        {
            "messageId": "i1-again",
            "type": "identify",
            "userId": "u1",
            "timestamp": "2026-02-01T00:00:00Z",
            "traits": {"email": "u1@new.example.com"},
        }
    )
    for i in range(3):
        groups.append(
            {
                "messageId": f"g{i}",
                "type": "group",
                "userId": f"u{i}",
                "groupId": f"acc{i}",
                "timestamp": f"2026-01-{20 + i:02d}T00:00:00Z",
                "traits": {"name": f"Acme {i}", "industry": "tools", "website": f"www.a{i}.io"},
            }
        )
    pages.append(
        {
            "messageId": "p1",
            "type": "page",
            "userId": "u1",
            "name": "Home",
            "timestamp": "2026-02-26T10:00:00Z",
        }
    )
    return {"tracks": tracks, "identifies": identifies, "groups": groups, "pages": pages}


SEGMENT = _segment_records()
_ANY_OBJECT = th.ObjectType(additional_properties=True)


class _SegmentStream(Stream):
    """One Segment stream of the test tap, emitting SEGMENT[name] as they are."""

    primary_keys: t.ClassVar[list[str]] = ["messageId"]
    schema: t.ClassVar[dict] = th.PropertiesList(
        th.Property("messageId", th.StringType),
        th.Property("type", th.StringType),
        th.Property("userId", th.StringType),
        th.Property("anonymousId", th.StringType),
        th.Property("groupId", th.StringType),
        th.Property("event", th.StringType),
        th.Property("name", th.StringType),
        th.Property("timestamp", th.StringType),
        th.Property("context", _ANY_OBJECT),
        th.Property("properties", _ANY_OBJECT),
        th.Property("traits", _ANY_OBJECT),
    ).to_dict()

    def get_records(self, context: dict | None) -> t.Iterable[dict]:
        """The stream's records in order."""
        yield from SEGMENT[self.name]


def _stream_class(stream_name: str) -> type[_SegmentStream]:
    return type(f"Stream_{stream_name}", (_SegmentStream,), {"name": stream_name})


class BatchingTap(Tap):
    """A minimal singer-sdk tap that can batch (capability BATCH)."""

    name = "tap-segment-batches"
    config_jsonschema: t.ClassVar[dict] = th.PropertiesList().to_dict()
    capabilities: t.ClassVar[list] = [TapCapabilities.DISCOVER, PluginCapabilities.BATCH]

    def discover_streams(self) -> list[Stream]:
        """One stream per Segment stream of the data set."""
        return [_stream_class(name)(self) for name in SEGMENT]


def _tap_output(config: dict) -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        BatchingTap(config=config).sync_all()
    return [line for line in out.getvalue().splitlines() if line.strip()]


def _records(output: t.Any) -> dict[str, list[dict]]:
    return {stream: output.records.get(stream, []) for stream in OUTPUT_STREAMS}


def test_jsonl_batches_from_an_sdk_tap_give_the_records_of_record_messages(
    run_transform, tmp_path: Path
):
    plain = _tap_output({})
    assert not any('"type":"BATCH"' in line for line in plain)
    batch_dir = tmp_path / "batches"
    batch_dir.mkdir()
    batched = _tap_output(
        {
            "batch_config": {
                "encoding": {"format": "jsonl", "compression": "gzip"},
                "storage": {"root": batch_dir.as_uri(), "prefix": "b-"},
                "batch_size": 7,
            }
        }
    )
    kinds = [json.loads(line)["type"] for line in batched]
    assert "RECORD" not in kinds and kinds.count("BATCH") >= 8
    assert list(batch_dir.glob("b-*.json.gz"))

    from_records = run_transform(plain, {**CONFIG, "store_path": str(tmp_path / "r.duckdb")})
    # Interval 0: every progress line, as a run longer than the interval logs them.
    from_batches = run_transform(
        batched,
        {**CONFIG, "store_path": str(tmp_path / "b.duckdb"), "progress_interval_seconds": 0},
    )
    assert _records(from_batches) == _records(from_records)
    contacts = from_batches.by_key("contacts")
    assert contacts["u2"]["email"] == "u2@example.com"
    assert contacts["u3"]["score_reasons"].startswith("Run x")
    assert "read 7 tracks records from BATCH file file://" in from_batches.log


def _write_parquet(records: list[dict], path: Path) -> None:
    """A Parquet file of records: one column per key, objects as structs (null-filled)."""
    source = path.with_suffix(".jsonl")
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    duckdb.sql(
        f"COPY (SELECT * FROM read_json('{source}', dateformat='disabled', "
        f"timestampformat='disabled')) TO '{path}' (FORMAT parquet)"
    )


def test_parquet_batches_mixed_with_records_give_the_records_of_record_messages(
    run_transform, tmp_path: Path
):
    plain = [record(stream, **r) for stream, rows in SEGMENT.items() for r in rows]
    # The same messages: identifies and tracks (two files) as Parquet BATCHes, in the
    # same order between the RECORD lines of groups and pages.
    tracks = SEGMENT["tracks"]
    batches = []
    for stream, parts in (
        ("identifies", [SEGMENT["identifies"]]),
        ("tracks", [tracks[:25], tracks[25:]]),
    ):
        files = []
        for number, rows in enumerate(parts):
            path = tmp_path / f"{stream}-{number}.parquet"
            _write_parquet(rows, path)
            files.append(path.as_uri())
        batch = {
            "type": "BATCH",
            "stream": stream,
            "encoding": {"format": "parquet", "compression": None},
            "manifest": files,
        }
        batches.append(json.dumps(batch))
    mixed = [*batches, *(record(s, **r) for s in ("groups", "pages") for r in SEGMENT[s])]

    from_records = run_transform(plain, {**CONFIG, "store_path": str(tmp_path / "r.duckdb")})
    mixed_run = run_transform(mixed, {**CONFIG, "store_path": str(tmp_path / "m.duckdb")})
    assert _records(mixed_run) == _records(from_records)
    u1 = mixed_run.by_key("contacts")["u1"]
    assert (u1["plan"], u1["email"]) == ("pro", "u1@new.example.com")


def test_records_before_a_batch_win_over_later_copies_in_the_batch(run_transform, tmp_path):
    early = track("dup", "u", "Run", "2026-02-25T10:00:00Z")
    later = {
        "messageId": "dup",
        "type": "track",
        "userId": "u",
        "event": "Run",
        "timestamp": "2026-02-26T10:00:00Z",
    }
    batch_file = tmp_path / "late.jsonl"
    batch_file.write_text(json.dumps(later) + "\n")
    batch = {
        "type": "BATCH",
        "stream": "tracks",
        "encoding": {"format": "jsonl"},
        "manifest": [batch_file.as_uri()],
    }
    out = run_transform([early, json.dumps(batch)])
    user = out.by_key("contacts")["u"]
    assert (user["score_reasons"], user["last_active_at"]) == ("Run x1", "2026-02-25T10:00:00Z")
    assert "re-delivered" in out.log


def test_batch_files_that_cannot_be_read_stop_the_run_naming_the_file(run_transform, tmp_path):
    remote = {
        "type": "BATCH",
        "stream": "tracks",
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "manifest": ["s3://bucket/batch-1.json.gz"],
    }
    out = run_transform([json.dumps(remote)], check=False)
    assert out.returncode != 0
    assert "s3://bucket/batch-1.json.gz" in out.log and "file://" in out.log
    assert not out.messages

    missing = {**remote, "manifest": [(tmp_path / "gone.json.gz").as_uri()]}
    out = run_transform([json.dumps(missing)], check=False)
    assert out.returncode != 0 and "gone.json.gz" in out.log and "does not exist" in out.log

    csv = {**remote, "encoding": {"format": "csv"}}
    out = run_transform([json.dumps(csv)], check=False)
    assert out.returncode != 0 and "'csv' is not supported" in out.log


def test_batch_of_an_unknown_stream_is_counted_and_ignored(run_transform, tmp_path):
    other = tmp_path / "other.jsonl"
    other.write_text('{"a": 1}\n{"a": 2}\n')
    batch = {
        "type": "BATCH",
        "stream": "invoices",
        "encoding": {"format": "jsonl"},
        "manifest": [other.as_uri()],
    }
    out = run_transform([json.dumps(batch), track("t", "u", "Run", "2026-02-25T10:00:00Z")])
    assert "unknown stream 'invoices': 2 records ignored" in out.log
    assert out.by_key("contacts")["u"]["score_reasons"] == "Run x1"


def _awkward_tracks() -> list[dict]:
    """Tracks that only some readers take as they are: every way the store's rules split."""
    base = {"type": "track", "event": "Run", "timestamp": "2026-02-10T10:00:00Z"}
    return [
        {**base, "messageId": "plain", "userId": "u1", "context": {"groupId": "acc1"}},
        {**base, "messageId": "", "userId": "u1"},  # empty id: the content id
        {**base, "messageId": "no-user", "userId": "", "anonymousId": "visitor"},
        {**base, "messageId": "int-account", "userId": "u2", "context": {"groupId": 7}},
        {**base, "messageId": "float-account", "userId": "u2", "context": {"groupId": 7.0}},
        {**base, "messageId": "prop-account", "userId": "u3", "properties": {"groupId": "acc3"}},
        {**base, "messageId": "null-account", "userId": "u3", "context": {"groupId": None}},
        {**base, "messageId": "space-time", "userId": "u1", "timestamp": "2026-02-11 10:00:00"},
        {
            **base,
            "messageId": "no-time",
            "userId": "u1",
            "timestamp": None,
            "originalTimestamp": "2026-02-12T10:00:00Z",
        },
        {**base, "messageId": "old", "userId": "u1", "timestamp": "1970-01-02T00:00:00Z"},
        {**base, "messageId": "no-event", "userId": "u1", "event": ""},
        {**base, "messageId": "nobody", "userId": None},
        {**base, "messageId": "plain", "userId": "u9"},  # a re-delivered id: first one wins
    ]


def test_parquet_batches_with_json_columns_are_read_by_column_as_records_are(
    run_transform, tmp_path: Path
):
    """The tap's own Parquet shape (strings, and JSON for objects) takes the column reader;
    each awkward record must still come out as from RECORD lines."""
    rows = _awkward_tracks()
    source = tmp_path / "tracks.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = tmp_path / "tracks.parquet"
    strings = ("messageId", "type", "userId", "anonymousId", "event", "timestamp")
    columns = {**dict.fromkeys(strings, "VARCHAR"), "originalTimestamp": "VARCHAR"}
    columns.update({"context": "JSON", "properties": "JSON"})
    spec = ", ".join(f"{name}: '{kind}'" for name, kind in columns.items())
    duckdb.sql(f"COPY (SELECT * FROM read_json('{source}', columns={{{spec}}})) TO '{path}'")
    described = duckdb.sql(f"DESCRIBE SELECT * FROM '{path}'").fetchall()
    assert {row[0]: row[1] for row in described}["context"] == "JSON"
    batch = {
        "type": "BATCH",
        "stream": "tracks",
        "encoding": {"format": "parquet"},
        "manifest": [path.as_uri()],
    }
    config = {**CONFIG, "account_id_paths": ["context.groupId", "properties.groupId"]}
    # Parquet has no "missing": a null column is what RECORD input leaves out.
    plain = [record("tracks", **{k: v for k, v in r.items() if v is not None}) for r in rows]
    from_records = run_transform(plain, {**config, "store_path": str(tmp_path / "r.duckdb")})
    from_batch = run_transform(
        [json.dumps(batch)], {**config, "store_path": str(tmp_path / "b.duckdb")}
    )
    assert _records(from_batch) == _records(from_records)
    assert from_batch.log.count("bad input") == from_records.log.count("bad input") > 0
    accounts = {r["account_id"] for r in from_batch.records["companies"]}
    assert {"acc1", "7", "acc3"} <= accounts
