"""The message streams: one per Segment message type, named after the warehouse tables."""

from __future__ import annotations

import typing as t

from singer_sdk import Stream
from singer_sdk import typing as th
from singer_sdk.helpers._batch import BatchConfig
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import SelectionMask

from tap_product_events.segment_messages import MESSAGE_TYPES, MessageType
from tap_product_events.sources.warehouse.daily_rollups import KEY as DAILY_ROLLUP_KEY
from tap_product_events.sources.warehouse.daily_rollups import SCHEMA as DAILY_ROLLUP_SCHEMA
from tap_product_events.sources.warehouse.daily_rollups import STREAM_NAME as DAILY_ROLLUP_STREAM

if t.TYPE_CHECKING:
    from singer_sdk import Tap
    from singer_sdk.helpers._batch import BaseBatchFileEncoding
    from singer_sdk.helpers.types import Context

    from tap_product_events.batch_settings import BatchSettings

RecordsOf = t.Callable[[str], t.Iterator[dict[str, t.Any]]]
"""A stream's records of this run, by stream name (the run's SyncPass hands them out)."""
BatchesOf = t.Callable[[str], t.Iterator[list[str]]]
"""A stream's batch file URLs of this run, by stream name (BATCH output)."""

_ID = "A string, or null. Numbers in the source become decimal strings, '' becomes null."
_TIME = "As the source wrote it (ISO 8601 in Segment's spec); not re-formatted."
_OBJECT = "A JSON object passed as it is (any keys, no per-key type conformance), or null."

_FIELD_TYPES: dict[str, th.Property] = {
    "messageId": th.Property(
        "messageId",
        th.StringType,
        required=True,
        description=(
            "The message's id as a string; without one in the source, `sha256:` + the "
            "hex SHA-256 of its canonical JSON without messageId, receivedAt and sentAt."
        ),
    ),
    "type": th.Property("type", th.StringType, description="The Segment message type."),
    "userId": th.Property("userId", th.StringType, description=_ID),
    "anonymousId": th.Property("anonymousId", th.StringType, description=_ID),
    "groupId": th.Property("groupId", th.StringType, description=_ID),
    "previousId": th.Property("previousId", th.StringType, description=_ID),
    "timestamp": th.Property("timestamp", th.StringType, description=_TIME),
    "originalTimestamp": th.Property("originalTimestamp", th.StringType, description=_TIME),
    "sentAt": th.Property("sentAt", th.StringType, description=_TIME),
    "receivedAt": th.Property(
        "receivedAt", th.StringType, description=_TIME + " The arrival time."
    ),
    "event": th.Property("event", th.StringType, description="The tracked event's name."),
    "name": th.Property("name", th.StringType, description="The page or screen name."),
    **{
        name: th.Property(name, th.ObjectType(additional_properties=True), description=_OBJECT)
        for name in ("context", "properties", "traits")
    },
}


def message_schema(message_type: MessageType) -> dict[str, t.Any]:
    """The JSON schema of one stream: exactly the fields of the pipeline contract."""
    return th.PropertiesList(*(_FIELD_TYPES[f] for f in message_type.fields)).to_dict()


class MemoizedSelectionMask(SelectionMask):
    """The SDK's selection mask, remembering the answers it derives for nested keys.

    The SDK checks every key of every record, nested ones included, against the mask;
    nested keys of `context`/`properties`/`traits` are never in the catalog, so each check
    walked up the breadcrumb again. Same answers, computed once per key path.
    """

    MAX_REMEMBERED = 50_000  # free-form keys (ids as keys...) must not grow memory unbounded

    def __missing__(self, breadcrumb: tuple[str, ...]) -> bool:
        value = super().__missing__(breadcrumb)
        if len(self) < self.MAX_REMEMBERED:
            self[breadcrumb] = value
        return value


class MessageStream(Stream):
    """Records of one Segment message type, read by the run's shared SyncPass.

    Arrival-incremental through the sources' own bookmarks (see sync_pass), so no SDK
    replication key: the SDK's per-record bookmark logic would only add cost.
    """

    primary_keys: t.ClassVar[list[str]] = ["messageId"]
    # Records are already JSON types; nested objects pass through without conformance.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    batches_of: BatchesOf | None = None
    batch_settings: BatchSettings | None = None

    def __init__(self, tap: Tap, message_type: MessageType, records_of: RecordsOf) -> None:
        super().__init__(tap, schema=message_schema(message_type), name=message_type.stream)
        self.message_type = message_type
        self.records_of = records_of
        self._mask_source: SelectionMask | None = None
        self._memoized_mask = SelectionMask()

    @property
    def mask(self) -> SelectionMask:
        """The SDK's selection mask, memoized (see MemoizedSelectionMask)."""
        sdk_mask = super().mask
        if self._mask_source is not sdk_mask:  # the catalog or selection changed
            self._mask_source = sdk_mask
            self._memoized_mask = MemoizedSelectionMask(sdk_mask)
        return self._memoized_mask

    def generate_child_contexts(
        self, record: dict[str, t.Any], context: Context | None
    ) -> t.Iterable[Context | None]:
        """No child streams: skip the SDK's per-record child-context work."""
        return ()

    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        """The records of this stream that arrived since the last run."""
        return self.records_of(self.name)

    def get_batch_config(self, config: t.Mapping[str, t.Any]) -> BatchConfig | None:
        """The run's `batch_config` as read into the tap's settings (defaults filled in)."""
        batch = self.batch_settings
        if batch is None:
            return None
        storage = {"root": batch.folder.as_uri(), "prefix": batch.prefix}
        return BatchConfig.from_dict({"encoding": batch.encoding(), "storage": storage})

    def get_batches(
        self, batch_config: BatchConfig, context: Context | None = None
    ) -> t.Iterable[tuple[BaseBatchFileEncoding, list[str]]]:
        """The batch files the run's single pass wrote for this stream (one BATCH message).

        The SDK writes each BATCH message before it asks for the next; the bookmarks are
        committed only after the last stream's message (see SyncPass.batches).
        """
        assert self.batches_of is not None
        for manifest in self.batches_of(self.name):
            yield batch_config.encoding, manifest


class DailyRollupStream(MessageStream):
    """The `daily_rollups` stream of the SQL source's push-down mode (one run's recounts)."""

    primary_keys: t.ClassVar[list[str]] = list(DAILY_ROLLUP_KEY)

    def __init__(self, tap: Tap, records_of: RecordsOf) -> None:
        Stream.__init__(self, tap, schema=DAILY_ROLLUP_SCHEMA, name=DAILY_ROLLUP_STREAM)
        self.records_of = records_of
        self._mask_source = None
        self._memoized_mask = SelectionMask()


def message_streams(tap: Tap, records_of: RecordsOf) -> list[MessageStream]:
    """One stream per Segment message type."""
    return [MessageStream(tap, m, records_of) for m in MESSAGE_TYPES.values()]


def use_batches(
    streams: t.Iterable[MessageStream], batch: BatchSettings | None, batches_of: BatchesOf
) -> None:
    """With `batch_config` set, the streams announce batch files instead of records."""
    for stream in streams:
        stream.batch_settings = batch
        stream.batches_of = batches_of
