"""A deliberately simple, pure-Python reading of docs/metrics.md (its metric contract).

It exists only to cross-check the real DuckDB mapper (plg-transform): two honest
implementations of metrics.md must produce the same records. It is written with plain
loops and dicts, in the order of metrics.md, so a reader can check it line by line.
Speed does not matter here. Only rules are evaluated with DuckDB, because rules *are*
DuckDB SQL.

Input: a list of message dicts in delivery order. Segment messages carry their `type`
(track, identify, group, page, screen, alias) exactly as a source would have them
(numeric ids, missing messageId, any ISO 8601 timestamp form). Backend metric records
are dicts with `"type": "metric"` plus entity, user_id, account_id, metric, value,
observed_at.

Interpretations (where metrics.md is silent; the lead reconciles these with the mapper):

1.  Invalid messages (no parseable time, unknown type) are dropped before de-duplication:
    they do not reserve their messageId, so a later valid copy still counts.
2.  A `messageId` that is null or "" counts as missing (content id is used). Only
    top-level keys messageId/receivedAt/sentAt are left out of the content hash, which is
    computed on the message as delivered (before ids are normalised).
3.  Timestamps must be strings; numbers (epoch) do not parse. Any form Python 3.11's
    `datetime.fromisoformat` accepts is ISO 8601 here.
4.  An entity exists (is emitted) when a valid message timestamped <= as_of names it:
    users via identify (with userId), group (with userId), alias (userId) or a resolved
    track/page/screen; accounts via group messages (with or without userId) or events of
    resolved users; memberships via group messages with userId, or events of resolved
    users with an account. Backend metrics alone never create an entity.
5.  `alias.previousId` is read as an anonymous id only (never merges two user ids). An
    identify or alias after as_of does not link yet. A `group` message's user is its
    `userId` only (anonymous-only group messages are not stitched); a group without
    groupId is ignored.
6.  A track event without a string `event` name is ignored. `page`/`screen` are named
    `Page Viewed`/`Screen Viewed` whatever their `name`.
7.  Backend metric observations after as_of are ignored (like messages). The latest
    observation is the greatest `observed_at`; on equal `observed_at` the first delivered
    wins. Every entity of a kind carries `metric_<name>` for each metric name observed for
    that kind (null where that entity has none). Rule fields named `metric_*` that no data
    has provided read NULL.
8.  `first_seen_at` of a user counts only messages whose `userId` is the user (identify,
    group, alias) plus its resolved events (own and stitched). If both `createdAt` and
    `created_at` parse, the earlier one counts. For a membership, a createdAt trait only
    counts if it is one of `membership_traits`.
9.  `primary_account_id` considers all memberships, even with score 0 (then ties by raw 0
    and the smallest account_id wins). Ties use the current-window raw.
10. Domain: the `domain` trait is "present" when it is a non-empty string after trimming;
    otherwise `website` (a string) is parsed; a value without `://` is read as
    `http://<value>`; the host excludes port and user info. Both lower-cased, leading
    `www.` removed. Account `name` is passed through as-is.
11. Email: only string values; trimmed with Python `str.strip()`, lower-cased, then the
    whole string must match the pattern.
12. In rules, timestamps are DuckDB TIMESTAMP (naive UTC), integers BIGINT, rates DOUBLE,
    flags BOOLEAN, strings VARCHAR, nulls untyped NULL. Rule fields are the record's output
    fields except is_pql, is_pqa, segments, lifecycle_stage.
13. An `events` entry without `weight` weighs 1. `score_reference` applies per kind only
    where the key is set. `daily_cap` 0 means no cap.
14. An id that is a number becomes its decimal string (`str(int)`); booleans are not ids.
15. Fractional seconds beyond six digits are truncated (not rounded) to microseconds.
16. Rule column types are taken per record from the JSON value; a trait or metric whose
    JSON type differs between entities (120 on one account, "lots" on another) has no
    defined SQL type, and a rule comparing it may fail (here and in the mapper alike).
17. "Delivery order" is the order of RECORD lines on stdin; the cross-check sends them
    grouped per stream (identifies, aliases, groups, tracks, pages, screens, metrics).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import duckdb

EVENT_TYPES = {"track", "page", "screen"}
MESSAGE_TYPES = EVENT_TYPES | {"identify", "group", "alias"}
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
COMMON_FIELDS = [
    "engagement_score",
    "engagement_score_previous",
    "engagement_trend",
    "engagement_trend_label",
    "active_days",
    "score_reasons",
    "last_active_at",
    "days_since_last_active",
    "first_seen_at",
    "tenure_days",
    "activation_steps_completed",
    "activation_rate",
    "activated",
    "activated_at",
    "features_used",
    "adoption_rate",
    "as_of",
]
RULE_OUTPUTS = {"is_pql", "is_pqa", "segments", "lifecycle_stage"}


# ---------------------------------------------------------------- input reading


def content_id(message: dict) -> str:
    """The tap's id for a message without messageId: sha256 of its canonical JSON."""
    body = {k: v for k, v in message.items() if k not in ("messageId", "receivedAt", "sentAt")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalize_id(value: Any) -> str | None:
    """Ids: numbers become decimal strings, an empty string is no id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str) and value != "":
        return value
    return None


def message_id(message: dict) -> str:
    """The message's identity (metrics.md, Identity of a message)."""
    given = normalize_id(message.get("messageId"))
    return given if given is not None else content_id(message)


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 -> aware UTC datetime; no offset means UTC, a date alone is midnight UTC."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def message_time(message: dict) -> datetime | None:
    """The first of timestamp, originalTimestamp, receivedAt that is present and parses."""
    for key in ("timestamp", "originalTimestamp", "receivedAt"):
        parsed = parse_time(message.get(key))
        if parsed is not None:
            return parsed
    return None


def format_time(value: datetime | None) -> str | None:
    """`2026-03-01T12:30:05Z`, with 6 fractional digits only when they are not zero."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def value_at_path(message: dict, path: str) -> Any:
    """Follow a dotted path like `context.groupId` into the message."""
    current: Any = message
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def account_of(message: dict, paths: list[str]) -> str | None:
    """The first path holding a non-empty string or a number names the account."""
    for path in paths:
        value = value_at_path(message, path)
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)) or (isinstance(value, str) and value != ""):
            return normalize_id(value)
    return None


def valid_email(value: Any) -> str | None:
    """Trimmed, lower-cased email, or None when it is not a plausible address."""
    if not isinstance(value, str):
        return None
    candidate = value.strip().lower()
    return candidate if EMAIL_PATTERN.fullmatch(candidate) else None


def strip_www(host: str) -> str:
    """Lower-case and drop one leading `www.`."""
    host = host.lower()
    return host[4:] if host.startswith("www.") else host


def account_domain(traits: dict) -> str | None:
    """`domain` when present, else the host of `website`."""
    domain = traits.get("domain")
    if isinstance(domain, str) and domain.strip():
        return strip_www(domain.strip())
    website = traits.get("website")
    if isinstance(website, str) and website.strip():
        text = website.strip()
        if "://" not in text:
            text = "http://" + text
        try:
            host = urlsplit(text).hostname
        except ValueError:
            return None
        return strip_www(host) if host else None
    return None


def merge_traits(messages: list[dict], keep: Any) -> dict:
    """Key-by-key merge; the latest message (time, then messageId) wins, null included."""
    merged: dict = {}
    for message in sorted(messages, key=lambda m: (m["time"], m["id"])):
        traits = message["raw"].get("traits")
        if not isinstance(traits, dict):
            continue
        for key, value in traits.items():
            if keep(key):
                merged[key] = value
    return merged


# ---------------------------------------------------------------- config


def read_config(config: dict) -> dict:
    """The settings with metrics.md's defaults filled in."""
    activation = config.get("activation") or {}
    milestones = []
    for milestone in activation.get("milestones") or []:
        milestones.append(
            {
                "name": milestone["name"],
                "event": milestone["event"],
                "count": int(milestone.get("count", 1)),
            }
        )
    cap = config.get("daily_cap", 20)
    return {
        "window_days": int(config.get("window_days", 30)),
        "events": config.get("events") or {},
        "default_weight": config.get("default_weight", 0),
        "daily_cap": 20 if cap is None else int(cap),
        "score_reference": config.get("score_reference") or {},
        "account_id_paths": config.get("account_id_paths")
        or ["context.groupId", "properties.groupId"],
        "membership_traits": config.get("membership_traits", ["role"]),
        "milestones": milestones,
        "pql": config.get("pql"),
        "pqa": config.get("pqa"),
        "segments": config.get("segments") or [],
        "lifecycle": config.get("lifecycle") or [],
        "user_traits": config.get("user_traits") or [],
        "account_traits": config.get("account_traits") or [],
    }


def event_weight(settings: dict, name: str) -> float:
    """Weight of an event name (1 for everything when `events` is empty)."""
    events = settings["events"]
    if not events:
        return 1
    if name in events:
        return events[name].get("weight", 1)
    return settings["default_weight"]


def event_feature(settings: dict, name: str) -> str | None:
    """The feature an event name stands for, if any."""
    entry = settings["events"].get(name)
    return entry.get("feature") if isinstance(entry, dict) else None


# ---------------------------------------------------------------- per-entity metrics


def capped_counts(events: list[dict], cap: int) -> dict[tuple[str, date], int]:
    """c(x, e, d) = min(distinct messages of e on d, cap) for one user or membership."""
    counts: dict[tuple[str, date], int] = {}
    for event in events:
        key = (event["name"], event["date"])
        counts[key] = counts.get(key, 0) + 1
    if cap > 0:
        for key in counts:
            counts[key] = min(counts[key], cap)
    return counts


def raw_value(counts: dict, settings: dict, window: set[date]) -> float:
    """raw(x, win) = sum of weight(e) * c(x, e, d) over dates d in win."""
    total: float = 0
    for (name, day), count in counts.items():
        if day in window:
            total += event_weight(settings, name) * count
    return total


def p90(values: list[float]) -> float | None:
    """Nearest-rank 90th percentile: value at 1-based rank ceil(0.9 n) of sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(0.9 * len(ordered))
    return ordered[rank - 1]


def score(raw: float, ref: float | None) -> int:
    """floor(100 * (1 - 10 ** (-r / ref)) + 0.5); 0 without a reference."""
    if ref is None or ref <= 0:
        return 0
    return math.floor(100 * (1 - 10 ** (-raw / ref)) + 0.5)


def trend_label(trend: int) -> str:
    """rising at +10, falling at -10, else steady."""
    if trend >= 10:
        return "rising"
    if trend <= -10:
        return "falling"
    return "steady"


def score_reasons(counts: dict, settings: dict, window: set[date]) -> str:
    """Up to three events with the largest weighted capped contribution."""
    per_event_count: dict[str, int] = {}
    for (name, day), count in counts.items():
        if day in window:
            per_event_count[name] = per_event_count.get(name, 0) + count
    contributions = []
    for name, count in per_event_count.items():
        contribution = event_weight(settings, name) * count
        if contribution > 0:
            contributions.append((-contribution, name, count))
    contributions.sort()
    return ", ".join(f"{name} x{count}" for _, name, count in contributions[:3])


def activity_fields(
    events: list[dict],
    settings: dict,
    current: set[date],
    as_of: datetime,
    extra_seen: list[datetime],
) -> dict:
    """Uncapped fields: active days, recency, tenure, activation, adoption."""
    fields: dict[str, Any] = {}
    scored_days = {e["date"] for e in events if e["date"] in current and e["weight"] > 0}
    fields["active_days"] = len(scored_days)

    last = max((e["time"] for e in events), default=None)
    fields["last_active_at"] = last
    fields["days_since_last_active"] = (
        None if last is None else math.floor((as_of - last) / timedelta(hours=24))
    )

    seen = [e["time"] for e in events] + extra_seen
    first = min(seen) if seen else None
    fields["first_seen_at"] = first
    fields["tenure_days"] = (
        None if first is None else math.floor((as_of - first) / timedelta(hours=24))
    )

    milestones = settings["milestones"]
    completions = [when for when in milestone_times(events, milestones) if when is not None]
    fields["activation_steps_completed"] = len(completions)
    fields["activation_rate"] = len(completions) / len(milestones) if milestones else None
    activated = bool(milestones) and len(completions) == len(milestones)
    fields["activated"] = activated
    fields["activated_at"] = max(completions) if activated else None

    configured = {
        entry.get("feature")
        for entry in settings["events"].values()
        if isinstance(entry, dict) and entry.get("feature")
    }
    used = {e["feature"] for e in events if e["date"] in current and e["feature"]}
    fields["features_used"] = ";".join(sorted(used))
    fields["adoption_rate"] = len(used) / len(configured) if configured else None
    return fields


def milestone_times(events: list[dict], milestones: list[dict]) -> list[datetime | None]:
    """Per milestone: the time of the count-th occurrence of its event, None if not reached."""
    ordered = sorted(events, key=lambda e: (e["time"], e["id"]))
    times: list[datetime | None] = []
    for milestone in milestones:
        occurrences = [e for e in ordered if e["name"] == milestone["event"]]
        reached = len(occurrences) >= milestone["count"]
        times.append(occurrences[milestone["count"] - 1]["time"] if reached else None)
    return times


def trait_times(traits: dict, as_of: datetime) -> list[datetime]:
    """Parseable createdAt/created_at traits <= as_of."""
    times = []
    for key in ("createdAt", "created_at"):
        parsed = parse_time(traits.get(key))
        if parsed is not None and parsed <= as_of:
            times.append(parsed)
    return times


# ---------------------------------------------------------------- rules


def rule_columns(record: dict) -> tuple[list[str], list[Any]]:
    """SELECT items and parameters for a one-row relation of the record's fields."""
    items: list[str] = []
    params: list[Any] = []
    for name, value in record.items():
        if name in RULE_OUTPUTS:
            continue
        quoted = '"' + name.replace('"', '""') + '"'
        if value is None:
            items.append(f"NULL AS {quoted}")
            continue
        if isinstance(value, bool):
            sql_type = "BOOLEAN"
        elif isinstance(value, int):
            sql_type = "BIGINT"
        elif isinstance(value, float):
            sql_type = "DOUBLE"
        elif isinstance(value, datetime):
            sql_type = "TIMESTAMP"
            value = value.astimezone(UTC).replace(tzinfo=None)
        elif isinstance(value, str):
            sql_type = "VARCHAR"
        else:
            sql_type = "JSON"
            value = json.dumps(value)
        items.append(f"CAST(? AS {sql_type}) AS {quoted}")
        params.append(value)
    return items, params


def rule_holds(connection: duckdb.DuckDBPyConnection, rule: str, record: dict) -> bool:
    """Evaluate one rule over the record; NULL is false."""
    record = dict(record)
    for name in re.findall(r"\bmetric_\w+", rule):
        record.setdefault(name, None)
    items, params = rule_columns(record)
    sql = f"SELECT ({rule}) FROM (SELECT {', '.join(items)}) AS rec"
    result = connection.execute(sql, params).fetchone()
    return bool(result and result[0] is True)


def apply_rules(
    connection: duckdb.DuckDBPyConnection, record: dict, settings: dict, kind: str
) -> dict:
    """segments and lifecycle_stage for one record of `kind` (user/account/membership)."""
    names = []
    for segment in settings["segments"]:
        if segment.get("applies_to", "user") == kind and rule_holds(
            connection, segment["when"], record
        ):
            names.append(segment["name"])
    stage = None
    for entry in settings["lifecycle"]:
        if entry.get("applies_to", "user") == kind and rule_holds(
            connection, entry["when"], record
        ):
            stage = entry["stage"]
            break
    return {"segments": ";".join(names), "lifecycle_stage": stage}


# ---------------------------------------------------------------- the whole computation


def compute(
    messages: list[dict], config: dict, as_of: datetime, details: dict | None = None
) -> dict[str, list[dict]]:
    """Records of contacts, companies and associations as metrics.md defines them.

    With `details` (a dict), it also receives the intermediate values, per kind (user,
    account, membership) and entity key: `events` (the entity's events), `counts`
    (capped counts by (event, date)), `raw` (current, previous) and `reference`; and
    `current` / `previous` (the windows' dates) and `settings`.
    """
    settings = read_config(config)
    as_of = as_of.astimezone(UTC) if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    today = as_of.date()
    width = settings["window_days"]
    current = {today - timedelta(days=i) for i in range(width)}
    previous = {today - timedelta(days=width + i) for i in range(width)}
    membership_keys = set(settings["membership_traits"])

    # 1. De-duplicate in delivery order, parse times, keep what is <= as_of.
    seen_ids: set[str] = set()
    accepted: list[dict] = []
    metric_rows: list[dict] = []
    for raw in messages:
        kind = raw.get("type")
        if kind == "metric":
            metric_rows.append(raw)
            continue
        if kind not in MESSAGE_TYPES:
            continue
        when = message_time(raw)
        if when is None:
            continue
        identity = message_id(raw)
        if identity in seen_ids:
            continue
        seen_ids.add(identity)
        if when > as_of:
            continue
        accepted.append(
            {
                "raw": raw,
                "type": kind,
                "id": identity,
                "time": when,
                "user": normalize_id(raw.get("userId")),
                "anonymous": normalize_id(raw.get("anonymousId")),
            }
        )

    identifies = [m for m in accepted if m["type"] == "identify"]
    groups = [m for m in accepted if m["type"] == "group"]
    aliases = [m for m in accepted if m["type"] == "alias"]
    for group in groups:
        group["account"] = normalize_id(group["raw"].get("groupId"))
    groups = [g for g in groups if g["account"] is not None]

    # 2. Identity links: anonymous id -> user, earliest link (time, then id) wins.
    links: dict[str, tuple[datetime, str, str]] = {}
    candidates = []
    for message in identifies:
        if message["user"] and message["anonymous"]:
            candidates.append((message["anonymous"], message))
    for message in aliases:
        previous_id = normalize_id(message["raw"].get("previousId"))
        if message["user"] and previous_id:
            candidates.append((previous_id, message))
    for anonymous, message in candidates:
        link = (message["time"], message["id"], message["user"])
        if anonymous not in links or link < links[anonymous]:
            links[anonymous] = link

    # 3. Events, resolved to a user (own id, else linked anonymous id) and an account.
    events = []
    for message in accepted:
        if message["type"] not in EVENT_TYPES:
            continue
        if message["type"] == "page":
            name = "Page Viewed"
        elif message["type"] == "screen":
            name = "Screen Viewed"
        else:
            name = message["raw"].get("event")
            if not isinstance(name, str):
                continue
        user = message["user"]
        if user is None and message["anonymous"] in links:
            user = links[message["anonymous"]][2]
        if user is None:
            continue  # never linked: no output, no account
        weight = event_weight(settings, name)
        events.append(
            {
                "id": message["id"],
                "time": message["time"],
                "date": message["time"].date(),
                "name": name,
                "user": user,
                "account": account_of(message["raw"], settings["account_id_paths"]),
                "weight": weight,
                "feature": event_feature(settings, name),
            }
        )

    # 4. Entities.
    users: set[str] = set()
    accounts: set[str] = set()
    memberships: set[tuple[str, str]] = set()
    for message in identifies + aliases:
        if message["user"]:
            users.add(message["user"])
    for group in groups:
        accounts.add(group["account"])
        if group["user"]:
            users.add(group["user"])
            memberships.add((group["user"], group["account"]))
    for event in events:
        users.add(event["user"])
        if event["account"]:
            accounts.add(event["account"])
            memberships.add((event["user"], event["account"]))

    # 5. Traits.
    user_traits = {
        u: merge_traits([m for m in identifies if m["user"] == u], lambda k: True) for u in users
    }
    account_traits = {
        a: merge_traits(
            [g for g in groups if g["account"] == a], lambda k: k not in membership_keys
        )
        for a in accounts
    }
    membership_traits = {
        (u, a): merge_traits(
            [g for g in groups if g["user"] == u and g["account"] == a],
            lambda k: k in membership_keys,
        )
        for (u, a) in memberships
    }

    # 6. Backend metrics: latest observation <= as_of per entity and metric name.
    latest: dict[tuple, tuple[datetime, Any]] = {}
    metric_names: dict[str, set[str]] = {"user": set(), "account": set(), "membership": set()}
    for row in metric_rows:
        observed = parse_time(row.get("observed_at"))
        entity = row.get("entity")
        if observed is None or observed > as_of or entity not in metric_names:
            continue
        user_id = normalize_id(row.get("user_id"))
        account_id = normalize_id(row.get("account_id"))
        if entity == "user":
            entity_key: tuple = ("user", user_id)
        elif entity == "account":
            entity_key = ("account", account_id)
        else:
            entity_key = ("membership", user_id, account_id)
        metric_names[entity].add(row["metric"])
        key = (entity_key, row["metric"])
        if key not in latest or observed > latest[key][0]:
            latest[key] = (observed, row.get("value"))

    def metric_fields(entity_key: tuple, kind: str) -> dict:
        return {
            f"metric_{name}": latest.get((entity_key, name), (None, None))[1]
            for name in sorted(metric_names[kind])
        }

    # 7. Events per entity and capped counts.
    cap = settings["daily_cap"]
    user_events = {u: [e for e in events if e["user"] == u] for u in users}
    pair_events = {
        (u, a): [e for e in events if e["user"] == u and e["account"] == a]
        for (u, a) in memberships
    }
    account_events = {a: [e for e in events if e["account"] == a] for a in accounts}
    user_counts = {u: capped_counts(user_events[u], cap) for u in users}
    pair_counts = {p: capped_counts(pair_events[p], cap) for p in memberships}
    account_counts: dict[str, dict] = {a: {} for a in accounts}
    for (_user, account), counts in pair_counts.items():
        for key, count in counts.items():
            account_counts[account][key] = account_counts[account].get(key, 0) + count

    def engagement(all_counts: dict, kind: str) -> dict:
        raws = {x: raw_value(c, settings, current) for x, c in all_counts.items()}
        population = [r for r in raws.values() if r > 0]
        ref = settings["score_reference"].get(kind)
        if ref is None:
            ref = p90(population)
        if details is not None:
            details.setdefault("reference", {})[kind] = ref
            details.setdefault("counts", {})[kind] = all_counts
            details.setdefault("raw", {})[kind] = {
                x: (raws[x], raw_value(c, settings, previous)) for x, c in all_counts.items()
            }
        result = {}
        for x, counts in all_counts.items():
            now = score(raws[x], ref)
            before = score(raw_value(counts, settings, previous), ref)
            result[x] = {
                "raw": raws[x],
                "engagement_score": now,
                "engagement_score_previous": before,
                "engagement_trend": now - before,
                "engagement_trend_label": trend_label(now - before),
                "score_reasons": score_reasons(counts, settings, current),
            }
        return result

    if details is not None:
        details.update(settings=settings, current=current, previous=previous)
        details["events"] = {
            "user": user_events,
            "membership": pair_events,
            "account": account_events,
        }
    user_scores = engagement(user_counts, "user")
    pair_scores = engagement(pair_counts, "membership")
    account_scores = engagement(account_counts, "account")

    # 8. Champions and primary accounts.
    champion: dict[str, str | None] = {}
    for account in accounts:
        members = [(u, a) for (u, a) in memberships if a == account]
        best = None
        for pair in members:
            s = pair_scores[pair]
            rank = (-s["engagement_score"], -s["raw"], pair[0])
            if s["engagement_score"] > 0 and (best is None or rank < best[0]):
                best = (rank, pair[0])
        champion[account] = best[1] if best else None
    primary: dict[str, str | None] = {}
    for user in users:
        best = None
        for pair in [(u, a) for (u, a) in memberships if u == user]:
            s = pair_scores[pair]
            rank = (-s["engagement_score"], -s["raw"], pair[1])
            if best is None or rank < best[0]:
                best = (rank, pair[1])
        primary[user] = best[1] if best else None

    connection = duckdb.connect()
    common_scores = [
        "engagement_score",
        "engagement_score_previous",
        "engagement_trend",
        "engagement_trend_label",
        "score_reasons",
    ]

    def common(scores: dict, activity: dict) -> dict:
        fields = {name: scores[name] for name in common_scores}
        fields.update(activity)
        fields["as_of"] = as_of
        return {name: fields[name] for name in COMMON_FIELDS}

    # 9. Companies.
    companies = []
    for account in sorted(accounts):
        traits = account_traits[account]
        group_times = [g["time"] for g in groups if g["account"] == account]
        activity = activity_fields(
            account_events[account],
            settings,
            current,
            as_of,
            group_times + trait_times(traits, as_of),
        )
        record: dict[str, Any] = {"account_id": account}
        record.update(common(account_scores[account], activity))
        record["name"] = traits.get("name")
        record["domain"] = account_domain(traits)
        record["active_users"] = len(
            {e["user"] for e in account_events[account] if e["date"] in current and e["weight"] > 0}
        )
        record["total_users"] = len({u for (u, a) in memberships if a == account})
        record["champion_user_id"] = champion[account]
        for name in settings["account_traits"]:
            record[name] = traits.get(name)
        record.update(metric_fields(("account", account), "account"))
        pqa = settings["pqa"]
        record["is_pqa"] = bool(pqa) and rule_holds(connection, pqa, record)
        record.update(apply_rules(connection, record, settings, "account"))
        companies.append(record)

    # 10. Contacts.
    contacts = []
    emails: dict[str, str | None] = {}
    for user in sorted(users):
        traits = user_traits[user]
        own_messages = [m["time"] for m in identifies + aliases if m["user"] == user]
        own_messages += [g["time"] for g in groups if g["user"] == user]
        activity = activity_fields(
            user_events[user], settings, current, as_of, own_messages + trait_times(traits, as_of)
        )
        record = {"user_id": user}
        record.update(common(user_scores[user], activity))
        emails[user] = valid_email(traits.get("email"))
        record["email"] = emails[user]
        record["primary_account_id"] = primary[user]
        for name in settings["user_traits"]:
            record[name] = traits.get(name)
        record.update(metric_fields(("user", user), "user"))
        pql = settings["pql"]
        record["is_pql"] = bool(pql) and rule_holds(connection, pql, record)
        record.update(apply_rules(connection, record, settings, "user"))
        contacts.append(record)

    # 11. Associations.
    associations = []
    for pair in sorted(memberships):
        user, account = pair
        traits = membership_traits[pair]
        group_times = [g["time"] for g in groups if g["user"] == user and g["account"] == account]
        activity = activity_fields(
            pair_events[pair], settings, current, as_of, group_times + trait_times(traits, as_of)
        )
        record = {"user_id": user, "account_id": account}
        record.update(common(pair_scores[pair], activity))
        record["email"] = emails[user]
        for name in settings["membership_traits"]:
            record[name] = traits.get(name)
        record["is_champion"] = champion[account] == user
        record.update(metric_fields(("membership", user, account), "membership"))
        record.update(apply_rules(connection, record, settings, "membership"))
        associations.append(record)
    connection.close()

    return {
        "contacts": [formatted(r) for r in contacts],
        "companies": [formatted(r) for r in companies],
        "associations": [formatted(r) for r in associations],
    }


def formatted(record: dict) -> dict:
    """Output form: datetimes as `...Z` strings, everything else as is."""
    return {
        name: format_time(value) if isinstance(value, datetime) else value
        for name, value in record.items()
    }
