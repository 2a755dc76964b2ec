"""Singer BATCH messages: the files of a manifest, read by DuckDB where they lie.

A BATCH message (singer-sdk flavour) names a stream, an encoding and a manifest of file
URLs: `{"type": "BATCH", "stream": "tracks", "encoding": {"format": "jsonl",
"compression": "gzip"}, "manifest": ["file:///tmp/batch-1.json.gz"]}`. JSONL files hold
one raw record per line (not Singer messages); Parquet files one record per row.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

FORMATS = ("jsonl", "parquet")

# Longest JSONL record read from a BATCH file. DuckDB reads through buffers of twice this
# size out of the store's memory limit, so it cannot be "unlimited"; Segment itself
# rejects messages over 32 KB.
BATCH_RECORD_BYTES = 32 * 1024 * 1024


class BatchError(ValueError):
    """A BATCH message or one of its files that cannot be read (names which and why)."""


@dataclass(frozen=True)
class BatchFile:
    """One file of a BATCH manifest."""

    stream: str
    url: str
    path: Path
    format: str
    compression: str | None

    @property
    def nulls_are_missing(self) -> bool:
        """Parquet gives every row every column, so a null member means "not sent"."""
        return self.format == "parquet"

    def records_sql(self) -> str:
        """SQL of the file's records, one `record` JSON per row, in file order."""
        if self.format == "parquet":
            return "SELECT to_json(p) AS record FROM read_parquet($file) AS p"
        # The SDK's JSONL batcher gzips whatever the encoding says; the extension tells.
        compression = "gzip" if self.compression == "gzip" else "auto_detect"
        return (
            "SELECT json AS record FROM read_json_objects($file, "
            f"format='newline_delimited', compression='{compression}', "
            f"maximum_object_size={BATCH_RECORD_BYTES})"
        )

    def params(self) -> dict[str, str]:
        """Query parameters of `records_sql`."""
        return {"file": str(self.path)}

    def error(self, cause: Exception) -> BatchError:
        """The error to stop the run with when DuckDB cannot read the file."""
        return BatchError(
            f"BATCH file {self.url} of stream {self.stream!r} ({self.format}) cannot be "
            f"read: {cause}"
        )


def _local_path(url: str, stream: str) -> Path:
    parts = urlsplit(url)
    if parts.scheme in ("", "file") and parts.netloc in ("", "localhost"):
        return Path(unquote(parts.path))
    raise BatchError(
        f"BATCH manifest of stream {stream!r} names {url!r}: plg-transform reads batch "
        "files from the local file system only (file:// URLs); set the tap's "
        "batch_config.storage.root to a file:// folder the transform can read"
    )


def batch_files(message_dict: dict) -> list[BatchFile]:
    """The files of a BATCH message, checked; raises BatchError naming what is wrong."""
    stream = message_dict.get("stream")
    if not isinstance(stream, str) or not stream:
        raise BatchError(f"BATCH message without a stream name: {str(message_dict)[:200]}")
    encoding = message_dict.get("encoding")
    if not isinstance(encoding, dict):
        raise BatchError(f"BATCH message of stream {stream!r} has no encoding object")
    fmt = encoding.get("format")
    if fmt not in FORMATS:
        raise BatchError(
            f"BATCH message of stream {stream!r}: encoding.format {fmt!r} is not supported "
            f"(plg-transform reads {', '.join(FORMATS)})"
        )
    compression = encoding.get("compression")
    if compression not in (None, "none", "gzip"):
        raise BatchError(
            f"BATCH message of stream {stream!r}: encoding.compression {compression!r} is "
            "not supported (gzip or none)"
        )
    manifest = message_dict.get("manifest")
    if not isinstance(manifest, list) or not all(isinstance(u, str) for u in manifest):
        raise BatchError(f"BATCH message of stream {stream!r}: manifest is not a list of URLs")
    files = []
    for url in t.cast(list[str], manifest):
        path = _local_path(url, stream)
        if not path.is_file():
            raise BatchError(
                f"BATCH file {url} of stream {stream!r} does not exist (or is not a file) "
                "on this machine"
            )
        files.append(BatchFile(stream, url, path, fmt, compression))
    return files
