"""The JSON-lines inputs: the target's rejects file and its run history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from plg_report.input_errors import ReportInputError


def read_json_lines(path: Path, what: str) -> list[dict[str, Any]]:
    """Every object of a JSON-lines file; a line that is not one names the file and line."""
    objects: list[dict[str, Any]] = []
    try:
        with path.open(encoding="utf-8") as file:
            for number, line in enumerate(file, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as error:
                    raise ReportInputError(
                        f"{what} {path}, line {number}: not JSON ({error.msg})"
                    ) from None
                if not isinstance(value, dict):
                    raise ReportInputError(
                        f"{what} {path}, line {number}: a JSON object was expected"
                    )
                objects.append(value)
    except UnicodeDecodeError:
        raise ReportInputError(f"{what} {path} is not UTF-8 text") from None
    except OSError as error:
        raise ReportInputError(f"cannot read the {what} {path}: {error.strerror}") from None
    return objects
