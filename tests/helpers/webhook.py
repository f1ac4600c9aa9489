"""A real webhook endpoint for notification tests."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """A real HTTP endpoint on 127.0.0.1 (ephemeral port) recording JSON POSTs; answers with scripted statuses."""

    def __init__(self, statuses: list[int] | None = None):
        self.statuses = list(statuses or [])
        self.requests: list[tuple[int, dict]] = []  # (status answered, JSON body)
        self._cv = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        # A short poll interval so close() (shutdown) returns quickly.
        threading.Thread(target=self.server.serve_forever, args=(0.05,), name="receiver", daemon=True).start()

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                status = receiver._record(body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    def _record(self, body: dict) -> int:
        with self._cv:
            status = self.statuses.pop(0) if self.statuses else 200
            self.requests.append((status, body))
            self._cv.notify_all()
            return status

    def url(self, path: str = "/hook") -> str:
        """The Apprise URL of this receiver."""
        return f"json://127.0.0.1:{self.port}{path}"

    def delivered(self) -> list[dict]:
        """Bodies that were answered with a 2xx status."""
        with self._cv:
            return [body for status, body in self.requests if 200 <= status < 300]

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until `count` requests arrived."""
        with self._cv:
            return self._cv.wait_for(lambda: len(self.requests) >= count, timeout)

    def close(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()
