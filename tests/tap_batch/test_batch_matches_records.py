"""BATCH output gives the transform exactly what the RECORD path gives it.

The demo archive (its full size, and the small one with the edge cases other libraries
send) goes through `tap-product-events | plg-transform` twice: RECORD lines, then Singer
BATCH files. Planted among the messages: malformed lines (cut JSON, a trailing comma,
NaN, not an object, an unknown type, a field of the wrong type) in a gzip file and in a
plain file, and lines the bulk reader leaves to the RECORD path's code (no messageId,
numeric ids, a blank line, a duplicate messageId). The CRM records must be identical
field by field, the final STATE identical, and the same `path:line: reason` reported.
"""

from __future__ import annotations

import gzip
import json
import typing as t
from pathlib import Path

import pytest
from tap_product_events.sources.archives.batch_reader import BLOCK_BYTES

from demo.generate_demo import generate
from tests.sql_pipeline.conftest import transform_config
from tests.sql_pipeline.demo_messages import DemoArchive, demo_archive
from tests.sql_pipeline.pipeline_runs import PipelineRun, run_pipeline
from tests.tap_batch.pipelines import (
    assert_same_outcome,
    batch_config,
    insert_line,
    malformed_lines,
    record_and_batch_runs,
)

AS_OF = "2026-07-01T00:00:00Z"
WHEN = "2026-06-20T10:00:00Z"


def _track(message_id: str | None, user: object, event: str, **extra: t.Any) -> dict[str, t.Any]:
    message: dict[str, t.Any] = {
        "type": "track",
        "userId": user,
        "event": event,
        "timestamp": WHEN,
        "receivedAt": WHEN,
        "context": {"groupId": "acme"},
        **extra,
    }
    if message_id is not None:
        message["messageId"] = message_id
    return message


MALFORMED = [
    '{"type": "track", "messageId": "bad-1", "userId": "u-planted"',
    '{"type":"track","messageId":"bad-2","userId":"u-planted","event":"Signed Up",}',
    '{"type":"track","messageId":"bad-3","userId":"u-planted","properties":{"v":NaN}}',
    "[1, 2]",
    '{"type":"teleport","messageId":"bad-4"}',
    json.dumps(_track("bad-5", "u-planted", "Signed Up", properties="oops")),
]
# Valid JSON the bulk reader hands to the RECORD path's code, among lines it reads itself.
MIXED = [
    json.dumps(_track("m-1", "u-planted", "Signed Up")),
    json.dumps(_track(None, 4242, "Created Project")),  # derived messageId, numeric id
    json.dumps(_track("m-2", "u-planted", "Invited Teammate", anonymousId="")),
    json.dumps(_track(77, "u-planted", "Exported Report")),  # numeric messageId
    json.dumps(_track("m-1", "u-planted", "Exported Report")),  # a later copy of m-1
    "null",
    json.dumps(
        {"type": "identify", "messageId": "m-3", "userId": 4242, "traits": {"email": "x@a.io"}}
    ),
    json.dumps(_track("m-4", "u-planted", "Signed Up", receivedAt="2026-06-20 10:00:00")),
]


def plant(folder: Path, gzip_file: Path) -> list[str]:
    """Malformed and unusual lines in a gzip file and two plain files; their globs."""
    insert_line(gzip_file, 3, "this is not JSON")
    insert_line(gzip_file, 6, MALFORMED[1])
    planted = folder / "planted"
    planted.mkdir()
    (planted / "malformed.jsonl").write_text(
        "\n".join([MIXED[0], *MALFORMED, "", MIXED[1]]) + "\n", encoding="utf-8"
    )
    (planted / "mixed.jsonl").write_text("\n".join(MIXED) + "\n", encoding="utf-8")
    return [str(planted / "*.jsonl")]


def _transform_config(as_of: str) -> t.Callable[[Path], dict[str, t.Any]]:
    return lambda store_folder: transform_config(store_folder / "store.duckdb", as_of)


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoArchive:
    """The small demo archive with the edge cases of other libraries."""
    return demo_archive(tmp_path_factory.mktemp("small-demo"))


@pytest.mark.parametrize(
    ("fmt", "compression"), [("jsonl", "gzip"), ("jsonl", "none"), ("parquet", "none")]
)
def test_small_demo_with_planted_lines_gives_the_same_crm_records(
    small_demo: DemoArchive, tmp_path: Path, fmt: str, compression: str
) -> None:
    archive = sorted(small_demo.folder.rglob("*.jsonl.gz"))[0]
    copy = tmp_path / "archive"
    copy.mkdir()
    for path in small_demo.folder.rglob("*.gz"):
        target = copy / path.relative_to(small_demo.folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    globs = [
        str(copy / "**" / "*.gz"),
        *plant(tmp_path, copy / archive.relative_to(small_demo.folder)),
    ]
    batches = tmp_path / "batches"
    record, batched = record_and_batch_runs(
        tmp_path,
        {"events_paths": globs},
        _transform_config(AS_OF),
        batch_config(batches, fmt, compression),
    )
    assert_same_outcome(record, batched)
    reported = malformed_lines(batched.tap_log)
    assert len(reported) == 2 + len(MALFORMED) + 1  # the gzip's two, the plain file's, null
    assert any(":3: not valid JSON" in line for line in reported)
    assert any("malformed.jsonl:2: not valid JSON" in line for line in reported)
    contacts = batched.by_key("contacts")
    assert ("4242",) in contacts and ("u-planted",) in contacts
    # The batch files stay where the tap wrote them: the transform deletes nothing of theirs.
    written = sorted(p.name for p in batches.iterdir())
    assert written and all(name.startswith("plg-") for name in written)
    assert not [name for name in written if name.endswith(".partial")]


def test_demo_sized_archive_gives_the_same_crm_records(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    generate(folder)
    first = sorted(folder.rglob("*.jsonl.gz"))[len(list(folder.rglob("*.jsonl.gz"))) // 2]
    globs = [str(folder / "**" / "*.gz"), *plant(tmp_path, first)]
    record, batched = record_and_batch_runs(
        tmp_path,
        {"events_paths": globs},
        _transform_config(AS_OF),
        batch_config(tmp_path / "batches"),
    )
    assert_same_outcome(record, batched)
    assert len(batched.by_key("contacts")) > 100
    assert "read" in batched.transform_log and "BATCH file" in batched.transform_log


def test_incremental_batch_runs_match_record_runs(small_demo: DemoArchive, tmp_path: Path) -> None:
    plain = tmp_path / "live" / "events.jsonl"
    plain.parent.mkdir()
    plain.write_text("\n".join(MIXED[:4]) + "\n", encoding="utf-8")
    tap = {"events_paths": [small_demo.glob, str(plain)]}
    config = _transform_config(AS_OF)
    batches = batch_config(tmp_path / "batches")
    record, batched = record_and_batch_runs(tmp_path, tap, config, batches, name="-1")
    assert_same_outcome(record, batched)
    with plain.open("a", encoding="utf-8") as handle:
        handle.write("\n".join([*MIXED[4:], MALFORMED[0]]) + "\n")
        # No newline yet, but whole JSON: read now, as the RECORD path does.
        handle.write(json.dumps(_track("m-9", "u-planted", "Signed Up")))
    # Each path continues from its own first run's STATE and store.
    second_record = _continue(tmp_path, "record-1", record.state, tap, config, "record-2")
    second_batch = _continue(
        tmp_path, "batch-1", batched.state, {**tap, "batch_config": batches}, config, "batch-2"
    )
    assert_same_outcome(second_record, second_batch)
    assert second_batch.state is not None
    assert second_batch.state["sources"]["events_files"]["files"][str(plain)]["lines"] == 4 + 6


def _continue(
    folder: Path,
    store_name: str,
    state: dict[str, t.Any] | None,
    tap: dict[str, t.Any],
    config: t.Callable[[Path], dict[str, t.Any]],
    name: str,
) -> PipelineRun:
    """A next run of one path: its store, and the STATE its first run ended with."""
    return run_pipeline(folder, name, tap, config(folder / store_name), state)


def _line_of(size: int, message_id: str) -> str:
    """A whole track message of exactly `size` bytes (padded in a property)."""
    message = _track(message_id, "u-big", "Signed Up", properties={"pad": ""})
    short = len(json.dumps(message))
    message["properties"] = {"pad": "x" * (size - short)}
    line = json.dumps(message)
    assert len(line) == size
    return line


def test_lines_over_max_message_bytes_are_reported_as_in_record_mode(
    small_demo: DemoArchive, tmp_path: Path
) -> None:
    """Over-long lines among bulk lines, one longer than a bulk block, one at the limit,
    one with CRLF, and one still being written at the end of a plain file."""
    limit = 1024
    archive = tmp_path / "big" / "archive.jsonl.gz"
    archive.parent.mkdir()
    huge = _line_of(BLOCK_BYTES + 5000, "huge")  # read past block by block
    lines = [MIXED[0], _line_of(limit + 1, "over-1"), MIXED[1], huge, MIXED[2]]
    lines += [_line_of(limit, "at-limit"), _line_of(3 * limit, "over-2"), MIXED[3]]
    archive.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    plain = tmp_path / "big" / "live.jsonl"
    with plain.open("w", encoding="utf-8", newline="") as handle:
        handle.write(_line_of(limit + 40, "crlf") + "\r\n")
        handle.write(_line_of(limit - 1, "crlf-ok") + "\r\n")
        handle.write(MIXED[6] + "\n")
        handle.write(_line_of(2 * limit, "unfinished"))  # no newline yet: not reported
    tap = {"events_paths": [small_demo.glob, str(tmp_path / "big" / "*")]}
    tap["max_message_bytes"] = limit
    record, batched = record_and_batch_runs(
        tmp_path, tap, _transform_config(AS_OF), batch_config(tmp_path / "batches", "parquet")
    )
    assert_same_outcome(record, batched)
    reported = malformed_lines(batched.tap_log)
    over = [line for line in reported if "over max_message_bytes (1024)" in line]
    assert [line.split(": ")[0].rsplit("/", 1)[1] for line in over] == [
        "archive.jsonl.gz:2",
        "archive.jsonl.gz:4",
        "archive.jsonl.gz:7",
        "live.jsonl:1",
    ]
    assert f"message of {len(huge)} bytes" in over[1]
    assert batched.state is not None
    live = batched.state["sources"]["events_files"]["files"][str(plain)]
    assert live["lines"] == 3


def test_first_run_with_start_date_skips_the_same_messages(
    small_demo: DemoArchive, tmp_path: Path
) -> None:
    """The bulk reader drops the messages that arrived before `start_date` as RECORD does."""
    arrivals = sorted(str(m.get("receivedAt") or m.get("timestamp")) for m in small_demo.messages)
    start = arrivals[len(arrivals) // 2][:10]
    tap = {"events_paths": [small_demo.glob], "start_date": start}
    record, batched = record_and_batch_runs(
        tmp_path, tap, _transform_config(AS_OF), batch_config(tmp_path / "batches", "parquet")
    )
    assert_same_outcome(record, batched)
    assert "skipped" in batched.tap_log and f"start_date {start}" in batched.tap_log
