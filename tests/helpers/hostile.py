"""A hostile stand-in for the connector API on 127.0.0.1: it answers every call with one
kind of reply the API never gives (HTML, cut-off JSON, a list, 20 MB, a redirect, a drip,
a stack trace, a Retry-After of a day), for the tests that check how each is told.

    with hostile_api("html") as api:
        ... a profile whose api_url is api.url ...
        assert api.calls <= 4
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HTML = (
    "<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Contoso sign-in</h1>"
    "<form>password=hunter2</form></body></html>"
)
TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/srv/opus/api.py", line 212, in submit\n'
    "    store(records, headers={'Authorization': "
    "'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'})\n"
    "sqlalchemy.exc.OperationalError: could not connect: password=hunter2 host=db01\n"
)
HUGE_BYTES = 20 * 1024 * 1024
MODES = ("html", "truncated", "list", "huge", "redirect", "drip", "trace", "retry-after")


class _Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HostileServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0") or 0)
        self.rfile.read(length)
        with self.server.lock:
            self.server.calls += 1
        try:
            self._answer(self.server.mode)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up on us: as it should

    do_GET = do_DELETE = do_POST

    def _answer(self, mode: str) -> None:
        if mode == "html":
            self._send(200, "text/html; charset=utf-8", HTML.encode())
        elif mode == "truncated":
            self._send(200, "application/json", b'{"statusCode": 201, "message": "2 recor')
        elif mode == "list":
            self._send(200, "application/json", b'[{"statusCode": 201, "message": "stored"}]')
        elif mode == "huge":
            self._huge()
        elif mode == "redirect":
            self._send(
                302,
                "text/html",
                b"<a href='https://login.contoso.example/'>moved</a>",
                {"Location": "https://login.contoso.example/sso?token=s3cr3t-t0ken&next=/"},
            )
        elif mode == "drip":
            self._drip()
        elif mode == "trace":
            self._send(500, "text/plain", TRACE.encode())
        elif mode == "retry-after":
            self._send(
                429, "application/json", b'{"message": "slow down"}', {"Retry-After": "100000"}
            )
        else:
            raise ValueError(f"unknown mode {mode!r}")

    def _send(
        self, status: int, kind: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _huge(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(HUGE_BYTES))
        self.end_headers()
        chunk = b'{"message": "' + b"x" * (1024 * 1024 - 13)
        self.wfile.write(chunk)
        filler = b"x" * (1024 * 1024)
        for _ in range(HUGE_BYTES // len(filler) - 1):
            self.wfile.write(filler)

    def _drip(self) -> None:
        """The whole reply, status line included, one byte a second."""
        body = b'{"statusCode": 201, "message": "stored"}'
        raw = (
            b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        self.close_connection = True
        for byte in raw:
            if self.server.stopping.is_set():
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(1.0)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        super().__init__(("127.0.0.1", 0), _Hostile)
        self.mode = mode
        self.calls = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextlib.contextmanager
def hostile_api(mode: str) -> Iterator[HostileServer]:
    server = HostileServer(mode)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
