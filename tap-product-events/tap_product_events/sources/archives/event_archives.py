"""JSON-lines event archives (plain or gzip) and their per-file arrival bookmarks.

Bookmark per file, kept in the STATE under `sources.events_files.files`:

- plain files (`.jsonl`, `.json`) are append-only logs: `{"offset", "lines", "inode"}`; the
  next run reads from `offset`. A file that shrank or has another inode was replaced, and
  is read again from its start.
- gzip files (`.gz`, `.jsonl.gz`) cannot be appended to: `{"size", "mtime_ns"}`; a gzip
  file whose size or mtime changed is read again wholly. The messages it re-delivers keep
  their `messageId`, and the transform counts a `messageId` once.
- objects in S3, GCS or Azure (`s3://...` globs, sources.archives.remote_objects):
  `{"size", "etag"}` or `{"size", "generation"}`, keyed by URL; read again wholly when
  either changed.
"""

from __future__ import annotations

import datetime as dt
import gzip
import logging
import os
import typing as t
import zlib
from dataclasses import dataclass
from glob import escape, glob

import orjson

from tap_product_events.arrival import ArrivalWatermark, StartDateFilter
from tap_product_events.malformed import MalformedLineReport
from tap_product_events.message_limits import (
    DEFAULT_MAX_MESSAGE_BYTES,
    OversizeLine,
    Readable,
    bounded_lines,
)
from tap_product_events.segment_messages import MalformedMessageError, arrival_text
from tap_product_events.sources.archives.remote_objects import (
    ObjectStorageError,
    RemoteArchives,
    scheme_of,
)
from tap_product_events.sources.archives.settings import SUPPORTED_SUFFIXES
from tap_product_events.sources.event_source import Accept, SourceOutput, read_note, reading

_BOM = b"\xef\xbb\xbf"


def is_gzip(path: str) -> bool:
    """Gzip archives are recognised by their name, as Segment and RudderStack write them."""
    return path.lower().endswith(".gz")


def find_archive_files(patterns: t.Iterable[str], logger: logging.Logger) -> list[str]:
    """Absolute paths of the archive files the globs match, sorted, each once.

    A glob that matches a folder stands for every archive file below it.
    """
    found: set[str] = set()
    for pattern in patterns:
        if scheme_of(pattern) is not None:
            continue  # objects in storage: RemoteArchives lists them
        absolute = os.path.abspath(os.path.expanduser(pattern))
        matches = glob(absolute, recursive=True)
        if not matches:
            logger.warning("events_paths: %r matches no file (yet)", pattern)
        for match in matches:
            if os.path.isdir(match):
                matches_below = glob(os.path.join(escape(match), "**", "*"), recursive=True)
                found.update(m for m in matches_below if _is_archive(m))
            elif _is_archive(match):
                found.add(match)
            else:
                logger.info(
                    "events_paths: skipped %s (not %s)", match, " / ".join(SUPPORTED_SUFFIXES)
                )
    return sorted(found)


def _is_archive(path: str) -> bool:
    return path.lower().endswith(SUPPORTED_SUFFIXES) and os.path.isfile(path)


@dataclass
class ArchiveReadResult:
    """What one pass over the archives produced, to be committed to the STATE later."""

    bookmark: dict[str, t.Any]
    files_read: int
    messages: int


class EventArchives:
    """The `events_paths` source (an EventSource): reads what arrived since its bookmark."""

    state_key = "events_files"

    def __init__(
        self,
        patterns: t.Sequence[str],
        logger: logging.Logger,
        report: MalformedLineReport,
        storage_options: t.Mapping[str, t.Mapping[str, t.Any]] | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self.patterns = patterns
        self.logger = logger
        self.report = report
        self.max_message_bytes = max_message_bytes
        self.remote = RemoteArchives(storage_options or {})
        self._output = SourceOutput(message=lambda _message: None)

    def read(
        self,
        previous: t.Mapping[str, t.Any] | None,
        output: SourceOutput,
        start_date: dt.datetime | None,
    ) -> dict[str, t.Any]:
        """Pass every message that arrived since `previous` to `output`, once.

        Returns the bookmark that covers what was read; the caller commits it to the STATE
        only after the records were emitted.
        """
        start_filter = StartDateFilter(start_date) if start_date is not None else None
        self._output = output
        result = self._read(previous or {}, output.message, start_filter)
        files = f"{result.files_read} file{'s' if result.files_read != 1 else ''} read"
        read_note(output, self.logger, f"events_paths: {result.messages} new messages, {files}")
        if start_filter is not None:
            self.logger.info(
                "First run: skipped %d messages that arrived before start_date %s",
                start_filter.skipped,
                start_filter.start_date.isoformat(),
            )
        return result.bookmark

    def file_reader(
        self, path: str, previous: t.Mapping[str, t.Any] | None, gzip: bool
    ) -> _FileReader:
        """The reader of one archive file (BATCH output reads its lines in bulk)."""
        return (_GzipReader if gzip else _PlainReader)(path, previous, self)

    def _read(
        self,
        previous: t.Mapping[str, t.Any],
        accept: Accept,
        start_filter: StartDateFilter | None,
    ) -> ArchiveReadResult:
        old_files: dict[str, t.Any] = dict(previous.get("files") or {})
        watermark = ArrivalWatermark(previous.get("max_received_at"))
        # Files no longer on disk cannot come back with new lines; dropping them keeps the
        # STATE as small as the archive folder. A file restored later is read again.
        new_files = {
            path: mark
            for path, mark in old_files.items()
            if scheme_of(path) is None and os.path.exists(path)
        }
        files_read = messages = 0
        remote_objects = self._remote_objects(old_files, new_files)
        for path in find_archive_files(self.patterns, self.logger):
            reading(self._output, path)
            reader = self.file_reader(path, old_files.get(path), is_gzip(path))
            outcome = reader.read(accept, watermark, start_filter)
            if outcome is None:
                continue  # unreadable this time: keep the old bookmark, retry next run
            mark, count = outcome
            new_files[path] = mark
            if count is not None:
                files_read += 1
                messages += count
        for url, identity in sorted(remote_objects.items()):
            reading(self._output, url)
            remote = _ObjectReader(url, old_files.get(url), self, identity)
            outcome = remote.read(accept, watermark, start_filter)
            if outcome is None:
                continue
            mark, count = outcome
            new_files[url] = mark
            if count is not None:
                files_read += 1
                messages += count
        bookmark: dict[str, t.Any] = {"files": new_files}
        if watermark.to_state():
            bookmark["max_received_at"] = watermark.to_state()
        return ArchiveReadResult(bookmark=bookmark, files_read=files_read, messages=messages)

    def _remote_objects(
        self, old_files: t.Mapping[str, t.Any], new_files: dict[str, t.Any]
    ) -> dict[str, dict[str, t.Any]]:
        """URL -> identity of the objects the remote globs match now.

        Objects no longer listed are dropped from the bookmark, like deleted files; when a
        glob cannot be listed, its old marks are kept and it is tried again next run.
        """
        found: dict[str, dict[str, t.Any]] = {}
        for pattern in self.patterns:
            if scheme_of(pattern) is None:
                continue
            try:
                matches = self.remote.find(pattern)
            except ObjectStorageError as exc:
                self.report.report_file(pattern, str(exc))
                prefix = pattern.split("*", 1)[0]
                new_files.update({u: m for u, m in old_files.items() if u.startswith(prefix)})
                continue
            if not matches:
                self.logger.warning("events_paths: %r matches no object (yet)", pattern)
            found.update(matches)
        return found


class _FileReader:
    """Reads one archive file's new lines; shared line handling of plain and gzip files."""

    def __init__(self, path: str, previous: t.Mapping[str, t.Any] | None, source: EventArchives):
        self.path = path
        self.previous = previous
        self.logger = source.logger
        self.report = source.report
        self.limit = source.max_message_bytes

    def read(
        self, accept: Accept, watermark: ArrivalWatermark, start_filter: StartDateFilter | None
    ) -> tuple[dict[str, t.Any], int | None] | None:
        """(new bookmark, messages read or None if unchanged), or None if unreadable."""
        raise NotImplementedError

    def _unreadable(self, reason: str) -> None:
        self.report.report_file(self.path, reason)

    def _cannot_read(self, exc: OSError) -> None:
        self._unreadable(f"cannot read the file ({exc.strerror or exc})")

    def _stat(self) -> os.stat_result | None:
        """The file's size, times and inode; None (reported) when it cannot be read."""
        try:
            return os.stat(self.path)
        except OSError as exc:
            self._cannot_read(exc)
            return None

    def _lines(self, handle: Readable) -> t.Iterable[bytes | OversizeLine]:
        """The file's lines, none longer than the size limit held in memory."""
        return bounded_lines(handle, self.limit)

    def _take_lines(
        self,
        lines: t.Iterable[bytes | OversizeLine],
        first_line_number: int,
        accept: Accept,
        watermark: ArrivalWatermark,
        start_filter: StartDateFilter | None,
    ) -> tuple[int, int, int | None]:
        """Parse and accept lines; returns (lines taken, messages, unfinished line's bytes).

        A last line without its newline that does not parse (or is over the size limit)
        is returned, not reported: in a plain file it may still be being written.
        Raises _DamagedInputError when reading fails part-way (I/O error, damaged gzip data).
        """
        loads, decode_error = orjson.loads, orjson.JSONDecodeError
        report, path = self.report.report, self.path
        see = watermark.see
        keeps = start_filter.keeps if start_filter is not None else None
        line_number = first_line_number - 1
        messages = 0
        try:
            for line in lines:
                line_number += 1
                if type(line) is OversizeLine:
                    if not line.complete:
                        return line_number - first_line_number, messages, line.size
                    report(path, line_number, line.reason(self.limit))
                    continue
                line = t.cast("bytes", line)
                try:
                    message = loads(line)
                except decode_error as exc:
                    if not line.strip():
                        continue
                    if not line.endswith(b"\n"):
                        return line_number - first_line_number, messages, len(line)
                    if line_number != 1 or not line.startswith(_BOM):
                        report(path, line_number, f"not valid JSON ({exc})")
                        continue
                    try:
                        message = loads(line[len(_BOM) :])
                    except decode_error:
                        report(path, line_number, f"not valid JSON ({exc})")
                        continue
                if keeps is not None and type(message) is dict and not keeps(arrival_text(message)):
                    continue
                try:
                    accept(message)
                except MalformedMessageError as exc:
                    report(path, line_number, str(exc))
                    continue
                see(message.get("receivedAt"))
                messages += 1
        except (OSError, EOFError, zlib.error) as exc:
            # Only the reading side raises these: the spool raises SpoolError instead.
            raise _DamagedInputError(line_number, exc) from exc
        return line_number - first_line_number + 1, messages, None


class _DamagedInputError(Exception):
    """Reading a file failed after `lines_read` lines."""

    def __init__(self, lines_read: int, cause: BaseException) -> None:
        super().__init__(f"after line {lines_read}: {cause}")
        self.lines_read = lines_read
        self.cause = cause


class _PlainReader(_FileReader):
    def read(
        self, accept: Accept, watermark: ArrivalWatermark, start_filter: StartDateFilter | None
    ) -> tuple[dict[str, t.Any], int | None] | None:
        stat = self._stat()
        if stat is None:
            return None
        offset, lines_before = 0, 0
        if self.previous and "offset" in self.previous:
            old_offset = int(self.previous["offset"])
            same_file = self.previous.get("inode") in (None, stat.st_ino)
            if same_file and stat.st_size == old_offset:
                return dict(self.previous), None
            if same_file and stat.st_size > old_offset:
                offset, lines_before = old_offset, int(self.previous.get("lines", 0))
            else:
                self.logger.warning(
                    "%s was replaced or truncated since the last run; reading it from its start",
                    self.path,
                )
        try:
            with open(self.path, "rb") as handle:
                handle.seek(offset)
                taken, messages, unfinished = self._take_lines(
                    self._lines(handle),
                    lines_before + 1,
                    accept,
                    watermark,
                    start_filter,
                )
                end = handle.tell() - (unfinished or 0)
        except _DamagedInputError as exc:
            self._unreadable(f"reading failed {exc}")
            return None
        except OSError as exc:
            self._cannot_read(exc)
            return None
        if unfinished:
            self.logger.info(
                "%s:%d has no newline yet and is incomplete; it is read on the next run",
                self.path,
                lines_before + taken + 1,
            )
        mark = {"offset": end, "lines": lines_before + taken, "inode": stat.st_ino}
        return mark, messages


class _GzipReader(_FileReader):
    def read(
        self, accept: Accept, watermark: ArrivalWatermark, start_filter: StartDateFilter | None
    ) -> tuple[dict[str, t.Any], int | None] | None:
        stat = self._stat()
        if stat is None:
            return None
        mark = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        if self.previous and all(self.previous.get(k) == v for k, v in mark.items()):
            return dict(self.previous), None
        if self.previous:
            self.logger.info("%s changed since the last run; reading it again wholly", self.path)
        try:
            with gzip.open(self.path, "rb") as handle:
                taken, messages, unfinished = self._take_lines(
                    self._lines(handle), 1, accept, watermark, start_filter
                )
        except _DamagedInputError as exc:
            # A truncated or corrupt archive (perhaps still being uploaded): the lines
            # before the damage went through; the file is read again next run.
            self._unreadable(f"gzip data is damaged or cut {exc}")
            return None
        except OSError as exc:
            self._cannot_read(exc)
            return None
        if unfinished:
            # A finished gzip file has no "line still being written": this one is cut.
            self.report.report(self.path, taken + 1, "not valid JSON (the line is cut short)")
        return mark, messages


class _ObjectReader(_FileReader):
    """One object in S3, GCS or Azure: read wholly when its size or ETag/generation changed."""

    def __init__(
        self,
        url: str,
        previous: t.Mapping[str, t.Any] | None,
        source: EventArchives,
        identity: dict[str, t.Any],
    ) -> None:
        super().__init__(url, previous, source)
        self.identity = identity
        self.remote = source.remote

    def read(
        self, accept: Accept, watermark: ArrivalWatermark, start_filter: StartDateFilter | None
    ) -> tuple[dict[str, t.Any], int | None] | None:
        if self.previous == self.identity:
            return dict(self.identity), None
        if self.previous:
            self.logger.info("%s changed since the last run; reading it again wholly", self.path)
        try:
            with self.remote.open_lines(self.path) as handle:
                taken, messages, unfinished = self._take_lines(
                    handle, 1, accept, watermark, start_filter
                )
        except _DamagedInputError as exc:
            self._unreadable(f"the object is damaged or cut {exc}")
            return None
        except (OSError, ObjectStorageError) as exc:
            self._unreadable(f"cannot read the object ({exc})")
            return None
        if unfinished:
            self.report.report(self.path, taken + 1, "not valid JSON (the line is cut short)")
        return dict(self.identity), messages
