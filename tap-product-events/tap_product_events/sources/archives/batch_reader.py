"""Archive lines read and normalised in bulk by DuckDB, for BATCH output.

The files, their bookmarks and their damage are handled as in `event_archives`; only the
lines are taken differently. Each block of whole lines (a few MB) is written to a
temporary file that DuckDB's `read_json` parses with the message's fields typed as JSON,
and the records of every message it can normalise exactly as `segment_messages.to_record`
would (a string messageId, ids that are strings or null, fields of the right JSON types,
an ISO 8601 arrival time) go straight into the streams' staging tables. The other lines
of the block (no messageId, numeric ids, null...) are handed, with their line numbers,
to the RECORD path's own code, so they are accepted, derived or reported exactly as
there. A block DuckDB refuses or reads more leniently than the RECORD path (a malformed
line, blank lines, trailing commas, NaN, a byte-order mark, duplicate keys) is read
wholly by the RECORD path's code. No Python object is made per message on the bulk path.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import re
import typing as t
import zlib
from dataclasses import dataclass

import duckdb

from tap_product_events.arrival import ArrivalWatermark, StartDateFilter
from tap_product_events.batch_output import (
    MESSAGE_STREAMS,
    MESSAGES_TABLE,
    BatchSpool,
    quoted,
)
from tap_product_events.malformed import MalformedLineReport
from tap_product_events.message_limits import DEFAULT_MAX_MESSAGE_BYTES, OversizeLine, Readable
from tap_product_events.segment_messages import MESSAGE_TYPES, OBJECT_FIELDS
from tap_product_events.sources.archives.event_archives import (
    ArchiveReadResult,
    EventArchives,
    _DamagedInputError,
    _FileReader,
    _GzipReader,
    _PlainReader,
)
from tap_product_events.sources.event_source import Accept

BLOCK_BYTES = 16 * 1024 * 1024

_FIELDS = (
    "type",
    "messageId",
    "userId",
    "anonymousId",
    "groupId",
    "previousId",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "receivedAt",
    "event",
    "name",
    "context",
    "properties",
    "traits",
)
_IDS = ("userId", "anonymousId", "groupId", "previousId")

# ISO 8601 as both Python's fromisoformat and DuckDB read it to the same instant.
_ISO_INSTANT = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:\d{2})?$"
# JSON that DuckDB reads and orjson refuses: a block holding any takes the RECORD path.
_TRAILING_COMMA = re.compile(rb",\s*[}\]]")
_NOT_NUMBERS = (b"NaN", b"Infinity")
_BOM = b"\xef\xbb\xbf"


def _kind(field: str) -> str:
    """`"` for a string, `{` for an object, `n` for null or missing, else another."""
    return f"coalesce(left({quoted(field)}::VARCHAR, 1), 'n')"


def _text(field: str) -> str:
    """The field's string value (a JSON string unescaped; NULL for null or missing)."""
    return f"({quoted(field)} ->> '$')"


def _block_sql() -> str:
    """The block file's messages, numbered, with their fields as JSON text."""
    columns = ", ".join(f"{quoted(f)}: 'JSON'" for f in _FIELDS)
    return (
        "SELECT row_number() OVER () AS n, * FROM read_json($path, "
        "format='newline_delimited', records=true, maximum_object_size=$object_bytes, "
        f"columns={{{columns}}})"
    )


def _classified_sql(keep: str) -> str:
    """Per message of the block: exact (SQL normalises it as to_record would), its stream,
    its arrival instant and whether the start date keeps it."""
    allowed = {f: "('n', '\"')" for f in _FIELDS}
    for field in OBJECT_FIELDS:
        allowed[field] = "('n', '{')"
    checks = " AND ".join(f"{_kind(f)} IN {allowed[f]}" for f in _FIELDS if f != "messageId")
    types = ", ".join(f"'{m.type}'" for m in MESSAGE_TYPES.values())
    streams = " ".join(f"WHEN '{m.type}' THEN '{m.stream}'" for m in MESSAGE_TYPES.values())
    received, timestamp = _text("receivedAt"), _text("timestamp")
    exact = (
        f"{_kind('type')} = '\"' AND {_text('type')} IN ({types}) "
        f"AND {_kind('messageId')} = '\"' AND {_text('messageId')} <> '' AND {checks} "
        f"AND ({received} IS NULL OR regexp_matches({received}, '{_ISO_INSTANT}'))"
    )
    return f"""
    SELECT *, exact AND {keep} AS kept FROM (
        SELECT *, CASE WHEN exact THEN CASE {_text("type")} {streams} END END AS stream,
            CASE WHEN exact THEN try_cast({received} AS TIMESTAMPTZ) END AS received,
            CASE WHEN exact THEN coalesce({received}, {timestamp}) END AS arrival_text
        FROM (SELECT *, coalesce({exact}, false) AS exact FROM ({_block_sql()}))
    )
    """


def _record_columns_sql(columns: t.Iterable[str]) -> str:
    """The SELECT list of the staging columns, from the block's JSON fields."""
    picks = []
    for field in columns:
        if field in OBJECT_FIELDS:
            picks.append(f"CASE WHEN {_kind(field)} = '{{' THEN {quoted(field)} END")
        elif field in _IDS:
            picks.append(f"nullif({_text(field)}, '')")
        else:
            picks.append(_text(field))
    return ", ".join(picks)


def _insert_sql(keep: str) -> str:
    """Insert every message of the block file into the staging table, with its class.

    Done in one pass (no table of the block first): the messages that are not kept (left
    to the RECORD path's code, or before the start date) are deleted again at once.
    """
    columns = ", ".join(quoted(f) for f in _FIELDS)
    return (
        f"INSERT INTO {MESSAGES_TABLE} (seq, stream, exact, kept, received, {columns}) "
        f"SELECT $base + n - 1, stream, exact, kept, received, {_record_columns_sql(_FIELDS)} "
        f"FROM ({_classified_sql(keep)})"
    )


_SUMMARY_SQL = f"""
    SELECT count(*), count(*) FILTER (kept),
        strftime(max(received) FILTER (kept), '%Y-%m-%dT%H:%M:%S.%f+00:00'),
        count(*) FILTER (exact AND NOT kept),
        coalesce(list(seq - $base + 1 ORDER BY seq) FILTER (NOT exact), []),
        coalesce(histogram(stream) FILTER (kept), MAP {{}})
    FROM {MESSAGES_TABLE} WHERE seq >= $base
"""


def _not_kept_sql(streams: t.Iterable[str]) -> str:
    """Delete the block's messages that are not kept or of streams not selected."""
    selected = ", ".join(f"'{s}'" for s in streams) or "NULL"
    return (
        f"DELETE FROM {MESSAGES_TABLE} WHERE seq >= $base "
        f"AND (NOT kept OR stream NOT IN ({selected}))"
    )


_BLOCK_SQL = f"DELETE FROM {MESSAGES_TABLE} WHERE seq >= $base"


def readable_in_bulk(whole: bytes, first_line_number: int) -> bool:
    """False when the block holds JSON DuckDB would read more leniently than orjson."""
    if first_line_number == 1 and whole.startswith(_BOM):
        return False
    if any(word in whole for word in _NOT_NUMBERS):
        return False
    return _TRAILING_COMMA.search(whole) is None


class BulkLines:
    """Takes blocks of archive lines through DuckDB (see the module docstring)."""

    def __init__(self, spool: BatchSpool) -> None:
        self.spool = spool
        self.connection = spool.connection
        self._sql: dict[str, str] = {}
        self._not_kept_sql = _not_kept_sql(s for s in spool.columns if s in MESSAGE_STREAMS)

    def take_block(
        self,
        whole: bytes,
        count: int,
        fallback: t.Callable[[bytes, int], int],
        watermark: ArrivalWatermark,
        start_filter: StartDateFilter | None,
    ) -> int | None:
        """Stage the `count` lines of `whole`; the messages accepted, or None if not read.

        `fallback(line, offset)` takes the block's line at `offset` the RECORD path's way.
        Raises duckdb.Error when DuckDB refuses the block (nothing was staged then).
        """
        keep = self._keep_sql(start_filter)
        sql = self._sql.get(keep)
        if sql is None:
            sql = self._sql[keep] = _insert_sql(keep)
        path = self.spool.block_path()
        path.write_bytes(whole)
        connection, spool = self.connection, self.spool
        # Every record numbered so far is staged (this runs between blocks), so the rows
        # from `base` on are this block's.
        base = spool.seq
        params = {"base": base}
        try:
            connection.execute(
                sql,
                {**params, "path": str(path), "object_bytes": max(1 << 20, 2 * BLOCK_BYTES)},
            )
        finally:
            path.unlink(missing_ok=True)
        summary = connection.execute(_SUMMARY_SQL, params).fetchone()
        assert summary is not None
        rows, accepted, latest, skipped, others, per_stream = summary
        if rows != count:
            connection.execute(_BLOCK_SQL, params)
            return None  # blank lines: DuckDB's numbering is not the file's
        if accepted != rows or any(stream not in spool.columns for stream in per_stream):
            connection.execute(self._not_kept_sql, params)
        for stream, n in per_stream.items():
            if stream in spool.columns:
                spool.add_bulk_count(stream, n)
        if start_filter is not None:
            start_filter.skipped += skipped
        watermark.see(latest)
        if others:
            lines = whole.split(b"\n")
            for n in others:
                spool.seq = base + n - 1
                accepted += fallback(lines[n - 1], n - 1)
        spool.seq = base + count
        return int(accepted)

    @staticmethod
    def _keep_sql(start_filter: StartDateFilter | None) -> str:
        if start_filter is None:
            return "true"
        start = start_filter.start_date.isoformat()
        # A message without a readable arrival time is kept (StartDateFilter.keeps).
        return (
            "(arrival_text IS NULL OR try_cast(arrival_text AS TIMESTAMPTZ) IS NULL "
            f"OR try_cast(arrival_text AS TIMESTAMPTZ) >= '{start}'::TIMESTAMPTZ)"
        )


Fallback = t.Callable[[bytes, int], int]
"""Takes a line (at an offset in its segment) the RECORD path's way; returns messages."""


@dataclass
class _Segment:
    """The whole lines of one file that wait in a pending block."""

    data: bytes
    count: int
    fallback: Fallback


class PendingLines:
    """Whole lines of several files, collected so that DuckDB reads them in large blocks.

    Archives are often many small files; a block per file would cost DuckDB's fixed
    per-statement time for a few hundred lines. Lines keep their order and their file's
    line numbers; a block DuckDB refuses is retried file by file, and a file's lines
    DuckDB refuses are read by the RECORD path's code.
    """

    def __init__(self, bulk: BulkLines) -> None:
        self.bulk = bulk
        self._segments: list[_Segment] = []
        self._bytes = 0
        self.messages = 0  # messages accepted by flushes (counted for the source's log)
        self.watermark: ArrivalWatermark | None = None
        self._start_filter: StartDateFilter | None = None

    def add(
        self,
        segment: _Segment,
        watermark: ArrivalWatermark,
        start_filter: StartDateFilter | None,
    ) -> None:
        """Queue one file's whole lines; a full block is read at once."""
        self.watermark, self._start_filter = watermark, start_filter
        self._segments.append(segment)
        self._bytes += len(segment.data)
        if self._bytes >= BLOCK_BYTES:
            self.flush()

    def flush(self) -> None:
        """Read every queued line."""
        self._flush()
        self.bulk.spool.write_parts_when_full()

    def _flush(self) -> None:
        segments, self._segments, self._bytes = self._segments, [], 0
        if not segments or self.watermark is None:
            return
        if len(segments) > 1:
            taken = self._bulk(
                b"".join(s.data for s in segments),
                sum(s.count for s in segments),
                _router(segments),
            )
            if taken is not None:
                self.messages += taken
                return
        for segment in segments:
            taken = self._bulk(segment.data, segment.count, segment.fallback)
            if taken is None:
                taken = self.read_line_by_line(segment)
            self.messages += taken

    def _bulk(self, data: bytes, count: int, fallback: Fallback) -> int | None:
        assert self.watermark is not None
        try:
            return self.bulk.take_block(data, count, fallback, self.watermark, self._start_filter)
        except duckdb.Error:
            return None  # a line DuckDB refuses: nothing of the block was staged

    def read_line_by_line(self, segment: _Segment) -> int:
        """The RECORD path's code for every line of the segment."""
        spool = self.bulk.spool
        base, messages = spool.seq, 0
        for offset, line in enumerate(segment.data.split(b"\n")[: segment.count]):
            spool.seq = base + offset
            messages += segment.fallback(line, offset)
        spool.seq = base + segment.count
        return messages


def _router(segments: list[_Segment]) -> Fallback:
    """A fallback for a joined block: finds the line's segment and its offset there."""
    starts = list(itertools.accumulate((s.count for s in segments), initial=0))

    def fallback(line: bytes, offset: int) -> int:
        index = bisect.bisect_right(starts, offset) - 1
        return segments[index].fallback(line, offset - starts[index])

    return fallback


class _BulkFileReader(_FileReader):
    """A file reader whose lines are queued for DuckDB in `PendingLines`.

    `max_message_bytes` holds as on the RECORD path: a line over the limit is reported
    with the same `path:line: reason` (found by a scan that costs a few `rfind` per
    block), and a line longer than a block is read past without being held whole.
    """

    pending: PendingLines

    def _lines(self, handle: Readable) -> t.Iterable[bytes | OversizeLine]:
        """The open file itself: `_take_lines` reads it in blocks for DuckDB."""
        return t.cast("t.Iterable[bytes | OversizeLine]", handle)

    def _take_lines(
        self,
        lines: t.Iterable[bytes | OversizeLine],
        first_line_number: int,
        accept: Accept,
        watermark: ArrivalWatermark,
        start_filter: StartDateFilter | None,
    ) -> tuple[int, int, int | None]:
        """As the RECORD path's, but the messages of queued lines are counted at the flush."""
        handle = t.cast("t.BinaryIO", lines)
        run = _LineRun(self, first_line_number, accept, watermark, start_filter)
        rest = b""
        skipped: int | None = None  # bytes of an over-long line read past so far
        while True:
            try:
                block = handle.read(BLOCK_BYTES)
            except (OSError, EOFError, zlib.error) as exc:
                raise _DamagedInputError(first_line_number - 1 + run.consumed, exc) from exc
            if not block:
                break
            if skipped is not None:
                newline = block.find(b"\n")
                if newline < 0:
                    skipped += len(block)
                    continue
                run.oversize(OversizeLine(skipped + len(block[:newline].rstrip(b"\r")), True))
                skipped, block = None, block[newline + 1 :]
            data = rest + block if rest else block
            cut = data.rfind(b"\n") + 1
            whole, rest = data[:cut], data[cut:]
            if whole:
                run.take_whole_lines(whole)
            if len(rest) > self.limit + 2:  # no newline within the limit: over it
                skipped, rest = len(rest), b""
        if skipped is not None:
            return run.unfinished(OversizeLine(skipped, False))
        if not rest:
            return run.consumed, run.messages, None
        if len(rest.rstrip(b"\r\n")) > self.limit:
            return run.unfinished(OversizeLine(len(rest), False))
        self.pending.flush()
        return run.unfinished(rest)

    def take_line(
        self,
        line: bytes | OversizeLine,
        line_number: int,
        accept: Accept,
        watermark: ArrivalWatermark,
        start_filter: StartDateFilter | None,
    ) -> tuple[int, int, int | None]:
        """One line the RECORD path's way: (lines taken, messages, unfinished bytes)."""
        return super()._take_lines([line], line_number, accept, watermark, start_filter)


class _LineRun:
    """The lines of one file read so far by `_BulkFileReader._take_lines`."""

    def __init__(
        self,
        reader: _BulkFileReader,
        first_line_number: int,
        accept: Accept,
        watermark: ArrivalWatermark,
        start_filter: StartDateFilter | None,
    ) -> None:
        self.reader, self.pending = reader, reader.pending
        self.first_line_number = first_line_number
        self.accept, self.watermark, self.start_filter = accept, watermark, start_filter
        self.consumed = 0  # lines taken (or queued)
        self.messages = 0  # messages of the lines taken the RECORD path's way

    def take_whole_lines(self, whole: bytes) -> None:
        """Queue newline-ended lines for DuckDB; report those over the size limit."""
        position = 0
        for start, end, size in _oversize_lines(whole, self.reader.limit):
            if start > position:
                self._queue(whole[position:start])
            self.oversize(OversizeLine(size, True))
            position = end
        if position < len(whole):
            self._queue(whole[position:] if position else whole)

    def oversize(self, line: OversizeLine) -> None:
        """Report a complete line over the limit, in its place among the others."""
        self.pending.flush()
        self.reader.take_line(
            line, self._next_line_number(), self.accept, self.watermark, self.start_filter
        )
        self.consumed += 1

    def unfinished(self, line: bytes | OversizeLine) -> tuple[int, int, int | None]:
        """Take the file's last line, which has no newline (the RECORD path's rules)."""
        self.pending.flush()
        taken, messages, unfinished = self.reader.take_line(
            line, self._next_line_number(), self.accept, self.watermark, self.start_filter
        )
        self.messages += messages
        if not unfinished:
            self.consumed += taken
        return self.consumed, self.messages, unfinished

    def _next_line_number(self) -> int:
        return self.first_line_number + self.consumed

    def _queue(self, whole: bytes) -> None:
        count = whole.count(b"\n")
        first = self._next_line_number()
        take_line, accept = self.reader.take_line, self.accept
        watermark, start_filter = self.watermark, self.start_filter

        def fallback(line: bytes, offset: int) -> int:
            _, taken, _ = take_line(line + b"\n", first + offset, accept, watermark, start_filter)
            return taken

        segment = _Segment(whole, count, fallback)
        if readable_in_bulk(whole, first):
            self.pending.add(segment, watermark, start_filter)
        else:
            self.pending.flush()  # the lines before these keep their place
            self.messages += self.pending.read_line_by_line(segment)
        self.consumed += count


def _oversize_lines(whole: bytes, limit: int) -> t.Iterator[tuple[int, int, int]]:
    """(start, end after the newline, size) of each line of `whole` over `limit` bytes.

    `whole` ends with a newline. A window of `limit + 1` bytes from a line's start holds
    a newline unless that line is longer than the limit, so the scan jumps a window at a
    time. The size is counted as the RECORD path counts it (without the newline and the
    carriage returns before it).
    """
    position, end = 0, len(whole)
    while position + limit + 1 < end:
        newline = whole.rfind(b"\n", position, position + limit + 1)
        if newline >= 0:
            position = newline + 1
            continue
        newline = whole.index(b"\n", position)
        size = len(whole[position:newline].rstrip(b"\r"))
        if size > limit:
            yield position, newline + 1, size
        position = newline + 1


class _BulkPlainReader(_BulkFileReader, _PlainReader):
    pass


class _BulkGzipReader(_BulkFileReader, _GzipReader):
    pass


class BulkEventArchives(EventArchives):
    """The `events_paths` source for BATCH output: lines normalised in bulk by DuckDB."""

    def __init__(
        self,
        patterns: t.Sequence[str],
        logger: logging.Logger,
        report: MalformedLineReport,
        spool: BatchSpool,
        storage_options: t.Mapping[str, t.Mapping[str, t.Any]] | None = None,
        *,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        super().__init__(
            patterns,
            logger,
            report,
            storage_options=storage_options,
            max_message_bytes=max_message_bytes,
        )
        self.pending = PendingLines(BulkLines(spool))

    def _read(
        self,
        previous: t.Mapping[str, t.Any],
        accept: Accept,
        start_filter: StartDateFilter | None,
    ) -> ArchiveReadResult:
        result = super()._read(previous, accept, start_filter)
        pending = self.pending
        pending.flush()
        result.messages += pending.messages
        pending.messages = 0
        # The watermark saw the flushed lines after the bookmark was made.
        latest = pending.watermark.to_state() if pending.watermark is not None else None
        if latest:
            result.bookmark["max_received_at"] = latest
        return result

    def file_reader(
        self, path: str, previous: t.Mapping[str, t.Any] | None, gzip: bool
    ) -> _FileReader:
        """A bulk reader of one archive file."""
        reader: _BulkFileReader = (_BulkGzipReader if gzip else _BulkPlainReader)(
            path, previous, self
        )
        reader.pending = self.pending
        return reader
