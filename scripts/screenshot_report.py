"""Take the README's picture of the HTML report (docs/images/plg-report.png).

    .venv/bin/python scripts/screenshot_report.py [PAGE.html] [IMAGE.png]

Opens the page `make demo` wrote in the system's headless Chromium (Debian package
`chromium`; Playwright drives it, no browser download), with the network blocked, and keeps
the top of the page (scores, funnel, the first product-qualified accounts) as a 256-colour
PNG so the image stays small.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import Route, sync_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTH, HEIGHT = 1240, 2150


def _offline(route: Route) -> None:
    if route.request.url.startswith("file://"):
        route.continue_()
    else:
        route.abort()


def screenshot(page_path: Path, image_path: Path) -> int:
    """Write the picture; return its size in bytes."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        page.route("**/*", _offline)
        page.goto(page_path.resolve().as_uri(), wait_until="load")
        image_path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(image_path), clip={"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT}
        )
        browser.close()
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
