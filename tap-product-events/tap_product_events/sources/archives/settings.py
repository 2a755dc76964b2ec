"""The `events_paths` setting: which JSON-lines archives the tap reads."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_product_events.setting_types import ListType

SUPPORTED_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".gz")

EVENTS_PATHS = th.Property(
    "events_paths",
    ListType(th.StringType(min_length=1), min_items=1),
    title="Event archive paths",
    description=(
        "File globs of Segment-spec JSON-lines archives (`.jsonl`, `.json`, "
        "`.jsonl.gz`, `.gz`), one message per line, all message types mixed, as "
        "Segment's and RudderStack's storage destinations write them. `~` and "
        "relative paths are resolved against the working directory; `**` matches "
        'folders recursively. Example: `["data/segment/**/*.gz"]`.'
    ),
    examples=[["data/segment/**/*.jsonl.gz"]],
)
