"""Per-stream spool files, so that each input file is parsed once per run.

The SDK syncs streams one after the other, but an archive mixes all message types. One
pass over the input writes each stream's records to a temporary JSON-lines file of its
own; each stream then reads back only its file. Memory stays flat whatever the volume.
"""

from __future__ import annotations

import shutil
import tempfile
import typing as t
from pathlib import Path

import orjson

_WRITE_BUFFER = 1 << 20


class SpoolError(RuntimeError):
    """Writing a spool file failed (e.g. the temporary folder's disk is full).

    Not an OSError on purpose: readers treat OSError as "this input file is unreadable".
    """


class Spool:
    """Temporary JSON-lines files, one per stream, removed when read or closed."""

    def __init__(self, stream_names: t.Iterable[str]) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="tap-product-events-"))
        self._paths = {name: self._dir / f"{name}.jsonl" for name in stream_names}
        self._files: dict[str, t.BinaryIO] = {}
        self.counts: dict[str, int] = dict.fromkeys(self._paths, 0)

    def writer(self, stream_name: str) -> t.Callable[[dict[str, t.Any]], None] | None:
        """A function that appends one record to the stream's spool (None if not spooled)."""
        path = self._paths.get(stream_name)
        if path is None:
            return None
        handle = open(path, "ab", buffering=_WRITE_BUFFER)  # noqa: SIM115 - closed in finish_writing
        self._files[stream_name] = handle
        write, dumps, counts = handle.write, orjson.dumps, self.counts
        option = orjson.OPT_APPEND_NEWLINE

        def append(record: dict[str, t.Any]) -> None:
            try:
                write(dumps(record, option=option))
            except OSError as exc:
                raise SpoolError(f"Cannot write the spool file {path}: {exc}") from exc
            counts[stream_name] += 1

        return append

    def finish_writing(self) -> None:
        """Flush and close every spool file written so far."""
        try:
            for handle in self._files.values():
                handle.close()
        except OSError as exc:
            raise SpoolError(f"Cannot write the spool files in {self._dir}: {exc}") from exc
        finally:
            self._files.clear()

    def read(self, stream_name: str) -> t.Iterator[dict[str, t.Any]]:
        """Yield the stream's records in the order they were spooled, then delete the file."""
        path = self._paths.get(stream_name)
        if path is None or not path.exists():
            return
        loads = orjson.loads
        with open(path, "rb") as handle:
            for line in handle:
                yield loads(line)
        path.unlink()

    def close(self) -> None:
        """Remove every spool file (also those a failed run left behind)."""
        self.finish_writing()
        shutil.rmtree(self._dir, ignore_errors=True)
