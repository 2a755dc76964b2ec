"""A Singer message reader that parses lines with orjson (the SDK default uses Decimal)."""

from __future__ import annotations

import orjson
from singer_sdk.singerlib.encoding import SimpleSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine


class FastSingerReader(SimpleSingerReader):
    """Same protocol as the SDK's reader; floats become Python floats."""

    def deserialize_json(self, line: str) -> dict:
        """Parse one line of input.

        Raises:
            InvalidInputLine: naming the line that is not JSON.
        """
        try:
            parsed = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            msg = f"Unable to parse line as JSON: {line[:200]!r}"
            raise InvalidInputLine(msg) from exc
        if not isinstance(parsed, dict):
            msg = f"Singer message is not a JSON object: {line[:200]!r}"
            raise InvalidInputLine(msg)
        return parsed
