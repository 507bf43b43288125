"""A small HTTP server on 127.0.0.1 in a background thread, for the lab's in-process services.

The demo service, the PagerDuty receiver and the webhook receiver all serve through this: one
place that binds the port (with a clear error when it is taken), serves from a daemon thread, and
shuts down and frees the port when the `with` block ends, however it ends.
"""

from __future__ import annotations

import errno
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from localrun.ports import LOOPBACK, PortInUseError

# (method, path, request body) -> (status, response): a `RawResponse`, or anything JSON can encode.
Handler = Callable[[str, str, bytes], tuple[int, Any]]


class RawResponse:
    """A response that is not JSON (the Prometheus text format): bytes and their content type."""

    def __init__(self, body: bytes, content_type: str):
        self.body = body
        self.content_type = content_type


class _LabHTTPServer(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: when more clients connect at once (a load lab's 200
    # users), Linux drops the connections past the backlog and each client resends its SYN after
    # the 1 s initial retransmission timeout, which the lab would measure as latency. Accepting
    # (a thread per connection) is slower than a burst of connects: with 128, 65 of 200
    # simultaneous connects still waited 1 s here; with 1024 (under Linux's somaxconn, 4096) none.
    request_queue_size = 1024
    daemon_threads = True  # a slow client never holds the lab open at exit


class BackgroundHTTPServer:
    """Serve `handle(method, path, body)` on 127.0.0.1:`port` (0: any free port) until closed."""

    def __init__(self, handle: Handler, *, port: int = 0, what: str = "an HTTP server"):
        self._handle = handle
        self._requested_port = port
        self._what = what
        self._server: _LabHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self._what} is not running")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        handler_class = _handler_class(self._handle)
        try:
            server = _LabHTTPServer((LOOPBACK, self._requested_port), handler_class)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(self._requested_port, self._what) from None
            raise
        self._server = server
        # A short poll interval: `close()` waits for the loop to notice, and tests close often.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=self._what, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> BackgroundHTTPServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _handler_class(handle: Handler) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload = handle(self.command, self.path, body)
            if isinstance(payload, RawResponse):
                data, content_type = payload.body, payload.content_type
            else:
                data, content_type = json.dumps(payload).encode(), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve
        do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the lab prints its own progress; per-request lines would drown it

    return RequestHandler
