"""Headless Chromium (Debian's package) driven by Playwright, with the network shut off.

Never `playwright install`: the tests (and scripts/screenshot_report.py, which takes the
README's picture with these same helpers) use the system's /usr/bin/chromium, which
.ci/run installs with apt. Every request outside file:// is recorded and aborted, so a page that
would need the network shows it as a failed request instead of quietly fetching.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    """The system's Chromium; a clear failure (never a skip) when it is not installed."""
    if not CHROMIUM.exists():
        raise AssertionError(
            f"Chromium is not installed at {CHROMIUM}: `apt-get install -y chromium` "
            "(.ci/run installs it); the HTML report is tested in a real browser"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Visit:
    """A page opened from a file, with what it tried to do."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    network_requests: list[str] = field(default_factory=list)


@contextmanager
def open_offline(
    browser: Browser, path: Path, width: int = 1280, height: int = 900
) -> Iterator[Visit]:
    """Open a local HTML file as a user would, any network request blocked and recorded."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    visit = Visit(page)

    def route(route: Route) -> None:
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:
            _note(visit, url)
            route.abort()

    context.route("**/*", route)
    page.on("request", lambda r: None if r.url.startswith("file://") else _note(visit, r.url))
    page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: visit.console_errors.append(str(error)))
    try:
        page.goto(path.resolve().as_uri(), wait_until="load")
        yield visit
    finally:
        context.close()


def _note(visit: Visit, url: str) -> None:
    """Record a request once, whether the router or the page's listener saw it first."""
    if url not in visit.network_requests:
        visit.network_requests.append(url)


def assert_charts_drawn(page: Page, count: int) -> None:
    """`count` SVG charts, each laid out at a readable size with its marks drawn."""
    charts = page.locator("figure.chart svg")
    assert charts.count() == count
    for index in range(count):
        chart = charts.nth(index)
        box = chart.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100
        assert chart.locator("path").count() > 20  # bars, axes, glyphs drawn
        assert chart.locator("rect, path").first.is_visible()


def assert_no_errors_nor_requests(visit: Visit) -> None:
    """Once the page is idle: nothing in the console, nothing fetched."""
    visit.page.wait_for_load_state("networkidle")
    assert visit.console_errors == []
    assert visit.network_requests == []


def reject_counts_shown(page: Page) -> dict[tuple[str, str], int]:
    """{(stream, code): count} of the rejects table, as the page shows it."""
    rows = page.locator("#rejects-table tr.reject")
    shown = {}
    for index in range(rows.count()):
        stream, code, count = rows.nth(index).locator("td").all_inner_texts()[:3]
        shown[(stream, code)] = int(count.replace(",", ""))
    return shown
