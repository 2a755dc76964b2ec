"""Reading Segment-spec records (and backend metrics) into compact rows for the store."""

from __future__ import annotations

import hashlib
import json
import re
import typing as t
from urllib.parse import urlsplit

from plg_transform.bad_input import BadInput
from plg_transform.timestamps import DAY_US, parse_instant

# Stream name -> (message kind in the store, fixed event name for page/screen).
SEGMENT_STREAMS: dict[str, tuple[str, str | None]] = {
    "tracks": ("track", None),
    "pages": ("track", "Page Viewed"),
    "screens": ("track", "Screen Viewed"),
    "identifies": ("identify", None),
    "groups": ("group", None),
    "aliases": ("alias", None),
}
METRICS_STREAM = "metrics"
INPUT_STREAMS = frozenset(SEGMENT_STREAMS) | {METRICS_STREAM}

_TIME_KEYS = ("timestamp", "originalTimestamp", "receivedAt")
_NOT_HASHED = frozenset({"messageId", "receivedAt", "sentAt"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def content_id(record: dict) -> str:
    """The id of a message without messageId: sha256 of its canonical JSON."""
    body = {k: v for k, v in record.items() if k not in _NOT_HASHED}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def as_id(value: object) -> str | None:
    """An id as a string: numbers become decimal strings, empty strings are no id."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value == value:
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def message_id(record: dict) -> str:
    """The message's identity: its messageId, else the content id."""
    return as_id(record.get("messageId")) or content_id(record)


def normalise_email(value: object) -> tuple[str | None, bool | None]:
    """(email, valid): trimmed lower-case address or None; valid is None for a null value."""
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, False
    email = value.strip().lower()
    if _EMAIL.match(email):
        return email, True
    return None, False


def _without_www(host: str) -> str | None:
    host = host.strip().lower()
    if host.startswith("www."):
        host = host[4:]
    return host or None


def domain_of(key: str, value: object) -> str | None:
    """Domain from trait `domain` as is, or the host of trait `website`."""
    if not isinstance(value, str) or not value.strip():
        return None
    if key == "domain":
        return _without_www(value)
    text = value.strip()
    if not _SCHEME.match(text):
        text = "//" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    return _without_www(host) if host else None


def _account_from_paths(record: dict, paths: list[list[str]]) -> str | None:
    for path in paths:
        node: object = record
        for part in path:
            if not isinstance(node, dict):
                node = None
                break
            node = node.get(part)
        if isinstance(node, str | int | float) and not isinstance(node, bool):
            found = as_id(node)
            if found is not None:
                return found
    return None


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class MessageRows:
    """Turns records into rows: `messages`, `traits` and `observations` buffers.

    The caller drains the buffers with `take()` every few thousand records, so memory
    stays flat whatever the input size.
    """

    def __init__(self, account_id_paths: t.Sequence[str], bad: BadInput, now_us: int) -> None:
        self._paths = [p.split(".") for p in account_id_paths]
        self._bad = bad
        self._future_us = now_us + DAY_US
        self.next_seq = 0
        self.messages: list[tuple] = []
        self.traits: list[tuple] = []
        self.observations: list[tuple] = []

    def add(self, stream: str, record: object) -> None:
        """Read one record of an input stream (bad input is counted, never raised)."""
        if not isinstance(record, dict):
            self._bad.add("malformed_record", f"{stream} record {record!r:.60}")
            return
        if stream == METRICS_STREAM:
            self._add_observation(record)
            return
        kind, fixed_event = SEGMENT_STREAMS[stream]
        mid = message_id(record)
        ts = None
        for key in _TIME_KEYS:
            ts = parse_instant(record.get(key))
            if ts is not None:
                break
        if ts is None:
            self._bad.add("no_time", mid)
            return
        user_id = as_id(record.get("userId"))
        anonymous_id = as_id(record.get("anonymousId"))
        account_id = None
        event = None
        if kind == "track":
            event = fixed_event or record.get("event")
            if not isinstance(event, str) or not event:
                self._bad.add("no_event_name", mid)
                return
            account_id = _account_from_paths(record, self._paths)
            ok = user_id is not None or anonymous_id is not None
        elif kind == "alias":
            # The previous id is the one being linked: stored as the anonymous id.
            anonymous_id = as_id(record.get("previousId"))
            ok = user_id is not None and anonymous_id is not None
        else:
            ok = user_id is not None or anonymous_id is not None
            if kind == "group":
                account_id = as_id(record.get("groupId"))
                ok = ok and account_id is not None
        if not ok:
            self._bad.add("no_identity", mid)
            return
        if ts > self._future_us:
            self._bad.add("future_timestamp", mid)
        seq = self.next_seq
        self.next_seq += 1
        self.messages.append((seq, mid, kind, user_id, anonymous_id, account_id, event, ts))
        if kind in ("identify", "group"):
            self._add_traits(seq, mid, record.get("traits"))

    def _add_traits(self, seq: int, mid: str, traits: object) -> None:
        if traits is None:
            return
        if not isinstance(traits, dict):
            self._bad.add("malformed_traits", mid)
            return
        for key, value in traits.items():
            text, valid, instant = None, None, None
            if key == "email":
                text, valid = normalise_email(value)
            elif key in ("domain", "website"):
                text = domain_of(key, value)
            elif key in ("createdAt", "created_at"):
                instant = parse_instant(value)
            self.traits.append((seq, key, _json(value), text, valid, instant))

    def _add_observation(self, record: dict) -> None:
        entity = record.get("entity")
        user_id = as_id(record.get("user_id"))
        account_id = as_id(record.get("account_id"))
        metric = record.get("metric")
        value = record.get("value")
        observed = parse_instant(record.get("observed_at"))
        example = f"{entity}/{user_id}/{account_id}/{metric}@{record.get('observed_at')}"
        if entity == "user":
            account_id, ok = None, user_id is not None
        elif entity == "account":
            user_id, ok = None, account_id is not None
        elif entity == "membership":
            ok = user_id is not None and account_id is not None
        else:
            ok = False
        ok = (
            ok
            and isinstance(metric, str)
            and bool(metric)
            and observed is not None
            and (value is None or isinstance(value, str | int | float | bool))
        )
        if not ok:
            self._bad.add("bad_metric", example)
            return
        seq = self.next_seq
        self.next_seq += 1
        self.observations.append((seq, entity, user_id, account_id, metric, _json(value), observed))
