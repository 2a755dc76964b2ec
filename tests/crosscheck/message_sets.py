"""Hypothesis strategies for random-but-valid Segment message sets and mapper configs.

Small id pools make collisions (shared accounts, stitched anonymous ids, bursts that hit
the daily cap) likely. Duplicates are re-deliveries: the same message with another
receivedAt/sentAt, so "first copy wins" never depends on which copy is first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

USERS: list[Any] = ["u1", "u2", "u3", 7, "u5"]
ANONYMOUS = ["anon-a", "anon-b", "anon-c", "anon-d"]
ACCOUNTS: list[Any] = ["acc1", "acc2", 31]
EVENTS = ["Signed Up", "Created Project", "Invited Teammate", "Exported Report"]
FEATURES = ["projects", "sharing", "reports"]
AS_OF_CHOICES = ["2026-03-15T12:00:00Z", "2026-03-15T00:00:00Z", "2026-03-15T23:59:59.250000Z"]
TIME_STYLES = ["z", "ms", "offset0", "plus2", "minus530", "naive", "date"]

USER_RULES = [
    "engagement_score >= 50",
    "activated",
    "active_days >= 2 AND email IS NOT NULL",
    "metric_projects >= 2",
    "days_since_last_active <= 3",
    "engagement_trend_label = 'rising'",
    "adoption_rate >= 0.5",
    "tenure_days > 10 OR primary_account_id IS NULL",
]
ACCOUNT_RULES = [
    "active_users >= 2",
    "metric_seats_used >= 0.8 * metric_seat_limit",
    "engagement_score >= 60 AND total_users >= 2",
    "domain IS NOT NULL",
    "champion_user_id IS NOT NULL AND activation_rate > 0",
    "metric_plan_tier = 'enterprise'",
]
MEMBERSHIP_RULES = [
    "role = 'admin'",
    "is_champion",
    "engagement_score > 0 AND score_reasons LIKE '%Project%'",
    "metric_permissions >= 3",
]
METRICS = {
    "user": {"projects": st.integers(0, 5)},
    "account": {
        "seats_used": st.integers(0, 10),
        "seat_limit": st.integers(1, 10),
        "plan_tier": st.sampled_from(["free", "team", "enterprise"]),
    },
    "membership": {"permissions": st.integers(0, 5) | st.none()},
}


@dataclass
class MessageSet:
    """Messages in delivery order (Segment form, `type: metric` for backend metrics)."""

    as_of: str
    config: dict
    messages: list[dict] = field(default_factory=list)


def iso(moment: datetime, style: str) -> str:
    """One of the ISO 8601 spellings sources use."""
    if style == "z":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "ms":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if style == "offset0":
        return moment.isoformat()
    if style == "plus2":
        return moment.astimezone(timezone(timedelta(hours=2))).isoformat()
    if style == "minus530":
        return moment.astimezone(timezone(-timedelta(hours=5, minutes=30))).isoformat()
    if style == "naive":
        return moment.replace(tzinfo=None).isoformat()
    return moment.date().isoformat()


def parse_as_of(text: str) -> datetime:
    """The config's as_of as an aware datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


@st.composite
def moments(draw: st.DrawFn, as_of: datetime, window: int) -> datetime:
    """A time within about two windows before as_of, sometimes just after it."""
    day_offset = draw(st.integers(-(2 * window + 1), 1))
    second = draw(st.integers(0, 86_399))
    millis = draw(st.sampled_from([0, 0, 250, 999]))
    start = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    return start + timedelta(days=day_offset, seconds=second, milliseconds=millis)


@st.composite
def configs(draw: st.DrawFn) -> dict:
    """A mapper configuration (without store_path and as_of)."""
    config: dict[str, Any] = {"window_days": draw(st.sampled_from([2, 3, 7]))}
    if draw(st.integers(0, 9)) > 0:
        events = {}
        for name in draw(st.lists(st.sampled_from([*EVENTS, "Page Viewed"]), unique=True)):
            entry: dict[str, Any] = {"weight": draw(st.sampled_from([0, 0.5, 1, 2, 3]))}
            feature = draw(st.sampled_from([None, *FEATURES]))
            if feature:
                entry["feature"] = feature
            events[name] = entry
        config["events"] = events
        config["default_weight"] = draw(st.sampled_from([0, 1]))
    config["daily_cap"] = draw(st.sampled_from([0, 1, 2, 20]))
    if draw(st.booleans()):
        kinds = draw(st.lists(st.sampled_from(["user", "account", "membership"]), unique=True))
        config["score_reference"] = {k: draw(st.sampled_from([1, 2.5, 6])) for k in kinds}
    if draw(st.booleans()):
        config["account_id_paths"] = ["properties.groupId", "context.groupId"]
    config["membership_traits"] = draw(st.sampled_from([["role"], ["role", "title"]]))
    milestones = []
    for i, event in enumerate(draw(st.lists(st.sampled_from(EVENTS), max_size=2))):
        milestones.append({"name": f"step{i}", "event": event, "count": draw(st.integers(1, 3))})
    if milestones:
        config["activation"] = {"milestones": milestones}
    config["user_traits"] = draw(st.sampled_from([[], ["plan"]]))
    config["account_traits"] = draw(st.sampled_from([[], ["plan", "industry"]]))
    user_rules = list(USER_RULES) + (["plan = 'pro'"] if config["user_traits"] else [])
    account_rules = list(ACCOUNT_RULES) + (
        ["plan = 'pro' OR industry = 'saas'"] if config["account_traits"] else []
    )
    if draw(st.booleans()):
        config["pql"] = draw(st.sampled_from(user_rules))
    if draw(st.booleans()):
        config["pqa"] = draw(st.sampled_from(account_rules))
    segments = []
    for i in range(draw(st.integers(0, 3))):
        applies_to = draw(st.sampled_from(["user", "account", "membership", None]))
        pool = {"account": account_rules, "membership": MEMBERSHIP_RULES}.get(
            applies_to or "user", user_rules
        )
        segment = {"name": f"seg{i}", "when": draw(st.sampled_from(pool))}
        if applies_to:
            segment["applies_to"] = applies_to
        segments.append(segment)
    config["segments"] = segments
    lifecycle = []
    for i in range(draw(st.integers(0, 3))):
        applies_to = draw(st.sampled_from(["user", "account", "membership"]))
        pool = {"account": account_rules, "membership": MEMBERSHIP_RULES}.get(
            applies_to, user_rules
        )
        lifecycle.append(
            {"stage": f"stage{i}", "when": draw(st.sampled_from(pool)), "applies_to": applies_to}
        )
    config["lifecycle"] = lifecycle
    return config


@st.composite
def message_sets(draw: st.DrawFn, max_messages: int = 30) -> MessageSet:
    """A configuration and a message set, duplicates and after-as_of messages included."""
    as_of_text = draw(st.sampled_from(AS_OF_CHOICES))
    as_of = parse_as_of(as_of_text)
    config = draw(configs())
    window = config["window_days"]
    counter = iter(range(1, 10_000))
    messages: list[dict] = []

    def stamp(message: dict) -> dict:
        """Time fields and a messageId (string, number or none at all)."""
        moment = draw(moments(as_of, window))
        style = draw(st.sampled_from(TIME_STYLES))
        where = draw(st.sampled_from(["timestamp", "timestamp", "originalTimestamp", "fallback"]))
        if where == "fallback":  # unparseable timestamp, so originalTimestamp counts
            message["timestamp"] = "not a time"
            message["originalTimestamp"] = iso(moment, style)
        else:
            message[where] = iso(moment, style)
        message["receivedAt"] = iso(moment + timedelta(seconds=5), "ms")
        id_style = draw(st.sampled_from(["text", "text", "number", "missing"]))
        n = next(counter)
        if id_style == "text":
            message["messageId"] = f"m-{n}"
        elif id_style == "number":
            message["messageId"] = 1000 + n
        else:
            message["properties" if "event" in message else "context"] = (
                message.get("properties") or message.get("context") or {}
            ) | {"nonce": n}  # keeps distinct id-less messages distinct
        return message

    def who(message: dict) -> None:
        user = draw(st.sampled_from([*USERS, None]))
        if user is None:
            message["anonymousId"] = draw(st.sampled_from(ANONYMOUS))
            if draw(st.booleans()):
                message["userId"] = ""  # empty string is no id
        else:
            message["userId"] = user
            if draw(st.integers(0, 3)) == 0:
                message["anonymousId"] = draw(st.sampled_from(ANONYMOUS))

    def account_place(message: dict) -> None:
        account = draw(st.sampled_from([*ACCOUNTS, None]))
        if account is None:
            return
        place = draw(st.sampled_from(["context", "properties", "both", "empty-first"]))
        if place in ("context", "both"):
            message.setdefault("context", {})["groupId"] = account
        if place in ("properties", "both"):
            message.setdefault("properties", {})["groupId"] = draw(st.sampled_from(ACCOUNTS))
        if place == "empty-first":
            message.setdefault("context", {})["groupId"] = ""
            message.setdefault("properties", {})["groupId"] = account

    kinds = st.sampled_from(
        ["track"] * 5 + ["burst", "page", "screen", "identify"] * 2 + ["group"] * 3 + ["alias"]
    )
    for _ in range(draw(st.integers(1, max_messages))):
        kind = draw(kinds)
        if kind in ("track", "burst", "page", "screen"):
            message: dict = {"type": "track" if kind == "burst" else kind}
            if message["type"] == "track":
                message["event"] = draw(st.sampled_from(EVENTS))
            else:
                message["name"] = draw(st.sampled_from(["Home", "Settings"]))
            who(message)
            account_place(message)
            stamp(message)
            messages.append(message)
            if kind == "burst":  # same event, same user, same date: exercises the cap
                for i in range(draw(st.integers(1, 4))):
                    copy = dict(message, messageId=f"burst-{next(counter)}")
                    copy.pop("originalTimestamp", None)
                    base = datetime.fromisoformat(
                        message.get("originalTimestamp") or message["timestamp"]
                    )
                    if base.tzinfo is None:
                        base = base.replace(tzinfo=UTC)
                    day = base.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
                    copy["timestamp"] = iso(day + timedelta(minutes=7 * i + 1), "z")
                    messages.append(copy)
        elif kind == "identify":
            message = {"type": "identify"}
            who(message)
            traits: dict[str, Any] = {}
            if draw(st.booleans()):
                traits["email"] = draw(
                    st.sampled_from(
                        [" Ann@Example.COM ", "bob@example.org", "not-an-email", None, "c@d.io"]
                    )
                )
            if draw(st.booleans()):
                traits["plan"] = draw(st.sampled_from(["pro", "free", None]))
            if draw(st.integers(0, 3)) == 0:
                key = draw(st.sampled_from(["createdAt", "created_at"]))
                traits[key] = iso(draw(moments(as_of, window)), draw(st.sampled_from(TIME_STYLES)))
            message["traits"] = traits
            messages.append(stamp(message))
        elif kind == "group":
            message = {"type": "group", "groupId": draw(st.sampled_from(ACCOUNTS))}
            if draw(st.integers(0, 5)) > 0:
                message["userId"] = draw(st.sampled_from(USERS))
            else:
                message["anonymousId"] = draw(st.sampled_from(ANONYMOUS))
            traits = {}
            options = {
                "name": st.sampled_from(["Acme", "Globex", None]),
                "domain": st.sampled_from(["Acme.com", "www.globex.io", "", None]),
                "website": st.sampled_from(["https://www.Initech.com/about", "initech.net", None]),
                "role": st.sampled_from(["admin", "member", None]),
                "title": st.sampled_from(["CTO", None]),
                "plan": st.sampled_from(["pro", "free"]),
                "industry": st.sampled_from(["saas", "retail"]),
            }
            for key in draw(st.lists(st.sampled_from(sorted(options)), unique=True)):
                traits[key] = draw(options[key])
            message["traits"] = traits
            messages.append(stamp(message))
        else:
            message = {
                "type": "alias",
                "previousId": draw(st.sampled_from(ANONYMOUS)),
                "userId": draw(st.sampled_from(USERS)),
            }
            messages.append(stamp(message))

    for entity, metrics in METRICS.items():
        for name, values in metrics.items():
            for _ in range(draw(st.integers(0, 2))):
                row: dict[str, Any] = {"type": "metric", "entity": entity, "metric": name}
                row["user_id"] = str(draw(st.sampled_from(USERS))) if entity != "account" else None
                row["account_id"] = (
                    str(draw(st.sampled_from(ACCOUNTS))) if entity != "user" else None
                )
                row["value"] = draw(values)
                moment = draw(moments(as_of, window)) + timedelta(microseconds=next(counter))
                row["observed_at"] = iso(moment, "offset0")
                messages.append(row)

    # Re-deliveries: the same message later in the stream (another receivedAt/sentAt).
    for index in draw(st.lists(st.integers(0, len(messages) - 1), max_size=4)):
        original = messages[index]
        copy = dict(original)
        if original["type"] != "metric":
            copy["sentAt"] = "2026-03-20T00:00:00Z"
            if "timestamp" in original and original["timestamp"] != "not a time":
                copy["receivedAt"] = "2026-03-20T00:00:01Z"
        messages.insert(draw(st.integers(index + 1, len(messages))), copy)

    # An invalid message (no parseable time) that must count for nothing.
    if draw(st.integers(0, 4)) == 0:
        messages.append(
            {
                "type": "track",
                "userId": "u-invalid",
                "event": EVENTS[0],
                "timestamp": "soon",
                "messageId": "invalid-1",
            }
        )
    return MessageSet(as_of=as_of_text, config=config, messages=messages)
