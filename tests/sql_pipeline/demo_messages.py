"""A realistic message set: the embedded demo's Segment archive, small, and its deliveries.

The same messages go to every source. The JSON-lines path reads the demo's gzip archive
as generated; the warehouse tables get what Segment's warehouse loader would write for
those messages (nested context objects flattened: `context.library.name` ->
`context_library_name`). A few mobile `screen` messages are added because the demo has
none, so every roll-up event kind (track, page, screen) is exercised, and a few messages
real sources send that the demo does not: an anonymous visitor's events in an account,
linked to a user by a late alias; the account only in `properties.groupId` behind an
empty `context.groupId`; an empty `userId`; no `timestamp` (time from
`originalTimestamp`); a time with a UTC offset whose UTC day is the day before.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import typing as t
from dataclasses import dataclass
from pathlib import Path

from demo.generate_demo import generate

# Seed 3 at this size has everything the comparison needs: anonymous visitors linked by
# identify and by alias, users in two accounts, API calls with the account in
# properties.groupId, re-delivered duplicates, late arrivals and a runaway script.
SEED = 3
ACCOUNTS = 8
USERS = 25
DAYS = 40
LAST_DAY = dt.date(2026, 6, 30)
AS_OF = "2026-07-01T00:00:00Z"  # after every event: the whole archive counts
SCREENS = 8


@dataclass
class DemoArchive:
    """The messages in delivery order, and where the gzip archive lies."""

    folder: Path
    messages: list[dict[str, t.Any]]

    @property
    def glob(self) -> str:
        """The `events_paths` glob of the archive (the added screens included)."""
        return str(self.folder / "**" / "*.gz")


def _read_archive(folder: Path) -> list[dict[str, t.Any]]:
    messages: list[dict[str, t.Any]] = []
    for path in sorted(folder.rglob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            messages.extend(json.loads(line) for line in handle if line.strip())
    return messages


def _screens(messages: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """Mobile-app screens seen by signed-in users, one minute after some of their pages."""
    pages = [m for m in messages if m["type"] == "page" and m.get("userId")]
    screens = []
    for n, page in enumerate(pages[:: max(1, len(pages) // SCREENS)][:SCREENS]):
        screen = {
            key: page[key] for key in ("userId", "timestamp", "sentAt", "receivedAt", "context")
        }
        screen.update(type="screen", messageId=f"screen-{n:02d}", name="Project List")
        screen["context"] = {
            key: value for key, value in page["context"].items() if key in ("groupId", "ip")
        }
        screen["context"]["library"] = {"name": "analytics-ios", "version": "4.1.0"}
        screens.append(screen)
    return screens


def _edge_cases(messages: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """Messages of a demo user in one of its accounts, shaped as other libraries send them."""
    group = next(m for m in messages if m["type"] == "group")
    user, account = group["userId"], group["groupId"]

    def track(mid: str, at: str, received: str, **fields: t.Any) -> dict[str, t.Any]:
        message = {"type": "track", "messageId": mid, "event": "Project Created"}
        message.update(timestamp=at, sentAt=received, receivedAt=received, **fields)
        return message

    visitor = "anon-edge-visitor"
    late_alias = {
        "type": "alias",
        "messageId": "edge-alias",
        "userId": user,
        "previousId": visitor,
        "timestamp": "2026-06-25T08:00:00Z",
        "receivedAt": "2026-06-25T08:00:01Z",
    }
    return [
        # An anonymous visitor works in the account; an alias links it days later.
        track(
            "edge-anon-1",
            "2026-06-12T09:00:00Z",
            "2026-06-12T09:00:01Z",
            anonymousId=visitor,
            context={"groupId": account},
        ),
        track(
            "edge-anon-2",
            "2026-06-12T09:30:00Z",
            "2026-06-12T09:30:01Z",
            anonymousId=visitor,
            context={"groupId": account},
        ),
        late_alias,
        # A server library: empty context.groupId, the account in properties.groupId.
        track(
            "edge-props",
            "2026-06-14T10:00:00Z",
            "2026-06-14T10:00:01Z",
            userId=user,
            context={"groupId": ""},
            properties={"groupId": account},
        ),
        # An empty userId is no user: the event is the (linked) visitor's.
        track(
            "edge-empty-user",
            "2026-06-15T10:00:00Z",
            "2026-06-15T10:00:01Z",
            userId="",
            anonymousId=visitor,
            context={"groupId": account},
        ),
        # No timestamp: the time is originalTimestamp.
        {
            "type": "track",
            "messageId": "edge-original",
            "event": "Invite Sent",
            "userId": user,
            "originalTimestamp": "2026-06-16T11:00:00Z",
            "receivedAt": "2026-06-16T11:00:02Z",
            "context": {"groupId": account},
        },
        # 01:30 in UTC+02:00 is 23:30 UTC the day before.
        track(
            "edge-offset",
            "2026-06-18T01:30:00+02:00",
            "2026-06-17T23:30:05Z",
            userId=user,
            context={"groupId": account},
        ),
    ]


def demo_archive(folder: Path) -> DemoArchive:
    """Generate the demo archive into `folder` (plus one file of extras) and read it back."""
    generate(folder, seed=SEED, accounts=ACCOUNTS, users=USERS, days=DAYS, end=LAST_DAY)
    messages = _read_archive(folder)
    extras = _screens(messages) + _edge_cases(messages)
    with gzip.open(folder / "extra-messages.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(m) + "\n" for m in extras)
    return DemoArchive(folder, messages + extras)


def _flat_context(context: t.Mapping[str, t.Any], prefix: str = "") -> dict[str, t.Any]:
    """Nested context objects as the warehouse keeps them: `library.name` -> `libraryName`."""
    flat: dict[str, t.Any] = {}
    for key, value in context.items():
        name = prefix + (key[:1].upper() + key[1:] if prefix else key)
        if isinstance(value, dict):
            flat.update(_flat_context(value, name))
        else:
            flat[name] = value
    return flat


def as_warehouse_loads(messages: t.Iterable[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """The messages with flat context, ready for `segment_warehouse.load_messages`."""
    loaded = []
    for message in messages:
        copy = dict(message)
        if isinstance(copy.get("context"), dict):
            copy["context"] = _flat_context(copy["context"])
        loaded.append(copy)
    return loaded


def write_jsonl(path: Path, messages: t.Iterable[dict[str, t.Any]]) -> Path:
    """A plain JSON-lines archive of the messages, in the given order."""
    path.write_text("".join(json.dumps(m) + "\n" for m in messages), encoding="utf-8")
    return path


def instant(text: str) -> dt.datetime:
    """An ISO 8601 `Z` string as an aware datetime."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def event_day(message: dict[str, t.Any]) -> str:
    """UTC date of a message's time (timestamp, else originalTimestamp, else receivedAt)."""
    text = message.get("timestamp") or message.get("originalTimestamp") or message["receivedAt"]
    return instant(text).astimezone(dt.UTC).date().isoformat()
