"""plg-transform: a Singer mapper turning product events into CRM-ready records."""

from __future__ import annotations

import resource
import sys
import time
import typing as t
from datetime import UTC, datetime, timedelta

import orjson
import singer_sdk.singerlib as singer
from plg_settings import SettingProblems, StrictSettingsPlugin
from singer_sdk import InlineMapper

from plg_transform.bad_input import BadInput
from plg_transform.batch_files import batch_files
from plg_transform.dbt_command import dbt_models_command
from plg_transform.explain_command import with_explain_command
from plg_transform.last_run_records import kept_records
from plg_transform.message_rows import INPUT_STREAMS, MessageRows
from plg_transform.output_fields import KEYS, OUTPUT_ORDER, STREAMS
from plg_transform.output_records import record_lines, schema
from plg_transform.rollup_rows import ROLLUP_STREAM, RollupRows
from plg_transform.rules import report_rule_failures
from plg_transform.run_progress import RunProgress
from plg_transform.scoring import Scores, compute_scores
from plg_transform.setting_checks import check_settings
from plg_transform.settings import CONFIG_JSONSCHEMA, Settings
from plg_transform.singer_input import FastSingerReader
from plg_transform.snapshot import Snapshot
from plg_transform.store import Store
from plg_transform.store_bookmarks import MARKER_KEY, AbsorbedStates, StoreRewind, state_digest
from plg_transform.store_staging import StoreStaging
from plg_transform.timestamps import instant_from_micros

if t.TYPE_CHECKING:
    import click

STATE_KEY = MARKER_KEY  # our key in the pipeline's STATE: {"store_id", "covers"}
_ONE_US = timedelta(microseconds=1)


class PLGTransform(StrictSettingsPlugin, InlineMapper):
    """Scores users, accounts and memberships from Segment-spec events."""

    name = "plg-transform"
    config_jsonschema: t.ClassVar[dict] = CONFIG_JSONSCHEMA
    message_reader_class = FastSingerReader

    def __init__(self, **kwargs: t.Any) -> None:
        """Read the validated settings; open the store lazily on the first message."""
        super().__init__(**kwargs)  # refuses a bad config (check_settings included)
        self.settings = Settings.from_config(self.config)
        now = datetime.now(UTC)
        self.run_started_us = (now - datetime(1970, 1, 1, tzinfo=UTC)) // _ONE_US
        self.as_of_us = self.settings.as_of_us or self.run_started_us
        self.bad = BadInput(strict=self.settings.strict)
        settings = self.settings
        self.rows = MessageRows(
            settings.account_id_paths,
            self.bad,
            self.run_started_us,
            earliest_us=settings.earliest_event_us,
            skew_us=settings.max_clock_skew_us,
        )
        self.staging = StoreStaging(
            lambda: self.store,
            self.rows,
            settings.account_id_paths,
            self.run_started_us + settings.max_clock_skew_us,
            earliest_us=settings.earliest_event_us,
        )
        self.progress = RunProgress(self.logger, self.settings.progress_interval_seconds)
        if isinstance(self.message_reader, FastSingerReader):
            self.message_reader.take_raw_records(INPUT_STREAMS, self._take_lines)
            self.message_reader.max_line_bytes = settings.max_record_bytes
            self.message_reader.on_oversize = lambda line: self.bad.add(
                "oversize_line", line.describe()
            )
        self._input_started = time.perf_counter()
        self.rollups = RollupRows(self.bad, lambda: self.store.con)  # daily_rollups stream
        self.unknown_streams: dict[str, int] = {}
        self.other_records = 0  # records of streams other than the staged input streams
        self.batch_files_read = 0
        self.latest_state: dict | None = None
        self.rewind: StoreRewind | None = None  # set when the store is behind the state
        self._store: Store | None = None

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, plus the subcommands `explain` and `dbt-models`."""
        group = with_explain_command(cls, super().get_singer_command())
        group.add_command(dbt_models_command(cls))
        return group

    def check_settings(self, config: t.Mapping[str, t.Any], problems: SettingProblems) -> None:
        """What the schema cannot say: rules compile, names do not clash (setting_checks)."""
        check_settings(config, problems)

    @property
    def store(self) -> Store:
        """The DuckDB store, opened (and checked against the settings) on first use."""
        if self._store is None:
            store = Store(self.settings.store_path, self.settings.store_memory_limit)
            paths = orjson.dumps(list(self.settings.account_id_paths)).decode()
            remembered = store.get_meta("account_id_paths")
            if remembered is not None and remembered != paths and store.has_history():
                store.close()
                problems = SettingProblems(self.name)
                problems.add(
                    "account_id_paths",
                    f"changed from {remembered} to {paths} since the store "
                    f"{self.settings.store_path} was built; delete it and run "
                    "`meltano run --full-refresh ...` to rebuild it",
                )
                problems.raise_if_any()
            store.set_meta("account_id_paths", paths)
            self._store = store
        return self._store

    # Singer message handling: everything is consumed; output comes at the end.

    def records_read(self) -> int:
        """Input records read so far, of every stream."""
        return self.staging.next_seq + self.other_records

    def _take_lines(self, run: bytes, count: int) -> None:
        self.staging.add_lines(run, count)
        self.progress.reading(self.records_read())

    def map_schema_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """Input schemas are consumed, not forwarded."""
        return ()

    def map_record_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """Buffer a record of an input stream; count records of unknown streams."""
        stream = message_dict.get("stream")
        if stream in INPUT_STREAMS:
            self.staging.add_message(message_dict)
        elif stream == ROLLUP_STREAM:  # roll-ups: loaded and merged by rollup_rows.py
            self.rollups.add(message_dict.get("record"))
            self.other_records += 1
        else:
            name = str(stream)
            self.unknown_streams[name] = self.unknown_streams.get(name, 0) + 1
            self.other_records += 1
        self.progress.reading(self.records_read())
        return ()

    def map_state_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """Hold STATE back: only the latest one is forwarded, after the records.

        A STATE carrying our store id (re-emitted by the tap from the pipeline's saved
        state) must name this store: otherwise the tap resumes from a bookmark this store
        never saw, and the run stops before emitting anything.
        """
        value = message_dict.get("value")
        ours = value.get(STATE_KEY) if isinstance(value, dict) else None
        if isinstance(ours, dict) and isinstance(ours.get("store_id"), str):
            store = self.store
            try:
                store.check_resumes_from(ours["store_id"])
                if self.rewind is None:
                    self.rewind = AbsorbedStates(store.con).check(ours)
            except Exception:
                if store.is_new:
                    store.discard()  # leave no empty store behind to confuse the next run
                else:
                    store.close()
                self._store = None
                raise
        self.latest_state = value
        return ()

    def map_activate_version_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """Versions of input streams mean nothing for the outputs."""
        return ()

    def map_batch_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """Read the JSONL or Parquet files of a BATCH message straight into the store."""
        for batch in batch_files(message_dict):
            if batch.stream in INPUT_STREAMS:
                count = self.staging.add_batch_file(batch)
            elif batch.stream == ROLLUP_STREAM:
                records = self.staging.batch_records(batch)
                for record in records:
                    self.rollups.add(record)
                count = len(records)
                self.other_records += count
            else:
                count = self.staging.count_batch_file(batch)
                self.unknown_streams[batch.stream] = (
                    self.unknown_streams.get(batch.stream, 0) + count
                )
                self.other_records += count
            self.batch_files_read += 1
            self.progress.phase(f"read {count} {batch.stream} records from BATCH file {batch.url}")
            self.progress.reading(self.records_read())
        return ()

    def _flush(self) -> None:
        self.staging.flush()

    # End of input: merge, compute, emit.

    def process_endofpipe(self) -> None:
        """Compute and write companies, contacts, associations, then the latest STATE."""
        started = time.monotonic()
        if self.rewind is not None:
            self._rewind(self.rewind)
            return
        self._flush()
        read_s = time.perf_counter() - self._input_started
        records = self.records_read()
        staged = (
            f"read and staged {records} input records in {read_s:.2f} s "
            f"({records / read_s if read_s > 0 else 0.0:.0f} records/s, "
            f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
        )
        self.progress.phase(staged)
        store = self.store
        stored = self._store_input(store)
        forwarded = self._state_to_forward(store)
        if isinstance(forwarded, dict):  # the store now covers it: remember that
            AbsorbedStates(store.con).record(forwarded)
        snap = Snapshot(con=store.con, settings=self.settings, as_of_us=self.as_of_us)
        scoring_started = time.monotonic()
        scores = compute_scores(snap)
        if scores.invalid_emails:
            examples = ", ".join(scores.invalid_email_examples)
            self.bad.add("invalid_email", examples, count=scores.invalid_emails)
        scored = _scored(scores, self.as_of_us)
        self.progress.phase(f"{scored} in {time.monotonic() - scoring_started:.1f} s")
        emitted = self._emit(snap, scores)
        store.remember_run(self.as_of_us)
        if self.latest_state is not None:
            self.write_message(singer.StateMessage(value=forwarded))
        for stream, n in sorted(self.unknown_streams.items()):
            self.logger.warning("unknown stream %r: %d records ignored", stream, n)
        self.bad.report(self.logger)
        report_rule_failures(self.logger, scores.rule_failures)
        store.close()
        self._store = None
        batches = f" from {self.batch_files_read} BATCH files" if self.batch_files_read else ""
        self.progress.summary(
            f"run summary: {staged}{batches}; {stored}; {scored}; emitted "
            + ", ".join(f"{n} {stream}" for stream, n in emitted.items())
            + f"; computed and emitted in {time.monotonic() - started:.1f} s"
        )

    def _store_input(self, store: Store) -> str:
        """Merge the run's staged messages and roll-ups into the store; say what was new."""
        started = time.monotonic()
        counts = store.merge_incoming()
        stored = (
            f"stored {counts['messages_new']} new of {counts['messages_received']} received "
            f"messages ({counts['messages_received'] - counts['messages_new']} re-delivered "
            f"ignored), {counts['observations_new']} new of {counts['observations_received']} "
            "metric observations"
        )
        rollups = self.rollups.merge()  # daily_rollups: replace stored ones key by key
        if rollups["rollups_received"]:
            stored += (
                f", stored {rollups['rollups_received']} roll-up rows "
                f"({rollups['rollup_keys']} keys)"
            )
        self.progress.phase(f"{stored} in {time.monotonic() - started:.1f} s")
        return stored

    def _state_to_forward(self, store: Store) -> t.Any:
        """The tap's latest state with our marker added (the tap's own keys untouched).

        The marker names the store and the digest of the bookmarks it now covers, which
        the next run checks against the store's `absorbed_states` (store_bookmarks.py).
        """
        value = self.latest_state
        if not isinstance(value, dict):
            return value
        marker = {"store_id": store.store_id, "covers": state_digest(value)}
        return {**value, STATE_KEY: marker}

    def _rewind(self, rewind: StoreRewind) -> None:
        """Score nothing; forward the last STATE the store absorbed (store_bookmarks.py)."""
        self.logger.warning("%s", rewind.message(self.settings.store_path))
        self.write_message(singer.StateMessage(value=rewind.state))
        self.bad.report(self.logger)
        self.store.close()
        self._store = None

    def _emit(self, snap: Snapshot, scores: Scores) -> dict[str, int]:
        """Write each output stream's SCHEMA and RECORDs; the number of records per stream.

        What is written is also kept next to the store for `plg-report` (last_run_records).
        """
        out = sys.stdout
        metrics = scores.metrics
        emitted: dict[str, int] = {}
        with kept_records(self.settings.store_path, snap.as_of_us, scores.references) as kept:
            for kind in OUTPUT_ORDER:
                started = time.monotonic()
                schema_message = singer.SchemaMessage(
                    stream=STREAMS[kind],
                    schema=schema(snap, kind, metrics),
                    key_properties=KEYS[kind],
                )
                self.write_message(schema_message)
                kept.schema(schema_message.to_dict())
                count = 0
                for lines in record_lines(snap, kind, metrics):
                    out.write("\n".join(lines))
                    out.write("\n")
                    kept.lines(lines)
                    count += len(lines)
                out.flush()
                emitted[STREAMS[kind]] = count
                self.progress.phase(
                    f"emitted {count} {STREAMS[kind]} records in {time.monotonic() - started:.1f} s"
                )
        return emitted


def _scored(scores: Scores, as_of_us: int) -> str:
    """`scored 50 users, ... as of T (score references: ...)` for the log."""
    entities = scores.entities
    references = ", ".join(
        f"{kind} {'none' if ref is None else f'{ref:g}'}" for kind, ref in scores.references.items()
    )
    as_of = instant_from_micros(as_of_us).isoformat().replace("+00:00", "Z")
    return (
        f"scored {entities['user']} users, {entities['account']} accounts, "
        f"{entities['membership']} memberships as of {as_of} "
        f"(score references, P90 or configured: {references})"
    )
