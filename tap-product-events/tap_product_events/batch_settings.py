"""The SDK's standard `batch_config` setting, declared strictly, and where its files go.

With `batch_config` set, the tap writes each stream's records of a run to files under
`storage.root` and announces them in Singer BATCH messages instead of RECORD lines. Only
local folders (a path or a `file://` URL) are accepted: plg-transform reads the files
where they lie.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from plg_settings import SettingProblems
from singer_sdk import typing as th

BATCH_CONFIG = th.Property(
    "batch_config",
    th.ObjectType(
        th.Property(
            "encoding",
            th.ObjectType(
                th.Property(
                    "format",
                    th.StringType,
                    allowed_values=["jsonl", "parquet"],
                    default="jsonl",
                    title="Batch file format",
                    description="jsonl: one record per line; parquet: one record per row.",
                ),
                th.Property(
                    "compression",
                    th.StringType,
                    allowed_values=["gzip", "none"],
                    default="gzip",
                    title="Batch file compression",
                    description="gzip or none (JSON lines only; Parquet is compressed inside).",
                ),
                additional_properties=False,
            ),
            required=True,
            title="Batch encoding",
            description="The format and compression of the batch files.",
        ),
        th.Property(
            "storage",
            th.ObjectType(
                th.Property(
                    "root",
                    th.StringType(min_length=1),
                    required=True,
                    title="Batch folder",
                    description=(
                        "The local folder the batch files are written to: a path or a "
                        "file:// URL (created if missing). The tap never deletes them; the "
                        "reader of the BATCH messages does not either."
                    ),
                    examples=["file://.meltano/batches"],
                ),
                th.Property(
                    "prefix",
                    th.StringType,
                    default="",
                    title="Batch file name prefix",
                    description="Text put before every batch file's name.",
                ),
                additional_properties=False,
            ),
            required=True,
            title="Batch storage",
            description="Where the batch files are written.",
        ),
        additional_properties=False,
    ),
    title="Batch messages",
    description=(
        "When set, each stream's records of a run are written to files read in bulk and "
        "announced in Singer BATCH messages, instead of one RECORD line each: much faster "
        "for backfills. The bookmarks are committed only after every file is announced."
    ),
)


def _local_folder(root: str) -> Path | None:
    parts = urlsplit(root)
    if parts.scheme == "file" and parts.netloc in ("", "localhost"):
        return Path(unquote(parts.path))
    if parts.scheme == "file" and parts.netloc not in ("", "localhost"):
        # file://relative/path: the SDK's UPath reads the host part as the first folder.
        return Path(parts.netloc + unquote(parts.path))
    if parts.scheme == "" or (len(parts.scheme) == 1 and root[1:2] == ":"):
        return Path(root)
    return None


def check_batch_config(config: t.Mapping[str, t.Any], problems: SettingProblems) -> None:
    """A root plg-transform can read: a local folder, not an object store."""
    batch = config.get("batch_config")
    if not batch:
        return
    root = batch["storage"]["root"]
    if _local_folder(root) is None:
        problems.add(
            ["batch_config", "storage", "root"],
            f"{root!r} is not a local folder: use a path or a file:// URL "
            "(plg-transform reads batch files where they lie)",
        )


@dataclass(frozen=True)
class BatchSettings:
    """Where and how the run's batch files are written."""

    folder: Path
    prefix: str
    format: str
    compression: str

    @classmethod
    def from_config(cls, batch: t.Mapping[str, t.Any]) -> BatchSettings:
        """The settings of a `batch_config` that passed the schema and the checks."""
        folder = _local_folder(batch["storage"]["root"])
        assert folder is not None  # check_batch_config refused any other root
        encoding = batch["encoding"]
        return cls(
            folder=folder.expanduser().absolute(),
            prefix=batch["storage"].get("prefix", ""),
            format=encoding.get("format", "jsonl"),
            compression=encoding.get("compression", "gzip"),
        )

    def encoding(self) -> dict[str, str]:
        """The BATCH message's `encoding` member."""
        return {"format": self.format, "compression": self.compression}
