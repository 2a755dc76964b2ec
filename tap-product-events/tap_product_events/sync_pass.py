"""One pass over the sources per run, shared by the message streams.

The first message stream the SDK syncs triggers the pass: every source is read once, each
record lands in its stream's spool file, and each stream then drains its own spool. The
sources' new bookmarks are held back and committed to the STATE only when every selected
stream has emitted its records: a bookmark never runs ahead of the records it covers, so
a run that fails part-way is read again in full next time (and the transform's dedup by
`messageId` absorbs what was already delivered).
"""

from __future__ import annotations

import copy
import logging
import typing as t
import weakref

from tap_product_events.batch_output import BatchSpool
from tap_product_events.malformed import MalformedLineReport
from tap_product_events.progress import ReadProgress
from tap_product_events.segment_messages import to_record
from tap_product_events.settings import TapSettings
from tap_product_events.sources.archives.batch_reader import BulkEventArchives
from tap_product_events.sources.archives.event_archives import EventArchives
from tap_product_events.sources.event_source import EventSource, SourceOutput
from tap_product_events.sources.warehouse.daily_rollups import STREAM_NAME as ROLLUP_STREAM
from tap_product_events.sources.warehouse.warehouse_events import WarehouseEvents
from tap_product_events.spool import Spool

SOURCES_STATE_KEY = "sources"
"""Top-level STATE key holding each source's bookmark, next to the SDK's `bookmarks`."""


class SyncPass:
    """Reads the sources once and hands each stream its records."""

    def __init__(
        self,
        settings: TapSettings,
        tap_state: dict[str, t.Any],
        selected_streams: t.Callable[[], set[str]],
        write_state: t.Callable[[], None],
        logger: logging.Logger,
    ) -> None:
        self.settings = settings
        self.tap_state = tap_state
        self.selected_streams = selected_streams
        self.write_state = write_state
        self.logger = logger
        self._spool: Spool | BatchSpool | None = None
        self._waiting: set[str] = set()
        self._pending: dict[str, t.Any] = {}

    def records(self, stream_name: str) -> t.Iterator[dict[str, t.Any]]:
        """The stream's records of this run; the first call reads the sources."""
        if self._spool is None or stream_name not in self._waiting:
            self._read_sources()
        assert isinstance(self._spool, Spool)
        yield from self._spool.read(stream_name)
        self._waiting.discard(stream_name)
        if not self._waiting:
            self._commit()

    def batches(self, stream_name: str) -> t.Iterator[list[str]]:
        """The stream's batch file URLs of this run (BATCH output); the first call reads.

        The bookmarks are committed once the last stream's BATCH message was written (the
        caller resumes this generator only then).
        """
        if self._spool is None or stream_name not in self._waiting:
            self._read_sources()
        assert isinstance(self._spool, BatchSpool)
        manifest = self._spool.read(stream_name)
        if manifest:
            yield manifest
        self._waiting.discard(stream_name)
        if not self._waiting:
            self._commit()

    def _read_sources(self) -> None:
        if self._spool is not None:
            self._spool.close()
        selected = self.selected_streams()
        batch = self.settings.batch
        spool = Spool(selected) if batch is None else BatchSpool(selected, batch)
        # The spool's temporary folder goes away even if the run stops part-way.
        weakref.finalize(self, spool.close)
        self._spool, self._waiting = spool, set(selected)
        writers = {name: spool.writer(name) for name in selected}

        progress = ReadProgress(self.logger, self.settings.progress_interval_seconds)
        counted = progress.counted

        def accept(message: dict[str, t.Any]) -> None:
            stream_name, record = to_record(message)
            append = writers.get(stream_name)
            if append is not None:  # deselected streams' messages are read past
                append(record)
            counted()

        rollup = writers.get(ROLLUP_STREAM)

        def accept_rollup(record: dict[str, t.Any]) -> None:
            assert rollup is not None
            rollup(record)
            counted()

        report = MalformedLineReport(self.logger, strict=self.settings.strict)
        output = SourceOutput(
            message=accept,
            rollup=accept_rollup if rollup is not None else None,
            progress=progress,
        )
        sources_state = self.tap_state.get(SOURCES_STATE_KEY) or {}
        self._pending = {}
        for source in self._event_sources(report, spool):
            previous = sources_state.get(source.state_key)
            start_date = self.settings.start_date if previous is None else None
            self._pending[source.state_key] = source.read(previous, output, start_date)
        spool.finish_writing()
        if isinstance(spool, BatchSpool):
            spool.write_files()
        per_stream = ", ".join(f"{name}: {n}" for name, n in sorted(spool.counts.items()))
        malformed = report.quiet_summary()  # a warning line of its own when lines were bad
        progress.summary(f"records per stream: {per_stream or '-'}", malformed or "")
        if not self._waiting:
            self._commit()

    def _event_sources(
        self, report: MalformedLineReport, spool: Spool | BatchSpool
    ) -> list[EventSource]:
        """The configured message sources, in the order they are read."""
        sources: list[EventSource] = []
        paths = self.settings.events_paths
        options = self.settings.storage_options
        limit = self.settings.max_message_bytes
        if paths and isinstance(spool, BatchSpool):
            sources.append(
                BulkEventArchives(
                    paths, self.logger, report, spool, options, max_message_bytes=limit
                )
            )
        elif paths:
            sources.append(
                EventArchives(
                    paths,
                    self.logger,
                    report,
                    storage_options=options,
                    max_message_bytes=limit,
                )
            )
        if self.settings.events_sql is not None:
            sources.append(WarehouseEvents(self.settings.events_sql, self.logger, report))
        return sources

    def _commit(self) -> None:
        """Move the held-back bookmarks into the STATE and emit it."""
        if not self._pending:
            return
        sources_state = self.tap_state.setdefault(SOURCES_STATE_KEY, {})
        sources_state.update(copy.deepcopy(self._pending))
        self._pending = {}
        if self._spool is not None:
            self._spool.close()
        self.write_state()
