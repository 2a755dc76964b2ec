"""Reading Singer messages from the input in large blocks.

The SDK's reader parses every line and calls back per message. Here the input is read
in blocks of bytes and split into lines; a RECORD line of a stream the store ingests in
bulk, written the way taps write it (`{"type":"RECORD","stream":"tracks",...` or
`{"type": "RECORD", "stream": "tracks", ...`), is handed over raw, unparsed. Every other
line is parsed with orjson and dispatched like the SDK does, so SCHEMA, STATE,
ACTIVATE_VERSION and BATCH keep their meaning and a malformed line raises
InvalidInputLine (a raw RECORD line that turns out malformed is named when its block is
loaded, see store_staging.py).
"""

from __future__ import annotations

import re
import typing as t
from collections import Counter, defaultdict

import orjson
from singer_sdk.singerlib.encoding import SimpleSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine

from plg_transform.input_lines import OversizeInputLine, bounded_blocks

if t.TYPE_CHECKING:
    from collections.abc import Callable

BLOCK_BYTES = 4 * 1024 * 1024
# How taps start a RECORD line: compact (singer-sdk) or json.dumps's default spacing.
_RECORD_PREFIXES = (b'{"type":"RECORD","stream":"', b'{"type": "RECORD", "stream": "')


class FastSingerReader(SimpleSingerReader):
    """Same protocol as the SDK's reader; floats become Python floats."""

    def __init__(self) -> None:
        super().__init__()
        self.raw_records: Callable[[bytes, int], None] | None = None
        self.max_line_bytes: int | None = None
        self.on_oversize: Callable[[OversizeInputLine], None] = lambda line: None
        self._other_lines: re.Pattern[bytes] | None = None

    def take_raw_records(
        self, streams: t.Iterable[str], sink: Callable[[bytes, int], None]
    ) -> None:
        """Hand RECORD lines of `streams` to `sink` unparsed, as runs of whole lines.

        `sink(lines, n)` gets n consecutive lines joined by newlines (no final newline).
        """
        names = b"|".join(re.escape(s.encode()) for s in sorted(streams))
        prefixes = b"|".join(re.escape(p) for p in _RECORD_PREFIXES)
        # Every line that is NOT a raw RECORD line of those streams, found by the regex
        # engine rather than a Python loop over lines.
        self._other_lines = re.compile(
            rb"^(?!(?:" + prefixes + rb")(?:" + names + rb')",)[^\n]*', re.MULTILINE
        )
        self.raw_records = sink

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
        """Read every line of the input; raw RECORD lines go to the sink in runs."""
        stats: dict[str, int] = defaultdict(int)
        sink, other_lines = self.raw_records, self._other_lines
        source = file_input or self.default_input
        read = (getattr(source, "buffer", None) or source).read
        for block in bounded_blocks(read, BLOCK_BYTES, self.max_line_bytes, self.on_oversize):
            if sink is None or other_lines is None:
                for line in block.split(b"\n"):
                    self._dispatch(line, callbacks, stats)
                continue
            done = 0  # block[done:] is still to be handled
            for found in other_lines.finditer(block):
                begin, end = found.span()
                if begin > done:
                    run = block[done : begin - 1]  # whole raw lines, without the last newline
                    n = run.count(b"\n") + 1
                    sink(run, n)
                    stats["RECORD"] += n
                self._dispatch(found.group(), callbacks, stats)
                done = end + 1
            if done < len(block):
                run = block[done:]
                n = run.count(b"\n") + 1
                sink(run, n)
                stats["RECORD"] += n
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


def _shown(line: str | bytes) -> str:
    text = line if isinstance(line, str) else line.decode("utf-8", "replace")
    return repr(text[:200])
