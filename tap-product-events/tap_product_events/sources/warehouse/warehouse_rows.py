"""Segment-spec messages rebuilt from the rows of Segment/RudderStack warehouse tables.

The warehouse flattens a message into columns: `context.groupId` -> `context_group_id`,
an identify's traits and a track's properties -> one column each (snake_case), one table
per message type. Rebuilding reverses that, so the transform sees the messages the
JSON-lines path would give it, except what the warehouse does not keep (see README):

- context keys come back flat and camelCase (`context_library_name` -> `libraryName`);
- null values are not kept: a column that is null is no key, an object without keys is null;
- timestamps of timestamp columns come back as ISO 8601 UTC with a `Z`;
- the account columns of tracks, pages and screens (`group_id`: properties.groupId) come
  back camelCase whatever `key_case` says, so the transform finds the account the
  roll-up's `account_columns` give.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from tap_product_events.segment_messages import MalformedMessageError
from tap_product_events.sources.json_values import json_value

# Standard column -> message field, for every message type.
COMMON_COLUMNS = {
    "id": "messageId",
    "user_id": "userId",
    "anonymous_id": "anonymousId",
    "timestamp": "timestamp",
    "original_timestamp": "originalTimestamp",
    "sent_at": "sentAt",
    "received_at": "receivedAt",
}
TYPE_COLUMNS = {
    "track": {"event": "event"},
    "identify": {},
    "group": {"group_id": "groupId"},
    "page": {"name": "name"},
    "screen": {"name": "name"},
    "alias": {"previous_id": "previousId"},
}
# Where a table's other columns go.
EXTRA_OBJECT = {
    "track": "properties",
    "page": "properties",
    "screen": "properties",
    "identify": "traits",
    "group": "traits",
    "alias": None,
}
OBJECT_COLUMNS = ("context", "properties", "traits")
# Load bookkeeping of Segment and RudderStack, not part of a message.
ALWAYS_IGNORED = frozenset({"uuid", "uuid_ts", "loaded_at", "event_text"})
# A `type` column holding the message type is bookkeeping too; any other value is a
# property or trait like any other column (e.g. an account's `type: enterprise`).
TYPE_COLUMN = "type"
TIME_FIELDS = ("timestamp", "originalTimestamp", "receivedAt")


def camel_case(name: str) -> str:
    """`group_id` -> `groupId`, as Segment's libraries name keys."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass(frozen=True)
class _ColumnRule:
    index: int
    column: str
    target: str  # "field", "context", "extra", "object"
    key: str
    is_json: bool
    skipped_value: str | None = None  # a value meaning "no value" (the type column's)


class RowShape:
    """How one table's columns become a message: computed once per table from its columns."""

    def __init__(
        self,
        message_type: str,
        columns: t.Sequence[str],
        *,
        standard_names: t.Mapping[str, str],
        ignored: t.Collection[str],
        json_columns: t.Collection[str],
        camel_case_keys: bool,
        account_columns: t.Collection[str] = (),
    ) -> None:
        self.message_type = message_type
        fields = {**COMMON_COLUMNS, **TYPE_COLUMNS[message_type]}
        extra = EXTRA_OBJECT[message_type]
        self.rules: list[_ColumnRule] = []
        self.event_text_index: int | None = None
        self.id_index: int | None = None
        for index, column in enumerate(str(c) for c in columns):
            name = standard_names.get(column, column)
            if column in ignored or name in ignored:
                continue
            if name == "event_text" and message_type == "track":
                self.event_text_index = index
                continue
            if name in ALWAYS_IGNORED:
                continue
            is_json = column in json_columns or name in OBJECT_COLUMNS
            if name == "id":
                self.id_index = index
            if name in fields:
                rule = _ColumnRule(index, column, "field", fields[name], is_json)
            elif name in OBJECT_COLUMNS:
                rule = _ColumnRule(index, column, "object", name, True)
            elif name.startswith("context_"):
                rule = _ColumnRule(index, column, "context", camel_case(name[8:]), is_json)
            elif extra is not None:
                # An account column (`group_id`: properties.groupId) is always camelCase,
                # as the transform's account paths name it: raw rows and roll-ups then
                # give every event the same account whatever `key_case` says.
                camel = camel_case_keys or column in account_columns or name in account_columns
                key = camel_case(name) if camel else name
                skipped = message_type if name == TYPE_COLUMN else None
                rule = _ColumnRule(index, column, "extra", key, is_json, skipped)
            else:
                continue
            self.rules.append(rule)
        self.extra_object = extra
        # Whole-object columns first, so flattened columns add to (and win over) them.
        self.rules.sort(key=lambda r: r.target != "object")

    def row_key(self, row: t.Sequence[t.Any]) -> str:
        """How reports name a row: its id (messageId) when it has one."""
        if self.id_index is not None and row[self.id_index] is not None:
            return f"id={row[self.id_index]}"
        return "a row without id"

    def message(self, row: t.Sequence[t.Any]) -> dict[str, t.Any]:
        """The Segment-spec message of one row; raises MalformedMessageError saying why not."""
        message: dict[str, t.Any] = {"type": self.message_type}
        context: dict[str, t.Any] = {}
        extra: dict[str, t.Any] = {}
        for rule in self.rules:
            value = row[rule.index]
            if value is None or (rule.skipped_value is not None and value == rule.skipped_value):
                continue
            value = json_value(value, rule.column, is_json=rule.is_json)
            if rule.target == "field":
                message[rule.key] = value
            elif rule.target == "context":
                context[rule.key] = value
            elif rule.target == "extra":
                extra[rule.key] = value
            elif not isinstance(value, dict):
                raise MalformedMessageError(f"column {rule.column} is not a JSON object")
            elif rule.key == "context":
                context.update(value)
            elif rule.key == self.extra_object:
                extra.update(value)
            else:
                message[rule.key] = value
        if self.event_text_index is not None and row[self.event_text_index] is not None:
            # `event` holds Segment's slug (`report_viewed`); `event_text` the real name.
            message["event"] = json_value(row[self.event_text_index], "event_text")
        if context:
            message["context"] = context
        if extra and self.extra_object is not None:
            message[self.extra_object] = extra
        _check_time_and_identity(message)
        return message


def _check_time_and_identity(message: dict[str, t.Any]) -> None:
    if not any(message.get(f) for f in TIME_FIELDS):
        raise MalformedMessageError(
            "no time (timestamp, original_timestamp and received_at are null)"
        )
    if message["type"] == "alias":
        if not (message.get("userId") and message.get("previousId")):
            raise MalformedMessageError("no identity (an alias needs user_id and previous_id)")
    elif not (message.get("userId") or message.get("anonymousId")):
        raise MalformedMessageError("no identity (user_id and anonymous_id are null)")
