"""The README's settings tables are the plugins' own --about output, not hand-written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_readme_settings_tables_match_each_plugins_about_output() -> None:
    check = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "update_readme_settings.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
