"""plg-transform: a Singer mapper turning product events into CRM-ready records."""

from __future__ import annotations

import sys
import time
import typing as t
from datetime import UTC, datetime, timedelta

import orjson
import singer_sdk.singerlib as singer
from singer_sdk import InlineMapper
from singer_sdk.exceptions import ConfigValidationError

from plg_transform.activity import build_activity
from plg_transform.bad_input import BadInput
from plg_transform.config import CONFIG_JSONSCHEMA, parse_settings
from plg_transform.engagement import build_engagement
from plg_transform.fields import KEYS, OUTPUT_ORDER, STREAMS, check_trait_names
from plg_transform.messages import INPUT_STREAMS, MessageRows
from plg_transform.population import (
    Snapshot,
    build_metrics,
    build_population,
    build_traits,
    invalid_emails,
)
from plg_transform.reader import FastSingerReader
from plg_transform.records import build_records, record_lines, schema
from plg_transform.rules import check_rules, metric_fields
from plg_transform.store import Store

FLUSH_EVERY = 50_000
_ONE_US = timedelta(microseconds=1)


class PLGTransform(InlineMapper):
    """Scores users, accounts and memberships from Segment-spec events."""

    name = "plg-transform"
    config_jsonschema: t.ClassVar[dict] = CONFIG_JSONSCHEMA
    message_reader_class = FastSingerReader

    def __init__(self, **kwargs: t.Any) -> None:
        """Parse and check the settings; open the store lazily on the first message."""
        super().__init__(**kwargs)
        self.settings = parse_settings(self.config)
        check_trait_names(self.settings)
        check_rules(self.settings)
        self._rule_metrics = metric_fields(self.settings)
        now = datetime.now(UTC)
        self.run_started_us = (now - datetime(1970, 1, 1, tzinfo=UTC)) // _ONE_US
        self.as_of_us = self.settings.as_of_us or self.run_started_us
        self.bad = BadInput(strict=self.settings.strict)
        self.rows = MessageRows(self.settings.account_id_paths, self.bad, self.run_started_us)
        self.unknown_streams: dict[str, int] = {}
        self.latest_state: dict | None = None
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        """The DuckDB store, opened (and checked against the settings) on first use."""
        if self._store is None:
            store = Store(self.settings.store_path)
            paths = orjson.dumps(list(self.settings.account_id_paths)).decode()
            remembered = store.get_meta("account_id_paths")
            if remembered is not None and remembered != paths and store.has_history():
                store.close()
                raise ConfigValidationError(
                    "Invalid plg-transform settings",
                    errors=[
                        f"account_id_paths: changed from {remembered} to {paths} since the store "
                        f"{self.settings.store_path} was built; delete it and run "
                        "`meltano run --full-refresh ...` to rebuild it"
                    ],
                )
            store.set_meta("account_id_paths", paths)
            self._store = store
        return self._store

    # Singer message handling: everything is consumed; output comes at the end.

    def map_schema_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """Input schemas are consumed, not forwarded."""
        return ()

    def map_record_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """Buffer a record of an input stream; count records of unknown streams."""
        stream = message_dict.get("stream")
        if stream in INPUT_STREAMS:
            self.rows.add(t.cast(str, stream), message_dict.get("record"))
            if len(self.rows.messages) >= FLUSH_EVERY or len(self.rows.traits) >= FLUSH_EVERY:
                self._flush()
        else:
            name = str(stream)
            self.unknown_streams[name] = self.unknown_streams.get(name, 0) + 1
        return ()

    def map_state_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """Hold STATE back: only the latest one is forwarded, after the records."""
        self.latest_state = message_dict.get("value")
        return ()

    def map_activate_version_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """Versions of input streams mean nothing for the outputs."""
        return ()

    def map_batch_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """BATCH input is not supported yet."""
        msg = (
            f"plg-transform does not read BATCH messages yet (stream "
            f"{message_dict.get('stream')!r}); configure the tap without batch_config"
        )
        raise NotImplementedError(msg)

    def _flush(self) -> None:
        store = self.store
        store.append("messages", self.rows.messages)
        store.append("traits", self.rows.traits)
        store.append("observations", self.rows.observations)
        self.rows.messages, self.rows.traits, self.rows.observations = [], [], []

    # End of input: merge, compute, emit.

    def process_endofpipe(self) -> None:
        """Compute and write companies, contacts, associations, then the latest STATE."""
        started = time.monotonic()
        self._flush()
        store = self.store
        counts = store.merge_incoming()
        self.logger.info(
            "stored %d new of %d received messages (%d re-delivered ignored), "
            "%d new of %d metric observations",
            counts["messages_new"],
            counts["messages_received"],
            counts["messages_received"] - counts["messages_new"],
            counts["observations_new"],
            counts["observations_received"],
        )
        snap = Snapshot(con=store.con, settings=self.settings, as_of_us=self.as_of_us)
        build_population(snap)
        build_traits(snap)
        invalid, examples = invalid_emails(snap)
        if invalid:
            self.bad.add("invalid_email", ", ".join(examples), count=invalid)
        metrics = build_metrics(snap)
        refs = build_engagement(snap)
        build_activity(snap)
        try:
            build_records(snap, metrics, self._rule_metrics)
        except Exception as exc:  # a rule that fails on this data names itself
            raise RuntimeError(f"evaluating rules failed: {exc}") from exc
        self.logger.info("score references (P90 or configured): %s", refs)
        self._emit(snap, metrics)
        if self.latest_state is not None:
            self.write_message(singer.StateMessage(value=self.latest_state))
        for stream, n in sorted(self.unknown_streams.items()):
            self.logger.warning("unknown stream %r: %d records ignored", stream, n)
        self.bad.report(self.logger)
        store.close()
        self._store = None
        self.logger.info("computed and emitted in %.1f s", time.monotonic() - started)

    def _emit(self, snap: Snapshot, metrics: dict[str, list[str]]) -> None:
        out = sys.stdout
        for kind in OUTPUT_ORDER:
            self.write_message(
                singer.SchemaMessage(
                    stream=STREAMS[kind],
                    schema=schema(snap, kind, metrics),
                    key_properties=KEYS[kind],
                )
            )
            emitted = 0
            for lines in record_lines(snap, kind, metrics):
                out.write("\n".join(lines))
                out.write("\n")
                emitted += len(lines)
            out.flush()
            self.logger.info("emitted %d %s records", emitted, STREAMS[kind])
