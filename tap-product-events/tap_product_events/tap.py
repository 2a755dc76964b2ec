"""tap-product-events: Segment-spec product events and backend metrics as Singer streams."""

from __future__ import annotations

import copy
import typing as t

from plg_settings import SettingProblems, StrictSettingsPlugin
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import FatalSyncError
from singer_sdk.helpers.capabilities import (
    CapabilitiesEnum,
    PluginCapabilities,
    TapCapabilities,
)

from tap_product_events.settings import CONFIG_SCHEMA, TapSettings, check_settings
from tap_product_events.singer_output import OrjsonSingerWriter
from tap_product_events.sources.metrics.metrics_stream import MetricsStream
from tap_product_events.sources.scores.score_streams import score_streams
from tap_product_events.streams import (
    DailyRollupStream,
    MessageStream,
    message_streams,
    use_batches,
)
from tap_product_events.sync_pass import SOURCES_STATE_KEY, SyncPass


class TapProductEvents(StrictSettingsPlugin, Tap):
    """Reads Segment/RudderStack-style events (archives, warehouse tables) on arrival, and
    backend metrics (SQL queries, JSON endpoints) as snapshots."""

    name = "tap-product-events"
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = OrjsonSingerWriter
    # The streams depend on the config (`daily_rollups`, `metrics`), so `--discover`
    # validates it too and refuses a broken one as a sync would.
    dynamic_catalog = True
    # BATCH: with `batch_config`, one pass writes every stream's files and the bookmarks
    # commit after the last BATCH message (SyncPass.batches). No ACTIVATE_VERSION (an
    # arrival-incremental read is not a full table version; a target would delete the
    # earlier rows).
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        PluginCapabilities.BATCH,
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self._settings: TapSettings | None = None
        self._sync_pass: SyncPass | None = None
        super().__init__(*args, **kwargs)

    def check_settings(self, config: t.Mapping[str, t.Any], problems: SettingProblems) -> None:
        """What the schema cannot say (see `settings.check_settings`)."""
        check_settings(config, problems)

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        problems = super()._validate_config(raise_errors=raise_errors)
        # Read once, from a config that passed; a config that did not (`--about`) has none.
        self._settings = None if problems else TapSettings.from_config(self.config)
        return problems

    @property
    def settings(self) -> TapSettings:
        """The settings of this run, read once from the validated config."""
        if self._settings is None:
            raise RuntimeError("the config was not validated")  # only without validation
        return self._settings

    @property
    def sync_pass(self) -> SyncPass:
        """The run's single pass over the sources, shared by the message streams."""
        if self._sync_pass is None:
            self._sync_pass = SyncPass(
                settings=self.settings,
                tap_state=self._state_dict,
                selected_streams=self._selected_message_streams,
                write_state=lambda: self.state_writer.write_state(self.state),
                logger=self.logger,
            )
        return self._sync_pass

    def _selected_message_streams(self) -> set[str]:
        return {
            name
            for name, stream in self.streams.items()
            if isinstance(stream, MessageStream) and stream.selected
        }

    def _records_of(self, stream_name: str) -> t.Iterator[dict[str, t.Any]]:
        return self.sync_pass.records(stream_name)

    def _batches_of(self, stream_name: str) -> t.Iterator[list[str]]:
        return self.sync_pass.batches(stream_name)

    def discover_streams(self) -> list[Stream]:
        """The six message streams, plus those of the configured sources.

        `daily_rollups` exists when `events_sql.rollup` is on, `metrics` when a backend
        metrics source is configured (a stream that can never have records is left out).
        """
        message_list = message_streams(self, self._records_of)
        settings = self._settings
        if settings is None:
            return list(message_list)  # e.g. --about without a config
        if settings.scores_sql is not None:
            # The dbt package's results: the transform's streams, for the target directly.
            try:
                return score_streams(self, settings.scores_sql)
            except FatalSyncError as exc:  # no results to read: one line, exit 1
                self.logger.error("%s", exc)
                raise SystemExit(1) from None
        if settings.events_sql is not None and settings.events_sql.rollup:
            message_list.append(DailyRollupStream(self, self._records_of))
        use_batches(message_list, settings.batch, self._batches_of)
        streams: list[Stream] = list(message_list)
        if settings.has_metrics:
            streams.append(
                MetricsStream(
                    self,
                    settings.metrics_queries,
                    settings.metrics_endpoints,
                    strict=settings.strict,
                )
            )
        return streams

    def load_state(self, state: dict[str, t.Any]) -> None:
        """Keep the sources' bookmarks (top-level `sources`) next to the SDK's `bookmarks`.

        Other top-level keys are passed through unchanged into every STATE this tap
        emits: a downstream mapper (plg-transform) keeps its own marker there, which lets
        it recognise a lost store on the next run.
        """
        super().load_state(state)
        sources = state.get(SOURCES_STATE_KEY)
        if isinstance(sources, dict):
            self._state_dict[SOURCES_STATE_KEY] = copy.deepcopy(sources)
        for key, value in state.items():
            if key not in ("bookmarks", SOURCES_STATE_KEY):
                self._state_dict[key] = copy.deepcopy(value)

    @property
    def _state_dict(self) -> dict[str, t.Any]:
        # The SDK types its STATE as holding `bookmarks` only; ours adds `sources`.
        return t.cast("dict[str, t.Any]", self.state)


if __name__ == "__main__":
    TapProductEvents.cli()
