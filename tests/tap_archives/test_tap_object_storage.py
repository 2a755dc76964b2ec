"""Archives in object storage: `s3://` globs read from a real S3-compatible server.

moto's server mode listens on loopback for the test; the tap reaches it through s3fs with
the endpoint and credentials of the secret `storage_options` setting, as it would reach
MinIO or AWS. Incremental runs skip objects whose size and ETag are unchanged, read new
objects, and read a replaced object again wholly.
"""

from __future__ import annotations

import gzip
import json
import typing as t
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from .conftest import TapRun, track

BUCKET = "segment-archive"  # moto keeps buckets per process: each test empties it first
KEYS = {"key": "testing-key-id", "secret": "testing-secret-key"}


@pytest.fixture
def s3_endpoint() -> t.Iterator[str]:
    """A moto S3 server on a free loopback port with an empty bucket."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = _client(endpoint)
    client.create_bucket(Bucket=BUCKET)
    for listed in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=listed["Key"])
    try:
        yield endpoint
    finally:
        server.stop()


def _client(endpoint: str) -> t.Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEYS["key"],
        aws_secret_access_key=KEYS["secret"],
    )


def _put(endpoint: str, key: str, messages: list[dict[str, t.Any]]) -> None:
    body = "".join(json.dumps(m) + "\n" for m in messages).encode()
    if key.endswith(".gz"):
        body = gzip.compress(body)
    _client(endpoint).put_object(Bucket=BUCKET, Key=key, Body=body)


def _config(endpoint: str) -> dict[str, t.Any]:
    return {
        "events_paths": [f"s3://{BUCKET}/segment/**/*.gz", f"s3://{BUCKET}/segment/**/*.jsonl"],
        "storage_options": {"s3": {**KEYS, "endpoint_url": endpoint}},
    }


def _ids(run: TapRun) -> list[str]:
    assert run.returncode == 0, run.stderr[-3000:]
    return sorted(run.message_ids())


def test_s3_objects_plain_and_gzip_are_read_once_then_new_and_changed_ones_again(
    s3_endpoint: str, run_tap: t.Callable[..., TapRun], tmp_path: Path
) -> None:
    _put(s3_endpoint, "segment/2026/03/01/a.jsonl.gz", [track("a-1"), track("a-2")])
    _put(s3_endpoint, "segment/2026/03/01/b.jsonl", [track("b-1")])
    _put(s3_endpoint, "segment/2026/03/01/notes.txt", [track("not-an-archive")])

    first = run_tap(_config(s3_endpoint))
    assert _ids(first) == ["a-1", "a-2", "b-1"]
    marks = _object_marks(first)
    assert sorted(marks) == [
        f"s3://{BUCKET}/segment/2026/03/01/a.jsonl.gz",
        f"s3://{BUCKET}/segment/2026/03/01/b.jsonl",
    ]
    assert all(set(m) == {"size", "etag"} for m in marks.values()), marks
    assert KEYS["secret"] not in first.stderr

    again = run_tap(_config(s3_endpoint), first.final_state)
    assert _ids(again) == []

    _put(s3_endpoint, "segment/2026/03/02/c.jsonl.gz", [track("c-1")])
    _put(s3_endpoint, "segment/2026/03/01/b.jsonl", [track("b-1"), track("b-2")])
    later = run_tap(_config(s3_endpoint), again.final_state)
    # The new object, and the replaced one wholly (b-1 again: the transform dedups it).
    assert _ids(later) == ["b-1", "b-2", "c-1"]
    assert len(_object_marks(later)) == 3


def test_wrong_credentials_name_the_glob_and_keep_the_bookmarks(
    s3_endpoint: str, run_tap: t.Callable[..., TapRun]
) -> None:
    _put(s3_endpoint, "segment/2026/03/01/a.jsonl.gz", [track("a-1")])
    first = run_tap(_config(s3_endpoint))
    assert _ids(first) == ["a-1"]
    broken = _config(s3_endpoint)
    broken["storage_options"]["s3"]["endpoint_url"] = "http://127.0.0.1:9"  # nothing listens
    failed = run_tap(broken, first.final_state)
    assert failed.returncode == 0, failed.stderr[-3000:]
    assert f"s3://{BUCKET}/segment/**/*.gz" in failed.stderr
    assert _object_marks(failed) == _object_marks(first)


def _object_marks(run: TapRun) -> dict[str, dict[str, t.Any]]:
    files = run.final_state["sources"]["events_files"]["files"]
    return {url: mark for url, mark in files.items() if url.startswith("s3://")}
