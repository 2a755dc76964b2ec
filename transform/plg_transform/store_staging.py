"""Staging: input RECORD lines and BATCH files into the store's staging tables.

Most records never become Python objects. Their raw Singer lines are collected into a
chunk file and DuckDB extracts and types the few fields the store keeps
(`message_rows.fast_rows_sql`). Only the records that SQL cannot read exactly as
`MessageRows` does (identifies, groups, aliases, metrics, missing messageIds, unusual
timestamps, bad input) are parsed in Python, so both paths store the same rows. Each
record is numbered (`seq`) in arrival order, which keeps "first delivered copy wins"
exact whichever path a record takes. Python holds at most one chunk of lines.
"""

from __future__ import annotations

import typing as t

import duckdb
import orjson
from singer_sdk.singerlib.exceptions import InvalidInputLine

from plg_transform.batch_files import BatchFile
from plg_transform.batch_parquet import parquet_rows_sql
from plg_transform.message_rows import EARLIEST_EVENT_US, MessageRows, fast_rows_sql
from plg_transform.store import object_bytes

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from plg_transform.store import Store

CHUNK_BYTES = 32 * 1024 * 1024  # raw lines held before DuckDB reads them
PYTHON_ROWS = 50_000  # rows of the Python path buffered before they are loaded


def _without_nulls(value: object) -> object:
    """Drop null members of objects (Parquet cannot tell a null member from a missing one)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


class StoreStaging:
    """Numbers input records in arrival order and stages them in the store."""

    def __init__(
        self,
        store: Callable[[], Store],
        rows: MessageRows,
        account_id_paths: t.Sequence[str],
        future_us: int,
        earliest_us: int = EARLIEST_EVENT_US,
    ) -> None:
        self._store = store
        self._rows = rows
        self._future_us = future_us
        self._earliest_us = earliest_us
        self._account_id_paths = tuple(account_id_paths)
        self._lines_sql = fast_rows_sql(account_id_paths, _LINES_SOURCE, keep_record=False)
        self._batch_sql = fast_rows_sql(account_id_paths, _BATCH_SOURCE, keep_record=True)
        self.next_seq = 0
        self._runs: list[bytes] = []  # runs of whole raw lines, each without final newline
        self._run_bytes = 0
        self._longest_run = 0  # no line of the chunk is longer
        self._first_seq = 0

    # RECORD messages

    def add_lines(self, run: bytes, count: int) -> None:
        """Take `count` raw RECORD lines of input streams, joined by newlines."""
        if not self._runs:
            self._first_seq = self.next_seq
        self._runs.append(run)
        self._run_bytes += len(run)
        self._longest_run = max(self._longest_run, len(run))
        self.next_seq += count
        if self._run_bytes >= CHUNK_BYTES:
            self.flush()

    def add_message(self, message_dict: dict) -> None:
        """Take a RECORD message that was already parsed (written in another key order)."""
        stream, record = message_dict.get("stream"), message_dict.get("record")
        self.add_lines(orjson.dumps({"stream": stream, "record": record}), 1)

    def flush(self) -> None:
        """Stage the collected lines and the Python path's buffered rows."""
        if self._runs:
            text, first, longest = b"\n".join(self._runs), self._first_seq, self._longest_run
            self._runs, self._run_bytes, self._longest_run = [], 0, 0
            self._stage_lines(text, first, longest)
        self._load_python_rows()

    def _stage_lines(self, text: bytes, first: int, longest: int) -> None:
        store = self._store()
        chunk = store.chunk_path("records.jsonl")
        with chunk.open("wb") as out:
            out.write(text)
            out.write(b"\n")
        params = {
            "path": str(chunk),
            "first": first,
            "future": self._future_us,
            "earliest": self._earliest_us,
            "object_bytes": object_bytes(longest),
        }
        try:
            _, slow = store.stage_fast_rows(self._lines_sql, params)
        except duckdb.OutOfMemoryException as exc:
            chunk.unlink(missing_ok=True)
            raise store.out_of_memory(exc) from exc
        except duckdb.Error as exc:
            chunk.unlink(missing_ok=True)
            # DuckDB refused the chunk: name the bad line as the SDK's reader would, or
            # read every line in Python if DuckDB alone objects to it.
            messages = [_parse(line, exc) for line in text.split(b"\n")]
            for offset, message in enumerate(messages):
                self._python_record(message, first + offset)
            return
        chunk.unlink(missing_ok=True)  # a failed run leaves no copy of the input behind
        if slow:
            lines = text.split(b"\n")
            for seq, _ in slow:
                self._python_record(_parse(lines[seq - first], None), seq)

    def _python_record(self, message: dict, seq: int) -> None:
        self._rows.add(t.cast(str, message.get("stream")), message.get("record"), seq)
        rows = self._rows
        if max(len(rows.messages), len(rows.traits), len(rows.observations)) >= PYTHON_ROWS:
            self._load_python_rows()

    def _load_python_rows(self) -> None:
        rows = self._rows
        if not (rows.messages or rows.traits or rows.observations):
            return
        store = self._store()
        store.append("messages", rows.messages)
        store.append("traits", rows.traits)
        store.append("observations", rows.observations)
        rows.messages, rows.traits, rows.observations = [], [], []

    # BATCH messages

    def add_batch_file(self, batch: BatchFile) -> int:
        """Stage every record of one BATCH file of an input stream; returns the count."""
        self.flush()  # records before the BATCH keep their lower numbers
        store = self._store()
        params = {
            "first": self.next_seq,
            "stream": batch.stream,
            "future": self._future_us,
            "earliest": self._earliest_us,
        }
        try:
            sql = self._batch_file_sql(batch)
            count, slow = store.stage_fast_rows(sql, {**params, **batch.params()})
        except duckdb.OutOfMemoryException as exc:
            raise store.out_of_memory(exc) from exc
        except duckdb.Error as exc:
            raise batch.error(exc) from exc
        for seq, text in slow:
            record = orjson.loads(text)
            if batch.nulls_are_missing:
                record = _without_nulls(record)
            self._python_record({"stream": batch.stream, "record": record}, seq)
        self.next_seq += count
        self._load_python_rows()
        return count

    def _batch_file_sql(self, batch: BatchFile) -> str:
        """The staging SQL of one BATCH file: Parquet columns read directly where they can
        be (batch_parquet), else each record as one JSON document."""
        if batch.format == "parquet":
            types = dict(self._store().query_rows(_COLUMN_TYPES_SQL, batch.params()))
            sql = parquet_rows_sql(self._account_id_paths, types)
            if sql is not None:
                return sql
        return self._batch_sql.replace("{records}", batch.records_sql())

    def batch_records(self, batch: BatchFile) -> list[dict]:
        """Every record of a BATCH file as a dict (for the small streams read in Python)."""
        try:
            rows = self._store().query_rows(batch.records_sql(), batch.params())
        except duckdb.Error as exc:
            raise batch.error(exc) from exc
        records = [orjson.loads(text) for (text,) in rows]
        if batch.nulls_are_missing:
            return [t.cast(dict, _without_nulls(r)) for r in records]
        return records

    def count_batch_file(self, batch: BatchFile) -> int:
        """Number of records in a BATCH file (of a stream this mapper ignores)."""
        try:
            return self._store().count_rows(batch.records_sql(), batch.params())
        except duckdb.Error as exc:
            raise batch.error(exc) from exc


# Row order is file order: a window with an empty OVER () over one table function keeps
# it (DuckDB's documented order preservation), so seq is each record's arrival number.
_LINES_SOURCE = (
    "(SELECT row_number() OVER () - 1 + $first AS seq, stream, record FROM read_json("
    "$path, format='newline_delimited', maximum_object_size=$object_bytes, "
    "columns={stream: 'VARCHAR', record: 'JSON'}))"
)
_COLUMN_TYPES_SQL = (
    "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet($file))"
)
_BATCH_SOURCE = (
    "(SELECT row_number() OVER () - 1 + $first AS seq, $stream AS stream, record FROM ({records}))"
)


def _parse(line: bytes, cause: Exception | None) -> dict:
    """A Singer line as a dict, or InvalidInputLine naming it."""
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        text = line[:200].decode("utf-8", "replace")
        raise InvalidInputLine(f"Unable to parse line as JSON: {text!r}") from (cause or exc)
    if not isinstance(message, dict):
        text = line[:200].decode("utf-8", "replace")
        raise InvalidInputLine(f"Singer message is not a JSON object: {text!r}")
    return message
