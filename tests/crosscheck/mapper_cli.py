"""Run the real `plg-transform` console script on a message set, as the tap would feed it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from ..reference.metrics_reference import content_id, normalize_id

MAPPER = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "plg-transform"
OUTPUT_STREAMS = ("companies", "contacts", "associations")
STREAM_OF_TYPE = {
    "track": "tracks",
    "identify": "identifies",
    "group": "groups",
    "page": "pages",
    "screen": "screens",
    "alias": "aliases",
    "metric": "metrics",
}
# The order streams are sent in (each: SCHEMA, then its RECORDs in delivery order).
STREAM_ORDER = ["identifies", "aliases", "groups", "tracks", "pages", "screens", "metrics"]

NULLABLE_TEXT = {"type": ["string", "null"]}
NULLABLE_OBJECT = {"type": ["object", "null"]}
COMMON = {
    "messageId": {"type": "string"},
    "type": NULLABLE_TEXT,
    "userId": NULLABLE_TEXT,
    "anonymousId": NULLABLE_TEXT,
    "timestamp": NULLABLE_TEXT,
    "originalTimestamp": NULLABLE_TEXT,
    "sentAt": NULLABLE_TEXT,
    "receivedAt": NULLABLE_TEXT,
    "context": NULLABLE_OBJECT,
}
EXTRA = {
    "tracks": {"event": NULLABLE_TEXT, "properties": NULLABLE_OBJECT},
    "identifies": {"traits": NULLABLE_OBJECT},
    "groups": {"groupId": NULLABLE_TEXT, "traits": NULLABLE_OBJECT},
    "pages": {"name": NULLABLE_TEXT, "properties": NULLABLE_OBJECT},
    "screens": {"name": NULLABLE_TEXT, "properties": NULLABLE_OBJECT},
    "aliases": {"previousId": NULLABLE_TEXT},
}
METRICS_SCHEMA = {
    "type": "object",
    "properties": {
        "entity": {"type": "string"},
        "user_id": NULLABLE_TEXT,
        "account_id": NULLABLE_TEXT,
        "metric": {"type": "string"},
        "value": {"type": ["number", "string", "boolean", "null"]},
        "observed_at": {"type": "string", "format": "date-time"},
    },
}
METRICS_KEY = ["entity", "user_id", "account_id", "metric", "observed_at"]


class MapperFailed(AssertionError):
    """The mapper exited non-zero (its stderr tail is the message)."""


def tap_record(message: dict, raw_ids: bool = False) -> tuple[str, dict]:
    """What tap-product-events emits for a source message (pipeline-contract.md).

    With `raw_ids`, user/anonymous/group ids keep the source's form (numbers, ""), as
    another tap might send them; metrics.md says the transform reads those too.
    """
    stream = STREAM_OF_TYPE[message["type"]]
    if stream == "metrics":
        return stream, {k: v for k, v in message.items() if k != "type"}
    record = dict(message)
    given = normalize_id(message.get("messageId"))
    record["messageId"] = given if given is not None else content_id(message)
    for key in ("userId", "anonymousId", "groupId", "previousId"):
        if key in record and not raw_ids:
            record[key] = normalize_id(record[key])
    return stream, record


def stream_schema(stream: str, raw_ids: bool = False) -> dict:
    """The SCHEMA message of one input stream."""
    if stream == "metrics":
        return {
            "type": "SCHEMA",
            "stream": stream,
            "schema": METRICS_SCHEMA,
            "key_properties": METRICS_KEY,
        }
    properties = {**COMMON, **EXTRA[stream]}
    if raw_ids:
        for key in ("userId", "anonymousId", "groupId", "previousId"):
            if key in properties:
                properties[key] = {"type": ["string", "integer", "null"]}
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties},
        "key_properties": ["messageId"],
    }


def delivery_order(messages: list[dict]) -> list[dict]:
    """Messages in the order the mapper receives them (grouped by stream, stable)."""
    rank = {name: i for i, name in enumerate(STREAM_ORDER)}
    return sorted(messages, key=lambda m: rank[STREAM_OF_TYPE[m["type"]]])


def singer_input(messages: list[dict], state: dict, raw_ids: bool = False) -> str:
    """SCHEMA then RECORD lines per stream, then one STATE."""
    lines = []
    announced: set[str] = set()
    for message in delivery_order(messages):
        stream, record = tap_record(message, raw_ids)
        if stream not in announced:
            announced.add(stream)
            lines.append(json.dumps(stream_schema(stream, raw_ids)))
        lines.append(json.dumps({"type": "RECORD", "stream": stream, "record": record}))
    lines.append(json.dumps({"type": "STATE", "value": state}))
    return "\n".join(lines) + "\n"


def run_mapper(
    config: dict, messages: list[dict], workdir: Path, run: int = 1, raw_ids: bool = False
) -> dict[str, list[dict]]:
    """Run plg-transform once; the RECORDs it emits, by output stream."""
    config_path = workdir / f"config-{run}.json"
    config_path.write_text(json.dumps(config))
    state = {"bookmarks": {"tracks": {"replication_key_value": f"run-{run}"}}}
    env = dict(os.environ, TZ="Pacific/Chatham")  # results must not depend on the zone
    completed = subprocess.run(
        [str(MAPPER), "--config", str(config_path)],
        input=singer_input(messages, state, raw_ids),
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        raise MapperFailed(
            f"plg-transform exited {completed.returncode} (run {run}):\n" + completed.stderr[-3000:]
        )
    records: dict[str, list[dict]] = {name: [] for name in OUTPUT_STREAMS}
    for line in completed.stdout.splitlines():
        if not line.strip():
            continue
        message = json.loads(line)
        if message.get("type") == "RECORD" and message.get("stream") in records:
            records[message["stream"]].append(message["record"])
    return records
