"""The size limit of one message, and reading archive lines in bounded memory.

Segment's tracking API refuses any message over 32 KB (its docs: "a limit of 32KB per
event in the batch"; server libraries cap a message at 32768 bytes), so a genuine
archive line is small. Archives carry the fields Segment adds on arrival (`receivedAt`,
`messageId`, `context.ip`...), hence the default allows twice that. A longer line is a
bad line: it is read past in bounded chunks, never held whole, and reported as
`path:line`.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from singer_sdk import typing as th

DEFAULT_MAX_MESSAGE_BYTES = 65_536

MAX_MESSAGE_BYTES = th.Property(
    "max_message_bytes",
    th.IntegerType(minimum=1024, maximum=64 * 1024 * 1024),
    default=DEFAULT_MAX_MESSAGE_BYTES,
    title="Largest message (bytes)",
    description=(
        "An archive line longer than this (newline excluded) is a malformed line: "
        "reported as `path:line`, counted and skipped (fatal with `strict`), and read past "
        "in bounded chunks so a huge line never fills memory. The default, 64 KiB, is "
        "twice Segment's own limit of 32 KB per message, leaving room for the fields "
        "Segment adds on arrival."
    ),
)

_SKIP_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class OversizeLine:
    """A line longer than the limit: its length, and whether it ended with a newline."""

    size: int
    complete: bool

    def reason(self, limit: int) -> str:
        """Why the line is skipped, for the malformed-line report."""
        return (
            f"message of {self.size} bytes is over max_message_bytes ({limit}); "
            "Segment itself refuses messages over 32 KB"
        )


class Readable(t.Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


def bounded_lines(handle: Readable, limit: int) -> t.Iterator[bytes | OversizeLine]:
    """The lines of a binary file (with their newline), at most `limit` bytes each held.

    A line longer than `limit` (newline excluded) comes out as an OversizeLine; its
    bytes are read past in chunks and dropped.
    """
    readline = handle.readline
    cap = limit + 2  # room for the newline (and a CR) of a line exactly at the limit
    while True:
        line = readline(cap)
        if not line:
            return
        if line.endswith(b"\n") or len(line) < cap:
            if len(line.rstrip(b"\r\n")) <= limit:
                yield line
                continue
            complete = line.endswith(b"\n")
            yield OversizeLine(
                size=len(line.rstrip(b"\r\n") if complete else line), complete=complete
            )
            continue
        size, complete = len(line), False
        while True:
            chunk = readline(_SKIP_CHUNK)
            if not chunk:
                break
            if chunk.endswith(b"\n"):
                size += len(chunk.rstrip(b"\r\n"))
                complete = True
                break
            size += len(chunk)
        yield OversizeLine(size=size, complete=complete)
