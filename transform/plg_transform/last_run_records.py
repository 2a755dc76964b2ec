"""The records of the last run, kept next to the store for `plg-report` (any CRM).

Every run that emits records also writes them to `<store_path>.last-run.jsonl`: a header
line, then each output stream's SCHEMA message and its RECORD lines, byte for byte what
the target received. The file is written under a temporary name and renamed when the
last record is out, so a reader sees the previous run's file or this run's, never half
of one; a failed run keeps the previous file. Only the emitted lines are copied (no
query runs for it), and the file can be read while a run holds the store's lock.

Header (the first line): `{"type": "PLG_LAST_RUN", "version": 1, "as_of": ...,
"score_references": {"user": ..., "account": ..., "membership": ...}, "written_at": ...}`;
a score reference is the raw value that scores 90 (the population's P90 or the
configured `score_reference`), null when nothing scored.
"""

from __future__ import annotations

import os
import typing as t
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import orjson

from plg_transform.timestamps import instant_from_micros

HEADER_TYPE = "PLG_LAST_RUN"
FORMAT_VERSION = 1
SUFFIX = ".last-run.jsonl"


def last_run_records_path(store_path: Path) -> Path:
    """Where the records of the store's last run are kept: next to the store."""
    return store_path.with_name(store_path.name + SUFFIX)


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


class KeptRecords:
    """An open copy of what the run emits, written to a temporary file."""

    def __init__(self, file: t.BinaryIO) -> None:
        self._file = file

    def schema(self, message: dict[str, t.Any]) -> None:
        """A stream's SCHEMA message, as written to the target."""
        self._file.write(orjson.dumps(message) + b"\n")

    def lines(self, lines: list[str]) -> None:
        """RECORD lines, as written to the target."""
        self._file.write("\n".join(lines).encode())
        self._file.write(b"\n")


@contextmanager
def kept_records(
    store_path: Path, as_of_us: int, references: t.Mapping[str, float | None]
) -> t.Iterator[KeptRecords]:
    """Copy what the run emits; the file replaces the previous one only if all went out."""
    final = last_run_records_path(store_path)
    partial = final.with_name(final.name + ".partial")
    header = {
        "type": HEADER_TYPE,
        "version": FORMAT_VERSION,
        "as_of": _iso(instant_from_micros(as_of_us)),
        "score_references": dict(references),
        "written_at": _iso(datetime.now(UTC)),
    }
    file = partial.open("wb")
    try:
        file.write(orjson.dumps(header) + b"\n")
        yield KeptRecords(file)
    except BaseException:
        file.close()
        partial.unlink(missing_ok=True)
        raise
    file.close()
    os.replace(partial, final)
