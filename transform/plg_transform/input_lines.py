"""The input as blocks of whole lines, with lines over `max_record_bytes` read past.

A line longer than the limit is never held: once the unfinished tail of the input grows
past the limit, the rest of that line is read and dropped, and the line is reported
(`input line N`, its size) as bad input. Only the first line of a block can be longer
than a block (the limit is at least one block), so checking it costs one search per
block. A STATE line is the exception: its value is the tap's bookmark, which may be
large and must never be lost, so it is kept whole.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_STATE_HEADS = (b'{"type":"STATE"', b'{"type": "STATE"')
HEAD_BYTES = 120


@dataclass
class OversizeInputLine:
    """A line read past: its number in the input, first bytes and size."""

    number: int
    head: bytes
    size: int

    def describe(self) -> str:
        """`input line N (S bytes): {"type":"RECORD","stream":"tracks"...`."""
        head = self.head[:80].decode("utf-8", "replace")
        return f"input line {self.number} ({self.size} bytes): {head}..."


def _is_state(head: bytes) -> bool:
    return head.lstrip().startswith(_STATE_HEADS)


def bounded_blocks(
    read: Callable[[int], bytes | str],
    block_bytes: int,
    limit: int | None,
    on_oversize: Callable[[OversizeInputLine], None],
) -> Iterator[bytes]:
    """Blocks of whole lines (without the final newline); oversize lines go to the callback."""
    rest = b""
    lines_before = 0  # lines ended before `rest`
    skipping: OversizeInputLine | None = None
    while True:
        data = read(block_bytes)
        if not data:
            break
        if isinstance(data, str):
            data = data.encode("utf-8")
        if skipping is not None:
            cut = data.find(b"\n")
            if cut < 0:
                skipping.size += len(data)
                continue
            skipping.size += cut
            on_oversize(skipping)
            skipping, lines_before = None, lines_before + 1
            data = data[cut + 1 :]
        if rest:
            data = rest + data
        cut = data.rfind(b"\n")
        if cut < 0:
            if limit is not None and len(data) > limit and not _is_state(data[:HEAD_BYTES]):
                skipping = OversizeInputLine(lines_before + 1, data[:HEAD_BYTES], len(data))
                rest = b""
            else:
                rest = data
            continue
        rest = data[cut + 1 :]
        block = data[:cut]
        if limit is not None and len(block) > limit:
            first_end = block.find(b"\n")
            first_end = len(block) if first_end < 0 else first_end
            if first_end > limit and not _is_state(block[:HEAD_BYTES]):
                on_oversize(OversizeInputLine(lines_before + 1, block[:HEAD_BYTES], first_end))
                lines_before += 1
                if first_end == len(block):
                    continue
                block = block[first_end + 1 :]
        lines_before += block.count(b"\n") + 1
        yield block
    if skipping is not None:
        on_oversize(skipping)
    elif rest.strip():
        yield rest
