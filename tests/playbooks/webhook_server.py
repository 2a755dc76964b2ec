"""A Slack-compatible incoming webhook on loopback that keeps what it was sent."""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookServer:
    """Answers 200 `ok` (or the queued statuses) and keeps each JSON body it accepted."""

    def __init__(self) -> None:
        """Not serving until entered."""
        self.messages: list[dict[str, Any]] = []
        self.statuses: deque[int] = deque()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> WebhookServer:
        """Serve on a free loopback port."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Silent."""

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                status = owner.statuses.popleft() if owner.statuses else 200
                if status == 200:
                    owner.messages.append(body)
                data = b"ok" if status == 200 else b"error"
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        """The webhook's URL."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/services/T0/B0/secret"
