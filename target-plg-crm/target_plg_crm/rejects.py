"""The rejects file: one JSON line per record the CRM (or the target) refused in the latest run.

A run writes its rejects to `<rejects_path>.partial` and, when it ends, replaces the
rejects file with it, so the file always holds the latest complete run's rejects (a
record rejected again is listed once, not once per run). A run that fails keeps the
previous file: its partial file is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from target_plg_crm.property_plan import json_default


class RejectsFile:
    """Collects one run's rejects in a partial file that replaces the rejects file at the end."""

    def __init__(self, path: Path, *, enabled: bool = True) -> None:
        """`enabled=False` (dry run) counts rejects and writes nothing."""
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.enabled = enabled
        self.count = 0
        self._file: IO[str] | None = None

    def add(
        self, stream: str, key: str | None, code: str, reason: str, record: dict[str, Any]
    ) -> None:
        """Add one reject: when, which stream and key, the code, why, and the record."""
        self.count += 1
        if not self.enabled:
            return
        line = {
            "time": datetime.now(UTC).isoformat(),
            "stream": stream,
            "key": key,
            "code": code,
            "reason": reason,
            "record": record,
        }
        self._open().write(json.dumps(line, default=json_default, ensure_ascii=False) + "\n")

    def _open(self) -> IO[str]:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.partial.open("w", encoding="utf-8")
        return self._file

    def commit(self) -> None:
        """The run ended: its rejects (possibly none) become the rejects file."""
        if not self.enabled:
            return
        self._open().close()
        self._file = None
        os.replace(self.partial, self.path)

    def discard(self) -> None:
        """The run failed: keep the previous rejects file, drop this run's partial one."""
        if self._file is not None:
            self._file.close()
            self._file = None
        with contextlib.suppress(FileNotFoundError):
            self.partial.unlink()
