"""An HTTPS server on 127.0.0.1 whose certificate no computer trusts (self-signed), for the
tests that check how an untrusted server is told."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.helpers.certs import make_certificate


class _Answer(BaseHTTPRequestHandler):
    def _reply(self) -> None:
        self.server.requests += 1  # type: ignore[attr-defined]
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _reply

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextmanager
def untrusted_server(folder: Path) -> Iterator[tuple[str, ThreadingHTTPServer]]:
    """Yields its base URL (https://127.0.0.1:port) and the server (`.requests` counts the
    requests that got past the TLS handshake: none should)."""
    cert_path, key_path = make_certificate("127.0.0.1").write_pem(
        folder / "untrusted.crt", folder / "untrusted.key"
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.requests = 0  # type: ignore[attr-defined]
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()
