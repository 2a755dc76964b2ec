"""Reading Singer messages from the input in large blocks.

The SDK's reader parses every line and calls back per message. Here the input is read
in blocks of bytes and split into lines; a RECORD line of a stream the store ingests in
bulk, written the way taps write it (`{"type":"RECORD","stream":"tracks",...` or
`{"type": "RECORD", "stream": "tracks", ...`), is handed over raw, unparsed. Every other
line is parsed with orjson and dispatched like the SDK does, so SCHEMA, STATE,
ACTIVATE_VERSION and BATCH keep their meaning and a malformed line raises
InvalidInputLine (a raw RECORD line that turns out malformed is named when its block is
loaded, see ingest.py).
"""

from __future__ import annotations

import typing as t
from collections import Counter, defaultdict

import orjson
from singer_sdk.singerlib.encoding import SimpleSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

BLOCK_BYTES = 4 * 1024 * 1024
# How taps start a RECORD line: compact (singer-sdk) or json.dumps's default spacing.
_RECORD_PREFIXES = (b'{"type":"RECORD","stream":"', b'{"type": "RECORD", "stream": "')


class FastSingerReader(SimpleSingerReader):
    """Same protocol as the SDK's reader; floats become Python floats."""

    def __init__(self) -> None:
        super().__init__()
        self.raw_record: Callable[[bytes], None] | None = None
        self.raw_streams: frozenset[bytes] = frozenset()

    def take_raw_records(self, streams: t.Iterable[str], sink: Callable[[bytes], None]) -> None:
        """Hand RECORD lines of `streams` to `sink` unparsed (the caller parses in bulk)."""
        self.raw_streams = frozenset(s.encode() for s in streams)
        self.raw_record = sink

    def deserialize_json(self, line: str | bytes) -> dict:  # type: ignore[override]
        """Parse one line of input.

        Raises:
            InvalidInputLine: naming the line that is not JSON.
        """
        try:
            parsed = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            msg = f"Unable to parse line as JSON: {_shown(line)}"
            raise InvalidInputLine(msg) from exc
        if not isinstance(parsed, dict):
            msg = f"Singer message is not a JSON object: {_shown(line)}"
            raise InvalidInputLine(msg)
        return parsed

    def process_lines(  # type: ignore[override]
        self,
        file_input: t.IO | None,
        callbacks: dict[str, Callable[[dict], None]],
    ) -> t.Counter[str]:
        """Read every line of the input; RECORDs of the raw streams go to the sink."""
        stats: dict[str, int] = defaultdict(int)
        sink, raw_streams = self.raw_record, self.raw_streams
        prefix_a, prefix_b = _RECORD_PREFIXES
        start = len(prefix_a)
        start_b = len(prefix_b)
        raw_count = 0
        for lines in _line_blocks(file_input or self.default_input):
            for line in lines:
                if sink is not None:
                    if line.startswith(prefix_a):
                        begin = start
                    elif line.startswith(prefix_b):
                        begin = start_b
                    else:
                        begin = 0
                    if begin:
                        end = line.find(b'"', begin)
                        if line[begin:end] in raw_streams and line[end + 1 : end + 2] == b",":
                            sink(line)
                            raw_count += 1
                            continue
                self._dispatch(line, callbacks, stats)
        stats["RECORD"] += raw_count
        return Counter(**stats)

    def _dispatch(
        self, line: bytes, callbacks: dict[str, Callable[[dict], None]], stats: dict[str, int]
    ) -> None:
        self._current_message = line  # type: ignore[assignment]
        line_dict = self.deserialize_json(line)
        self.assert_line_requires(line_dict, requires={"type"})
        record_type = line_dict["type"]
        if callback := callbacks.get(record_type):
            callback(line_dict)
        else:
            self._process_unknown_message(line_dict)
        stats[record_type] += 1


def _line_blocks(source: t.IO) -> Iterator[list[bytes]]:
    """Lines of the input (without their newline), a block at a time."""
    raw = getattr(source, "buffer", None)
    read: Callable[[int], bytes | str] = (raw or source).read
    rest = b""
    while True:
        block = read(BLOCK_BYTES)
        if not block:
            break
        if isinstance(block, str):
            block = block.encode("utf-8")
        lines = (rest + block).split(b"\n") if rest else block.split(b"\n")
        rest = lines.pop()
        yield lines
    if rest.strip():
        yield [rest]


def _shown(line: str | bytes) -> str:
    text = line if isinstance(line, str) else line.decode("utf-8", "replace")
    return repr(text[:200])
