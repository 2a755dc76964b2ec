"""Segment-spec messages turned into the records of the pipeline contract.

docs/pipeline-contract.md fixes the rules: one stream per message type, the message's own
fields unchanged except the ids (always strings or null) and a derived `messageId` when the
message has none. Everything here runs once per message, so it stays a handful of dict
lookups and type checks.
"""

from __future__ import annotations

import hashlib
import json
import typing as t
from dataclasses import dataclass

COMMON_FIELDS = (
    "messageId",
    "type",
    "userId",
    "anonymousId",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "receivedAt",
    "context",
)
OBJECT_FIELDS = ("context", "properties", "traits")
# Keys left out of the canonical JSON that a missing messageId is derived from: they
# change when the same message is re-sent, the rest of the message does not.
UNHASHED_KEYS = frozenset({"messageId", "receivedAt", "sentAt"})


@dataclass(frozen=True)
class MessageType:
    """One Segment message type and the stream (warehouse table) it lands in."""

    type: str
    stream: str
    extra_fields: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        """All fields of this stream's records, in schema order."""
        return COMMON_FIELDS + self.extra_fields


MESSAGE_TYPES: dict[str, MessageType] = {
    m.type: m
    for m in (
        MessageType("track", "tracks", ("event", "properties")),
        MessageType("identify", "identifies", ("traits",)),
        MessageType("group", "groups", ("groupId", "traits")),
        MessageType("page", "pages", ("name", "properties")),
        MessageType("screen", "screens", ("name", "properties")),
        MessageType("alias", "aliases", ("previousId",)),
    )
}
STREAM_NAMES = tuple(m.stream for m in MESSAGE_TYPES.values())


class MalformedMessageError(ValueError):
    """A message that cannot become a record; the text says why."""


@dataclass(frozen=True)
class _FieldKinds:
    """Which fields of one message type hold ids, strings and objects (checked per message)."""

    fields: tuple[str, ...]
    ids: tuple[str, ...]
    strings: tuple[str, ...]
    objects: tuple[str, ...]


def _field_kinds(message_type: MessageType) -> _FieldKinds:
    ids = ("userId", "anonymousId", "groupId", "previousId")
    rest = [f for f in message_type.fields if f != "messageId"]
    return _FieldKinds(
        fields=tuple(rest),
        ids=tuple(f for f in rest if f in ids),
        strings=tuple(f for f in rest if f not in ids and f not in OBJECT_FIELDS),
        objects=tuple(f for f in rest if f in OBJECT_FIELDS),
    )


_KINDS = {name: _field_kinds(m) for name, m in MESSAGE_TYPES.items()}
_STREAM_OF = {name: m.stream for name, m in MESSAGE_TYPES.items()}


def derive_message_id(message: t.Mapping[str, t.Any]) -> str:
    """`sha256:` + hex SHA-256 of the message's canonical JSON without the unhashed keys.

    Canonical JSON: keys sorted at every level, separators `,` and `:`, UTF-8 with
    non-ASCII characters kept as they are.
    """
    hashed = {key: value for key, value in message.items() if key not in UNHASHED_KEYS}
    canonical = json.dumps(hashed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _id_text(value: object, field: str) -> str | None:
    """An id as the contract wants it: a string, or null for null and ""."""
    if value is None or value == "":
        return None
    kind = type(value)
    if kind is str:
        return t.cast("str", value)
    if kind is int:
        return str(value)
    if kind is float:
        number = t.cast("float", value)
        # JSON has one number type: 42.0 is the id 42.
        return str(int(number)) if number.is_integer() else repr(number)
    raise MalformedMessageError(f"{field} must be a string or a number, got {_json_kind(value)}")


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def to_record(message: object) -> tuple[str, dict[str, t.Any]]:
    """Return (stream name, record) for a parsed message, or raise MalformedMessageError."""
    if type(message) is not dict:
        raise MalformedMessageError(f"not a JSON object but {_json_kind(message)}")
    message = t.cast("dict[str, t.Any]", message)
    message_type = message.get("type")
    kinds = _KINDS.get(message_type) if type(message_type) is str else None
    if kinds is None:
        if message_type is None:
            raise MalformedMessageError("no message type (the 'type' field is missing or null)")
        raise MalformedMessageError(
            f"unknown message type {message_type!r} (expected one of {', '.join(MESSAGE_TYPES)})"
        )

    get = message.get
    message_id = get("messageId")
    if message_id is None or message_id == "":
        message_id = derive_message_id(message)
    elif type(message_id) is not str:
        message_id = _id_text(message_id, "messageId")
    record: dict[str, t.Any] = {"messageId": message_id}
    for field in kinds.fields:
        record[field] = get(field)
    for field in kinds.strings:
        value = record[field]
        if value is not None and type(value) is not str:
            raise MalformedMessageError(f"{field} must be a string, got {_json_kind(value)}")
    for field in kinds.objects:
        value = record[field]
        if value is not None and type(value) is not dict:
            raise MalformedMessageError(f"{field} must be a JSON object, got {_json_kind(value)}")
    for field in kinds.ids:
        value = record[field]
        if type(value) is not str or value == "":
            record[field] = _id_text(value, field)
    return _STREAM_OF[t.cast("str", message_type)], record


def arrival_text(message: t.Mapping[str, t.Any]) -> str | None:
    """When the message arrived: `receivedAt`, else `timestamp` (as the source wrote it)."""
    value = message.get("receivedAt") or message.get("timestamp")
    return value if type(value) is str else None
