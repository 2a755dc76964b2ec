"""target-plg-crm: writes product-usage contacts, companies and associations to a CRM."""

from __future__ import annotations

import logging
import sys
import typing as t
from types import TracebackType

from plg_settings import SettingProblems, StrictSettingsPlugin
from singer_sdk.target_base import Target

from target_plg_crm.crm.errors import CRMAccessError, CRMError
from target_plg_crm.crm.object_types import COMPANIES, CONTACTS
from target_plg_crm.settings import CONFIG_SCHEMA, TargetSettings, check_settings
from target_plg_crm.sinks import SINKS, CRMStreamSink, IgnoredStreamSink
from target_plg_crm.sync_run import SyncRun

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from singer_sdk.sinks import Sink


def crm_errors_in_one_line(
    hook: t.Callable[[type[BaseException], BaseException, TracebackType | None], t.Any],
    logger: logging.Logger,
) -> t.Callable[[type[BaseException], BaseException, TracebackType | None], None]:
    """An excepthook logging a CRMError that stops the run as one line (traceback at debug).

    A CRMError already says what failed and what to do; other errors keep `hook`.
    """

    if getattr(hook, "crm_errors_in_one_line", False):
        return hook  # already wrapped (several targets in one process, as in tests)

    def excepthook(
        kind: type[BaseException], error: BaseException, trace: TracebackType | None
    ) -> None:
        if not isinstance(error, CRMError):
            hook(kind, error, trace)
            return
        logger.error("%s", error)
        logger.debug("Where it stopped", exc_info=(kind, error, trace))

    excepthook.crm_errors_in_one_line = True  # type: ignore[attr-defined]
    return excepthook


class TargetPLGCRM(StrictSettingsPlugin, Target):
    """Upserts `contacts` and `companies` by key and labels their `associations`.

    A config is refused before any record is read (`plg_settings`): unknown settings,
    wrong types and values outside their bounds by the schema (`settings.CONFIG_SCHEMA`),
    the rest by `settings.check_settings`.
    """

    name = "target-plg-crm"

    config_jsonschema = CONFIG_SCHEMA

    def __init__(self, **kwargs: t.Any) -> None:
        """Check the settings, then open the CRM and the ledger (errors stop the start)."""
        super().__init__(**kwargs)
        self.settings = TargetSettings.from_config(self.config)
        # A CRMError from here on (e.g. a local CRM file locked too long) is one line.
        sys.excepthook = crm_errors_in_one_line(sys.excepthook, self.logger)
        try:
            self.run = SyncRun.start(
                self.settings, self.logger, write_objects_first=self.drain_object_sinks
            )
        except CRMAccessError as error:
            # One line naming the setting, like a refused config; no input was read.
            problems = SettingProblems(self.name)
            problems.add(error.setting, str(error))
            problems.raise_if_any()
        # Sinks share one SQLite connection and associations need the ids written by
        # the contacts and companies sinks: drain one sink at a time.
        self.max_parallelism = 1

    def check_settings(self, config: Mapping[str, t.Any], problems: SettingProblems) -> None:
        """The rules JSON Schema cannot say (see `settings.check_settings`)."""
        check_settings(config, problems)

    def get_sink_class(self, stream_name: str) -> type[CRMStreamSink | IgnoredStreamSink]:
        """contacts, companies, associations -> their sinks; anything else is ignored."""
        return SINKS.get(stream_name, IgnoredStreamSink)

    def get_sink(
        self,
        stream_name: str,
        *,
        record: dict | None = None,
        schema: dict | None = None,
        key_properties: t.Sequence[str] | None = None,
    ) -> Sink:
        """The stream's sink, as the SDK's `get_sink`, with two differences.

        Sinks are created here, so that each receives the run it shares with the others
        (the SDK's `add_sink` cannot pass it). A sink replaced by a new SCHEMA is drained
        at once: the SDK would keep its records until the next full drain, and draining
        now keeps contacts and companies written before the associations that follow.
        """
        _ = record
        existing = self._sinks_active.get(stream_name)
        if schema is None:
            return self._sinks_active[stream_name]
        if existing is not None:
            if existing.original_schema == schema and existing.key_properties == key_properties:
                return existing
            self.logger.info("Schema or key properties of stream %r changed", stream_name)
            self.drain_one(existing)
            self._sinks_to_clear.append(self._sinks_active.pop(stream_name))
        sink = self.get_sink_class(stream_name)(
            target=self,
            stream_name=stream_name,
            schema=schema,
            key_properties=key_properties,
            run=self.run,
        )
        sink.setup()
        self._sinks_active[stream_name] = sink
        return sink

    def _process_record_message(self, message_dict: dict) -> None:
        """A record after the last STATE: the input is not known complete (leavers.py)."""
        self.run.closed_by_state = False
        super()._process_record_message(message_dict)

    def _process_batch_message(self, message_dict: dict) -> None:
        """Records in a BATCH file, like a record message."""
        self.run.closed_by_state = False
        super()._process_batch_message(message_dict)

    def _process_state_message(self, message_dict: dict) -> None:
        """A STATE after the records: the transform emits it after its whole model only."""
        self.run.closed_by_state = True
        super()._process_state_message(message_dict)

    def drain_object_sinks(self) -> None:
        """Write the pending companies and contacts (before associations need their ids)."""
        for stream_name in (COMPANIES, CONTACTS):
            if self.sink_exists(stream_name):
                self.drain_one(self.get_sink(stream_name))

    def process_endofpipe(self) -> None:
        """Drain every sink (then the SDK emits the latest STATE) and log the summary."""
        try:
            super().process_endofpipe()
            self.run.act_on_playbooks()
            self.run.finish()
        finally:
            self.run.close()
