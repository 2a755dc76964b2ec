"""The rejects file: one JSON line per record the CRM (or the target) refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from target_plg_crm.property_plan import json_default


class RejectsFile:
    """Appends rejected records to a JSON-lines file, opened on the first reject."""

    def __init__(self, path: Path, *, enabled: bool = True) -> None:
        """`enabled=False` (dry run) counts nothing to disk."""
        self.path = path
        self.enabled = enabled
        self.count = 0

    def add(
        self, stream: str, key: str | None, code: str, reason: str, record: dict[str, Any]
    ) -> None:
        """Append one reject: when, which stream and key, the code, why, and the record."""
        self.count += 1
        if not self.enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = {
            "time": datetime.now(UTC).isoformat(),
            "stream": stream,
            "key": key,
            "code": code,
            "reason": reason,
            "record": record,
        }
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(line, default=json_default, ensure_ascii=False) + "\n")
