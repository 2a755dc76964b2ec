"""Regenerate the README's settings tables from each plugin's `--about --format=markdown`.

The README holds, per plugin, a block between `<!-- settings:NAME -->` and
`<!-- /settings:NAME -->`; this script replaces its contents with the "Settings" section
that the plugin itself prints, so the docs never drift from the code.
Run with `--check` to fail (exit 1) instead of writing when the README is out of date.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PLUGINS = ("tap-product-events", "plg-transform", "target-plg-crm")


def settings_section(executable: str) -> str:
    """Return the markdown "Settings" section of a plugin's --about output."""
    exe = Path(sys.executable).parent / executable
    about = subprocess.run(
        [str(exe), "--about", "--format=markdown"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"^## Settings\s*$(.*?)(?=^## |\Z)", about, flags=re.M | re.S)
    if not match:
        raise SystemExit(f"{executable} --about printed no '## Settings' section")
    lines = match.group(1).strip().splitlines()
    # The SDK appends a hint on how to list settings; keep only the table and its notes.
    return "\n".join(line for line in lines if "--about" not in line).strip()


def render(readme: str) -> str:
    """Return the README text with every settings block regenerated."""
    for name in PLUGINS:
        pattern = re.compile(
            rf"(<!-- settings:{re.escape(name)} -->\n).*?(<!-- /settings:{re.escape(name)} -->)",
            flags=re.S,
        )
        if not pattern.search(readme):
            raise SystemExit(f"README.md has no settings block for {name}")
        table = settings_section(name)
        readme = pattern.sub(lambda m, t=table: m.group(1) + t + "\n" + m.group(2), readme)
    return readme


def main() -> int:
    """Write (or with --check, verify) the README's settings tables."""
    current = README.read_text(encoding="utf-8")
    fresh = render(current)
    if "--check" in sys.argv[1:]:
        if fresh != current:
            print("README.md settings tables are out of date: run `make docs`", file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
