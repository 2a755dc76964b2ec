"""BATCH output: each stream's records of a run staged in DuckDB, then written as files.

The BATCH counterpart of `spool.Spool`. Records reach a stream's staging table two ways:
in bulk, straight from SQL (`sources.archives.batch_reader` inserts whole chunks of
archive lines), or one at a time from Python (the warehouse source, daily roll-ups and
the few archive lines the bulk reader hands to the RECORD path's code). Every record
carries a sequence number in reading order, so a stream's batch file lists its records in
the order the RECORD path would have emitted them. The staging database lives in a
temporary folder and is removed at the end; the batch files are the reader's to keep.
"""

from __future__ import annotations

import shutil
import tempfile
import typing as t
import uuid
from pathlib import Path

import duckdb
import orjson

from tap_product_events.batch_settings import BatchSettings
from tap_product_events.segment_messages import MESSAGE_TYPES, OBJECT_FIELDS
from tap_product_events.sources.warehouse.daily_rollups import SCHEMA as ROLLUP_SCHEMA
from tap_product_events.sources.warehouse.daily_rollups import STREAM_NAME as ROLLUP_STREAM
from tap_product_events.spool import SpoolError

MESSAGE_STREAMS = frozenset(m.stream for m in MESSAGE_TYPES.values())
MESSAGES_TABLE = "messages"
PYTHON_ROWS = 50_000  # records from Python buffered per stream before DuckDB loads them
PART_ROWS = 250_000  # staged records written out as batch files (memory stays bounded)
STAGING_MEMORY = "1GB"  # DuckDB spills to its temporary folder beyond this


def stream_columns(stream_name: str) -> dict[str, str]:
    """The staging columns of a stream's records: field name -> DuckDB type."""
    for message_type in MESSAGE_TYPES.values():
        if message_type.stream == stream_name:
            return {f: "JSON" if f in OBJECT_FIELDS else "VARCHAR" for f in message_type.fields}
    if stream_name == ROLLUP_STREAM:
        return dict.fromkeys(ROLLUP_SCHEMA["properties"], "JSON")
    raise KeyError(stream_name)


def quoted(name: str) -> str:
    """A column or table name as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _json_default(value: object) -> object:
    # Decimals, dates and times from a database driver: their text, as the SDK would.
    return str(value)


class BatchSpool:
    """Staging tables, one per selected stream; `write_files` turns them into batch files."""

    def __init__(self, stream_names: t.Iterable[str], settings: BatchSettings) -> None:
        self.settings = settings
        self._dir = Path(tempfile.mkdtemp(prefix="tap-product-events-batch-"))
        # In memory up to the limit, spilled to the temporary folder beyond it (a database
        # file would be written and synced at every statement).
        self.connection = duckdb.connect(":memory:")
        self.connection.execute(f"SET memory_limit = '{STAGING_MEMORY}'")
        self.connection.execute("SET temp_directory = ?", [str(self._dir / "spill")])
        self.connection.execute("SET TimeZone = 'UTC'")
        self.columns = {name: stream_columns(name) for name in stream_names}
        # The message streams share one table (the bulk reader inserts a block at once).
        tables: dict[str, dict[str, str]] = {}
        for name, columns in self.columns.items():
            tables.setdefault(self.table(name), {}).update(columns)
        for table, columns in tables.items():
            definitions = ", ".join(f"{quoted(c)} {kind}" for c, kind in columns.items())
            if table == MESSAGES_TABLE:
                # How the bulk reader classed each message of a block (NULL from Python).
                definitions += ", exact BOOLEAN, kept BOOLEAN, received TIMESTAMPTZ"
            self.connection.execute(
                f"CREATE TABLE {table} (seq BIGINT, stream VARCHAR, {definitions})"
            )
        self.counts: dict[str, int] = dict.fromkeys(self.columns, 0)
        self.seq = 0  # the next record's sequence number (the bulk reader may set it)
        self._python_rows: dict[str, list[bytes]] = {name: [] for name in self.columns}
        self.manifests: dict[str, list[str]] = {name: [] for name in self.columns}
        self._staged = 0  # records staged and not yet written to a batch file
        # Staged in reading order unless Python rows of a stream joined its bulk rows (they
        # are loaded later): only those streams are sorted by seq when written out.
        self._bulk_streams: set[str] = set()
        self._python_streams: set[str] = set()
        self._run_id = uuid.uuid4().hex[:12]

    @staticmethod
    def table(stream_name: str) -> str:
        """The staging table of a stream's records."""
        return (
            MESSAGES_TABLE if stream_name in MESSAGE_STREAMS else quoted(f"records_{stream_name}")
        )

    def writer(self, stream_name: str) -> t.Callable[[dict[str, t.Any]], None] | None:
        """A function that stages one record of the stream (None if not selected)."""
        if stream_name not in self.columns:
            return None
        rows, dumps, counts = self._python_rows[stream_name], orjson.dumps, self.counts

        def append(record: dict[str, t.Any]) -> None:
            rows.append(dumps({"seq": self.seq, "record": record}, default=_json_default))
            self.seq += 1
            counts[stream_name] += 1
            self._staged += 1
            if len(rows) >= PYTHON_ROWS:
                # Into DuckDB (which spills to disk), not yet to a batch file: this record
                # may sit between two of a bulk block's (see write_parts_when_full).
                self._load_python_rows(stream_name)

        return append

    def block_path(self) -> Path:
        """The temporary file a block of archive lines is written to for DuckDB."""
        return self._dir / "block.jsonl"

    def add_bulk_count(self, stream_name: str, count: int) -> None:
        """Count records the bulk reader inserted into the stream's table itself."""
        self.counts[stream_name] += count
        self._staged += count
        self._bulk_streams.add(stream_name)

    def write_parts_when_full(self) -> None:
        """Write the staged records out once there are PART_ROWS of them.

        Called only between blocks of the bulk reader, when every record numbered so far
        is staged.
        """
        if self._staged >= PART_ROWS:
            self.write_parts()

    def write_parts(self) -> None:
        """Write every staged record to the next batch file of its stream, in order.

        A stream's files are listed in its manifest in the order written, and every record
        staged so far is in them, so the manifest keeps the records' reading order.
        """
        folder = self.settings.folder
        try:
            self.finish_writing()
            folder.mkdir(parents=True, exist_ok=True)
            for name, columns in self.columns.items():
                part = len(self.manifests[name])
                path = folder / (
                    f"{self.settings.prefix}{name}-{self._run_id}-{part:05d}{self._suffix()}"
                )
                if self._copy(name, columns, path):
                    self.manifests[name].append(path.as_uri())
            for table in {self.table(name) for name in self.columns}:
                self.connection.execute(f"DELETE FROM {table}")
        except (OSError, duckdb.Error) as exc:
            raise SpoolError(f"Cannot write the batch files in {folder}: {exc}") from exc
        self._staged = 0
        self._bulk_streams.clear()
        self._python_streams.clear()

    def _load_python_rows(self, stream_name: str) -> None:
        rows = self._python_rows[stream_name]
        if not rows:
            return
        path = self._dir / f"python-{stream_name}.jsonl"
        longest = max(len(row) for row in rows)
        path.write_bytes(b"\n".join(rows) + b"\n")
        rows.clear()
        self._python_streams.add(stream_name)
        self._insert_python_file(stream_name, path, longest)
        path.unlink()

    def _insert_python_file(self, stream_name: str, path: Path, longest: int) -> None:
        columns = self.columns[stream_name]
        picks = ", ".join(
            f"json_extract_string(record, {_json_path(c)})"
            if kind == "VARCHAR"
            else f"nullif(json_extract(record, {_json_path(c)}), 'null'::JSON)"
            for c, kind in columns.items()
        )
        names = ", ".join(quoted(c) for c in columns)
        self.connection.execute(
            f"INSERT INTO {self.table(stream_name)} (seq, stream, {names}) "
            f"SELECT seq, ?, {picks} FROM read_json("
            "?, format='newline_delimited', maximum_object_size=?, "
            "columns={seq: 'BIGINT', record: 'JSON'})",
            [stream_name, str(path), max(1 << 20, 2 * longest)],
        )

    def finish_writing(self) -> None:
        """Load every record still buffered in Python."""
        try:
            for name in self.columns:
                self._load_python_rows(name)
        except (OSError, duckdb.Error) as exc:
            raise SpoolError(f"Cannot stage the batch records in {self._dir}: {exc}") from exc

    def write_files(self) -> None:
        """Write what is still staged (streams without records get no file)."""
        self.write_parts()

    def _suffix(self) -> str:
        if self.settings.format == "parquet":
            return ".parquet"
        return ".jsonl.gz" if self.settings.compression == "gzip" else ".jsonl"

    def _copy(self, stream_name: str, columns: dict[str, str], path: Path) -> bool:
        """Write the stream's staged records to `path`; False (no file) if it has none."""
        staged = self.connection.execute(
            f"SELECT count(*) FROM {self.table(stream_name)} WHERE stream = $stream",
            {"stream": stream_name},
        ).fetchone()
        if not staged or not staged[0]:
            return False
        names = ", ".join(quoted(c) for c in columns)
        if self.settings.format == "parquet":
            options = "FORMAT PARQUET"
        else:
            compression = "gzip" if self.settings.compression == "gzip" else "none"
            options = f"FORMAT JSON, COMPRESSION {compression}"
        mixed = stream_name in self._bulk_streams and stream_name in self._python_streams
        order = " ORDER BY seq" if mixed else ""
        # Written under a temporary name, renamed when complete: a reader never sees half.
        partial = path.with_name(path.name + ".partial")
        self.connection.execute(
            f"COPY (SELECT {names} FROM {self.table(stream_name)} WHERE stream = $stream"
            f"{order}) TO '{_sql_text(str(partial))}' ({options})",
            {"stream": stream_name},
        )
        partial.rename(path)
        return True

    def read(self, stream_name: str) -> list[str]:
        """The URLs of the stream's batch files (written by `write_files`)."""
        return self.manifests.get(stream_name, [])

    def close(self) -> None:
        """Remove the staging database (never the batch files)."""
        try:
            self.connection.close()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)


def _json_path(field: str) -> str:
    return "'$." + _sql_text(quoted(field)) + "'"


def _sql_text(text: str) -> str:
    return text.replace("'", "''")
