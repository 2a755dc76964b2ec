"""Reading Segment-spec records (and backend metrics) into compact rows for the store."""

from __future__ import annotations

import hashlib
import json
import re
import typing as t
from urllib.parse import urlsplit

from plg_transform.bad_input import BadInput
from plg_transform.timestamps import DAY_US, parse_instant

EARLIEST_EVENT_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z, the setting's default

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

    def __init__(
        self,
        account_id_paths: t.Sequence[str],
        bad: BadInput,
        now_us: int,
        earliest_us: int = EARLIEST_EVENT_US,
        skew_us: int = DAY_US,
    ) -> None:
        self._paths = [p.split(".") for p in account_id_paths]
        self._bad = bad
        self._earliest_us = earliest_us
        self._future_us = now_us + skew_us
        self.messages: list[tuple] = []
        self.traits: list[tuple] = []
        self.observations: list[tuple] = []

    def add(self, stream: str, record: object, seq: int) -> None:
        """Read one record of an input stream, number `seq` in arrival order.

        Bad input is counted, never raised (unless strict).
        """
        if not isinstance(record, dict):
            self._bad.add("malformed_record", f"{stream} record {record!r:.60}")
            return
        if stream == METRICS_STREAM:
            self._add_observation(record, seq)
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
        if not self._earliest_us <= ts <= self._future_us:
            ts = self._plausible_fallback(record, mid)
            if ts is None:
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
        self.messages.append((seq, mid, kind, user_id, anonymous_id, account_id, event, ts))
        if kind in ("identify", "group"):
            self._add_traits(seq, mid, record.get("traits"))

    def _plausible_fallback(self, record: dict, mid: str) -> int | None:
        """receivedAt for an implausible event time (reported), or None (bad input)."""
        shown = record.get("timestamp") or record.get("originalTimestamp")
        received = parse_instant(record.get("receivedAt"))
        if received is not None and self._earliest_us <= received <= self._future_us:
            self._bad.add("implausible_time", f"{mid} ({shown!s:.40})")
            return received
        self._bad.add("implausible_time_dropped", f"{mid} ({shown!s:.40})")
        return None

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
                if instant is not None and instant < self._earliest_us:
                    self._bad.add("implausible_created_at", f"{mid} ({value!s:.40})")
                    instant = None
            self.traits.append((seq, key, _json(value), text, valid, instant))

    def _add_observation(self, record: dict, seq: int) -> None:
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
        self.observations.append((seq, entity, user_id, account_id, metric, _json(value), observed))


# The SQL twin of MessageRows.add for the bulk of the input: track, page and screen
# records in the shape taps write them. A row is `fast` only when the SQL reads it exactly
# as MessageRows would; every other row (no messageId, a timestamp in another ISO 8601
# form, fractional ids, bad input, traits, metrics) is handed back to MessageRows.
FAST_STREAMS = {"tracks": None, "pages": "Page Viewed", "screens": "Screen Viewed"}

# ISO 8601 instants that DuckDB and datetime.fromisoformat read identically: years
# 1000-2999 (no overflow at the ends of the range), valid field ranges, at most six
# fractional digits, `Z` or a +hh:mm offset. Impossible dates (Feb 30) fail try_cast.
FAST_INSTANT = (
    r"^[12]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$"
)


def _sql_id(value: str) -> str:
    """SQL of as_id() on a JSON value; NULL where as_id gives None."""
    return (
        f"CASE json_type({value}) WHEN 'VARCHAR' THEN nullif({value}->>'$', '') "
        f"WHEN 'BIGINT' THEN {value}->>'$' WHEN 'UBIGINT' THEN {value}->>'$' END"
    )


def _json_path(parts: t.Sequence[str]) -> str | None:
    if any(not part or '"' in part or "\\" in part or "'" in part for part in parts):
        return None
    return "$." + ".".join(f'"{part}"' for part in parts)


def fast_rows_sql(account_id_paths: t.Sequence[str], source: str, keep_record: bool) -> str:
    """SQL reading `source` (columns seq, stream, record JSON) into message rows.

    Columns: seq, message_id, user_id, anonymous_id, account_id, event, ts_us, fast, and
    with `keep_record` the record's JSON text where not fast (NULL otherwise). Parameter
    `$earliest` and `$future`: epoch microseconds outside which an event time is
    implausible (such rows are left to MessageRows, which reports them). When an account id path
    cannot be written as a JSON path, no row is fast.
    """
    account_paths = [_json_path(p.split(".")) for p in account_id_paths]
    expressible = all(p is not None for p in account_paths)
    paths = ["$.messageId", "$.userId", "$.anonymousId", "$.event", "$.timestamp"]
    paths += [p for p in account_paths if p is not None]
    path_list = ", ".join(f"'{p}'" for p in paths)
    ids = [f"v[{i}]" for i in (1, 2, 3, *range(6, len(paths) + 1))]
    # as_id of a float (1.0 -> "1", 1.5 -> "1.5") is Python's repr: left to Python.
    no_float = " AND ".join(f"json_type({v}) IS DISTINCT FROM 'DOUBLE'" for v in ids)
    account = ", ".join(_sql_id(f"v[{i}]") for i in range(6, len(paths) + 1)) or "NULL"
    fixed = " ".join(
        f"WHEN '{stream}' THEN '{event}'" for stream, event in FAST_STREAMS.items() if event
    )
    streams = ", ".join(f"'{s}'" for s in FAST_STREAMS)
    record = ", CASE WHEN NOT fast THEN record::VARCHAR END AS record" if keep_record else ""
    return f"""
        SELECT seq, message_id, user_id, anonymous_id, account_id, event, ts_us, fast{record}
        FROM (
        SELECT *, coalesce(shaped AND message_id IS NOT NULL AND event IS NOT NULL
                AND (user_id IS NOT NULL OR anonymous_id IS NOT NULL)
                AND ts_us IS NOT NULL AND ts_us BETWEEN $earliest AND $future, false) AS fast
        FROM (
            SELECT seq, record,
                {str(expressible).lower()} AND stream IN ({streams})
                    AND json_type(record) = 'OBJECT' AND {no_float} AS shaped,
                {_sql_id("v[1]")} AS message_id,
                {_sql_id("v[2]")} AS user_id,
                {_sql_id("v[3]")} AS anonymous_id,
                coalesce({account}) AS account_id,
                CASE stream {fixed} ELSE CASE WHEN json_type(v[4]) = 'VARCHAR'
                    THEN nullif(v[4]->>'$', '') END END AS event,
                CASE WHEN json_type(v[5]) = 'VARCHAR'
                    AND regexp_full_match(v[5]->>'$', '{FAST_INSTANT}')
                    THEN epoch_us(try_cast(v[5]->>'$' AS TIMESTAMPTZ)) END AS ts_us
            FROM (SELECT seq, stream, record, json_extract(record, [{path_list}]) AS v
                  FROM {source})
        ))"""
