"""Take the README's picture of the HTML report (docs/images/plg-report.png).

    .venv/bin/python -m scripts.screenshot_report [PAGE.html] [IMAGE.png]

Opens the page `make demo` wrote in the system's headless Chromium (Debian package
`chromium`; Playwright drives it, no browser download), with the network blocked, and keeps
the top of the page (scores, funnel, the first product-qualified accounts) as a 256-colour
PNG so the image stays small. The browser is launched and the page opened by the report
tests' own helpers (tests/report/browser.py), so the picture is taken as the tests see it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

from tests.report.browser import chromium, open_offline

WIDTH, HEIGHT = 1240, 2150


def screenshot(page_path: Path, image_path: Path) -> int:
    """Write the picture; return its size in bytes."""
    with chromium() as browser, open_offline(browser, page_path, WIDTH, HEIGHT) as visit:
        image_path.parent.mkdir(parents=True, exist_ok=True)
        visit.page.screenshot(
            path=str(image_path), clip={"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT}
        )
        if visit.network_requests or visit.console_errors:
            print(
                f"screenshot_report: the page asked for {visit.network_requests} "
                f"and logged {visit.console_errors}",
                file=sys.stderr,
            )
    with Image.open(image_path) as image:
        image.convert("RGB").quantize(colors=256).save(image_path, optimize=True)
    return image_path.stat().st_size


def main(argv: list[str]) -> int:
    """Command line: page and image paths, both optional."""
    page_path = Path(argv[0]) if argv else Path("output/plg-report.html")
    image_path = Path(argv[1]) if len(argv) > 1 else Path("docs/images/plg-report.png")
    if not page_path.is_file():
        print(f"screenshot_report: no page at {page_path}; run `make demo` first", file=sys.stderr)
        return 1
    size = screenshot(page_path, image_path)
    print(f"{image_path} ({size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
