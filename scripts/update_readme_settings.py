"""Regenerate the README's settings tables from each plugin's `--about --format=markdown`.

Each README holds, per plugin, a block between `<!-- settings:NAME -->` and
`<!-- /settings:NAME -->`; this script replaces its contents with the "Settings" section
that the plugin itself prints, so the docs never drift from the code.
Run with `--check` to fail (exit 1) instead of writing when the README is out of date.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ("tap-product-events", "plg-transform", "target-plg-crm")
# Each README and the plugins whose settings blocks it holds.
READMES = {
    ROOT / "README.md": PLUGINS,
    ROOT / "tap-product-events" / "README.md": ("tap-product-events",),
    ROOT / "target-plg-crm" / "README.md": ("target-plg-crm",),
}


@functools.cache
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


def render(readme: str, plugins: tuple[str, ...]) -> str:
    """Return the README text with the plugins' settings blocks regenerated."""
    for name in plugins:
        pattern = re.compile(
            rf"(<!-- settings:{re.escape(name)} -->\n).*?(<!-- /settings:{re.escape(name)} -->)",
            flags=re.S,
        )
        if not pattern.search(readme):
            raise SystemExit(f"a README has no settings block for {name}")
        table = settings_section(name)
        readme = pattern.sub(lambda m, t=table: m.group(1) + t + "\n" + m.group(2), readme)
    return readme


def main() -> int:
    """Write (or with --check, verify) the READMEs' settings tables."""
    stale = []
    for readme, plugins in READMES.items():
        current = readme.read_text(encoding="utf-8")
        fresh = render(current, plugins)
        if fresh == current:
            continue
        if "--check" in sys.argv[1:]:
            stale.append(str(readme.relative_to(ROOT)))
        else:
            readme.write_text(fresh, encoding="utf-8")
    if stale:
        print(
            f"settings tables out of date in {', '.join(stale)}: run `make docs`", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
