"""A loopback JSON API serving backend-metric rows, paged in each style the tap supports.

`GET /<style>/<collection>` returns `{"data": [...rows]}` one page at a time, the next page
found the way `pagination.style` says:

- `next_link`: `?cursor=N`; the body's `next` holds the next page's relative URL;
- `link_header`: `?cursor=N`; an RFC 8288 `Link: <absolute URL>; rel="next"` header;
- `page`: `?page=1,2...&per_page=S` (a short page is the last);
- `offset`: `?offset=0,S...&limit=S` (a short page is the last).

A request without the right `X-Api-Key` header gets 401. The server listens on a free
loopback port in a daemon thread (so it never outlives the test process) until `stop()`.
"""

from __future__ import annotations

import json
import threading
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

API_KEY_HEADER = "X-Api-Key"
CURSOR_PAGE_SIZE = 3  # next_link / link_header pages; page / offset take the client's size


class _MetricsHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, collections: dict[str, list[dict[str, t.Any]]], api_key: str) -> None:
        super().__init__(("127.0.0.1", 0), _PagedRows)
        self.collections = collections
        self.api_key = api_key
        self.requested: list[str] = []
        self.base_url = f"http://127.0.0.1:{self.server_port}"


class _PagedRows(BaseHTTPRequestHandler):
    server: _MetricsHttpServer
    timeout = 10  # a client that stops talking cannot hold a worker thread for long

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.requested.append(self.path)
        if self.headers.get(API_KEY_HEADER) != self.server.api_key:
            self._reply(401, {"error": "missing or wrong API key"})
            return
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        style, _, name = url.path.strip("/").partition("/")
        rows = self.server.collections.get(name)
        if rows is None:
            self._reply(404, {"error": f"no collection {name!r}"})
            return
        try:
            self._page(style, url.path, rows, query)
        except (KeyError, ValueError) as exc:
            self._reply(400, {"error": f"bad paging parameters: {exc}"})

    def _page(
        self, style: str, path: str, rows: list[dict[str, t.Any]], query: dict[str, str]
    ) -> None:
        if style in ("next_link", "link_header"):
            start = int(query.get("cursor", "0"))
            end = start + CURSOR_PAGE_SIZE
            body: dict[str, t.Any] = {"data": rows[start:end]}
            headers: dict[str, str] = {}
            if end < len(rows):
                following = f"{path}?cursor={end}"
                if style == "next_link":
                    body["next"] = following
                else:
                    headers["Link"] = f'<{self.server.base_url}{following}>; rel="next"'
            self._reply(200, body, headers)
        elif style == "page":
            size = int(query["per_page"])
            start = (int(query.get("page", "1")) - 1) * size
            self._reply(200, {"data": rows[start : start + size]})
        elif style == "offset":
            size, start = int(query["limit"]), int(query.get("offset", "0"))
            self._reply(200, {"data": rows[start : start + size]})
        else:
            self._reply(404, {"error": f"no paging style {style!r}"})

    def _reply(
        self, status: int, body: dict[str, t.Any], headers: dict[str, str] | None = None
    ) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: t.Any) -> None:  # noqa: A002
        return  # keep pytest's output clean; `requested` records what was asked


class MetricsApi:
    """A running API; `base_url` is `http://127.0.0.1:<port>`."""

    def __init__(self, collections: dict[str, list[dict[str, t.Any]]], api_key: str) -> None:
        self._server = _MetricsHttpServer(collections, api_key)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics-api", daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        """Where the API listens."""
        return self._server.base_url

    @property
    def requested(self) -> list[str]:
        """Paths (with queries) of the requests received so far, in order."""
        return list(self._server.requested)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
