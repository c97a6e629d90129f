"""The sandbox: a local Opus tenant (identity service and both connector APIs) on 127.0.0.1.

    with Sandbox(SandboxConfig(directory=tmp)) as sandbox:
        httpx.get(sandbox.identity_url + "/.well-known/openid-configuration")

Requests are served by a ThreadingHTTPServer (HTTP/1.1, keep-alive) in a daemon thread,
or in the foreground by `serve_forever` for the command line. The state lives in SQLite
in the sandbox folder and survives a restart; the demo tenant is seeded on first start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import socketserver
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from opus_desktop.files import write_private
from opus_desktop.paths import private_dir
from opus_desktop.sandbox import demo
from opus_desktop.sandbox.api import GRAPH, LEGACY, LEGACY_DESTROY_PATH, ConnectorApi, error
from opus_desktop.sandbox.arguments import DEFAULT_DATE_FORMAT
from opus_desktop.sandbox.dates import DatePattern
from opus_desktop.sandbox.faults import Fault, Faults
from opus_desktop.sandbox.identity import Identity, thumbprints
from opus_desktop.sandbox.tenant import Tenant
from opus_desktop.sandbox.values import Connection, check_item, is_guid, iso, submitted
from opus_desktop.sandbox.wire import Reply, Request, Stats

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
MAX_BODY = 1 << 20

_IDENTITY_ROUTES = {
    "/identity/.well-known/openid-configuration": ("GET", "discovery"),
    "/identity/.well-known/openid-configuration/jwks": ("GET", "jwks"),
    "/identity/connect/token": ("POST", "token"),
}
_API_ROUTES: dict[str, dict[str, tuple[str, str]]] = {
    "/records/connector/records": {
        "POST": (GRAPH, "submit"),
        "GET": (GRAPH, "due"),
        "DELETE": (GRAPH, "destroy"),
    },
    "/api/connector/SubmitRecords": {"POST": (LEGACY, "submit")},
    "/api/connector/GetDueRecords": {"POST": (LEGACY, "due")},
    f"/{LEGACY_DESTROY_PATH}": {"POST": (LEGACY, "destroy")},
}


@dataclass
class SandboxConfig:
    directory: Path
    port: int = 0
    latency_ms: float = 0
    fail_rate: float = 0
    throttle_rate: float = 0
    drop_rate: float = 0
    token_ttl: int = 3600
    date_format: str = DEFAULT_DATE_FORMAT  # the tenant's Opus pattern
    demo: bool = True  # seed the demo tenant on first start
    seed: int | None = None  # for the fault generator and the demo records
    retry_after: float = 1  # seconds in the Retry-After of a 429
    host: str = LOOPBACK  # anything else is refused: the sandbox is for this machine only


class Sandbox:
    """One sandbox tenant, its state in `config.directory`."""

    def __init__(self, config: SandboxConfig) -> None:
        if config.host != LOOPBACK:
            raise ValueError(f"The sandbox listens on {LOOPBACK} only, not {config.host!r}.")
        if not 0 <= config.port <= 65535 or config.token_ttl < 1:
            raise ValueError(
                "The sandbox needs a port from 0 to 65535 and a token lifetime of 1 second or more."
            )
        self.config = config
        self.pattern = DatePattern(config.date_format)
        self.directory = private_dir(Path(config.directory))
        self.faults = Faults(
            latency_ms=config.latency_ms,
            fail_rate=config.fail_rate,
            throttle_rate=config.throttle_rate,
            drop_rate=config.drop_rate,
            retry_after=config.retry_after,
            seed=config.seed,
        )
        self._stats = Stats()
        self.tenant = Tenant(self.directory / "sandbox.sqlite3")
        self.api = ConnectorApi(self.tenant, self.pattern, self._stats)
        files = demo.certificate_files(self.directory)
        self.cert_pem_path, self.key_pem_path, self.pfx_path = (
            files.cert_pem,
            files.key_pem,
            files.pfx,
        )
        self.pfx_password = demo.PFX_PASSWORD
        self.template_path = self.directory / "connection-template.json"
        self._thread: threading.Thread | None = None
        self._stopped = False
        try:
            if config.demo and self.tenant.meta("demo_connection_id") is None:
                self._seed_demo()
            self.faults.write(self.directory)
            # Bound now, so that the URLs are known before serving starts.
            self._server = _Server((LOOPBACK, config.port), self)
        except BaseException:
            self.tenant.close()
            raise
        self.identity = Identity(self.tenant, self.url, config.token_ttl)
        log.debug("sandbox listening on %s", self.url)

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Serve in a daemon thread; returns self."""
        if self._stopped:
            raise RuntimeError(
                "This sandbox was stopped; make a new one on the same folder to restart it."
            )
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.02},
                name="opus-sandbox",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the foreground until Ctrl-C, then stop cleanly."""
        if self._stopped or self._thread is not None:
            raise RuntimeError("This sandbox is already serving or was stopped.")
        try:
            self._server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            log.info("sandbox interrupted")
        finally:
            self.stop()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
        self._server.close_connections()
        self._server.server_close()
        self.tenant.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses and the demo registration ------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url

    @property
    def identity_url(self) -> str:
        return f"{self.url}/identity"

    @property
    def legacy_destroy_path(self) -> str:
        """The legacy destroy call's path: the sandbox's own, since no document names one."""
        return LEGACY_DESTROY_PATH

    @property
    def client_id(self) -> str:
        return self._demo_meta("demo_client_id")

    @property
    def connection_id(self) -> str:
        return self._demo_meta("demo_connection_id")

    def _demo_meta(self, key: str) -> str:
        value = self.tenant.meta(key)
        if value is None:
            raise RuntimeError("This sandbox has no demo tenant (it was created with demo=False).")
        return value

    @property
    def issued_tokens(self) -> list[str]:
        """Access tokens issued since this sandbox started (for tests: no secret in files)."""
        return list(self.identity.issued_tokens)

    @property
    def issued_assertions(self) -> list[str]:
        """Client assertions (whole JWTs) accepted since this sandbox started."""
        return list(self.identity.issued_assertions)

    @property
    def seen_jtis(self) -> list[str]:
        return list(self.identity.seen_jtis)

    # -- tenant set-up ----------------------------------------------------------------------------

    def register_client(self, client_id: str, cert_pem: bytes) -> None:
        """Register an app (client id) with a certificate; an app may have several."""
        if not is_guid(client_id):
            raise ValueError(f"A client id is a GUID; {client_id!r} is not.")
        certificate = x509.load_pem_x509_certificate(cert_pem)
        thumbprint, _ = thumbprints(certificate)
        self.tenant.add_client(
            client_id, thumbprint, certificate.public_bytes(Encoding.PEM).decode("ascii")
        )

    def add_connection(
        self, template: dict[str, Any], choices: dict[str, Any], terms: dict[str, Any]
    ) -> str:
        """Add a connection from a template (its "id" must be a new GUID); return its id."""
        connection = Connection.from_definition(template, choices, terms)
        self.tenant.add_connection(connection)
        return connection.id

    def _seed_demo(self) -> None:
        template = demo.load_resource("template.json")
        tenant = demo.load_resource("tenant.json")
        connection = Connection.from_definition(template, tenant["choices"], tenant["terms"])
        files = demo.certificate_files(self.directory)
        self.register_client(demo.DEMO_CLIENT_ID, demo.make_certificate(files))
        write_private(self.template_path, json.dumps(template, indent=2) + "\n")
        if self.tenant.connection(connection.id) is None:
            self.tenant.add_connection(connection)
        good = []
        for item in demo.demo_items(tenant, self.pattern, self.config.seed, datetime.now(UTC)):
            values, why = check_item(connection, item, self.pattern)
            if why:
                raise RuntimeError(f"A demo record is not valid: {why}")
            good.append((item["rowKey"], values, connection.due_at(values)))
        self.tenant.write_records(connection.id, good, overwrite=True, now=iso(datetime.now(UTC)))
        self.tenant.set_meta("demo_client_id", demo.DEMO_CLIENT_ID)
        self.tenant.set_meta("demo_connection_id", connection.id)

    # -- what tests inspect -----------------------------------------------------------------------

    def _connection(self, connection_id: str | None) -> Connection:
        connection = self.tenant.connection(connection_id or self.connection_id)
        if connection is None:
            raise KeyError(f"There is no connection {connection_id}.")
        return connection

    def records(self, connection_id: str | None = None) -> dict[str, dict[str, object]]:
        """rowKey -> the values stored, as a client sends them (dates in the tenant format).

        Without a connection id: the demo connection. Destroyed records are included."""
        connection = self._connection(connection_id)
        return {
            key: submitted(connection, values, self.pattern)
            for key, values in self.tenant.records(connection.id).items()
        }

    def destroyed(self, connection_id: str | None = None) -> set[str]:
        return self.tenant.destroyed(self._connection(connection_id).id)

    def due_keys(self, before: datetime, connection_id: str | None = None) -> set[str]:
        """Row keys due on or before `before` and not destroyed (naive times are UTC)."""
        if before.tzinfo is not None:
            before = before.astimezone(UTC)
        return self.tenant.due_keys(self._connection(connection_id).id, iso(before))

    def set_record_state(self, row_key: str, state: str, connection_id: str | None = None) -> None:
        """Set a record's disposal state: "awaiting approval" or "rejected" make destroying it
        fail; "active" undoes that."""
        self.tenant.set_state(self._connection(connection_id).id, row_key, state)

    def stats(self) -> dict[str, int]:
        """Counters since start: calls per endpoint ("graph.submit", "legacy.due", "identity.token",
        ...), "http_<status>" per reply status, "records_written", "records_skipped",
        "records_failed", "records_destroyed", "tokens_issued", "drops"."""
        return self._stats.snapshot()

    # -- serving ----------------------------------------------------------------------------------

    def respond(self, request: Request) -> Reply:
        """The reply to one request (a drop is a reply with `drop` set)."""
        try:
            reply = self._route(request)
        except Exception:
            log.exception("the sandbox failed on %s %s", request.method, request.path)
            reply = Reply.json(
                500, {"statusCode": 500, "message": "The sandbox failed; see its log."}
            )
        self._stats.add("drops" if reply.drop else f"http_{reply.status}")
        return reply

    def _route(self, request: Request) -> Reply:
        if request.path in _IDENTITY_ROUTES:
            method, name = _IDENTITY_ROUTES[request.path]
            self._stats.add(f"identity.{name}")
            if request.method != method:
                return Reply.json(
                    405,
                    {"error": "invalid_request", "error_description": f"Use {method}."},
                    {"Allow": method},
                )
            reply: Reply = getattr(self.identity, name)(request)
            if name == "token" and reply.status == 200:
                self._stats.add("tokens_issued")
            return reply
        routes = _API_ROUTES.get(request.path)
        generation = GRAPH if request.path.startswith("/records/") else LEGACY
        if routes is None:
            return error(generation, 404, f"There is no endpoint {request.path}.")
        if request.method not in routes:
            return error(
                generation,
                405,
                f"{request.path} does not take {request.method}.",
                {"Allow": ", ".join(sorted(routes))},
            )
        generation, operation = routes[request.method]
        self._stats.add(f"{generation}.{operation}")
        self.faults.wait()
        fault = self.faults.draw()
        if fault is Fault.THROTTLE:
            return error(
                generation,
                429,
                "Too many requests; try again later.",
                {"Retry-After": self.faults.retry_after_header()},
            )
        if fault is Fault.FAIL:
            return error(generation, 503, "The service is unavailable; try again later.")
        why = self.identity.check_bearer(request.header("authorization"))
        if why:
            reply = error(generation, 401, why, {"WWW-Authenticate": "Bearer"})
        else:
            reply = self.api.handle(generation, operation, request)
        reply.drop = fault is Fault.DROP
        return reply


class _Server(ThreadingHTTPServer):
    """Tracks its connections and threads so that stop() ends them all, promptly."""

    daemon_threads = True
    request_queue_size = 128  # a burst of new connections must not overflow the backlog

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer's own asks DNS for the host's full name, which only slows the start.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = LOOPBACK, int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        worker = threading.Thread(target=self._work, args=(request, client_address), daemon=True)
        with self._lock:
            self._open.add(request)
            self._workers.add(worker)
        worker.start()

    def _work(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._open.discard(request)
                self._workers.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def close_connections(self) -> None:
        with self._lock:
            sockets, workers = list(self._open), list(self._workers)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)
        for worker in workers:
            worker.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "OpusSandbox/1.0"
    sys_version = ""
    timeout = 120  # an idle keep-alive connection is closed after this
    disable_nagle_algorithm = True  # headers and body go out in two writes; no 40 ms stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _serve(self) -> None:
        port = self.server.server_address[1]
        host = self.headers.get("Host", "")
        if host not in {f"{LOOPBACK}:{port}", f"localhost:{port}", LOOPBACK, "localhost"}:
            # Another name for 127.0.0.1 is a page in a browser trying DNS rebinding.
            self._send(Reply.json(421, {"message": f"Unknown host {host!r}."}), close=True)
            return
        if self.headers.get("Transfer-Encoding"):
            self._send(
                Reply.json(411, {"message": "Send a Content-Length, not a chunked body."}),
                close=True,
            )
            return
        length_text = self.headers.get("Content-Length", "0")
        if not length_text.isdigit() or int(length_text) > MAX_BODY:
            self._send(
                Reply.json(413, {"message": f"The body must be at most {MAX_BODY} bytes."}),
                close=True,
            )
            return
        body = self.rfile.read(int(length_text))
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(self.command, parts.path, parts.query, headers, body)
        self._send(self.server.sandbox.respond(request))

    def _send(self, reply: Reply, close: bool = False) -> None:
        if reply.drop:
            # The work is done; the answer is lost: close without a byte of it.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.status != 204:
            self.send_header("Content-Length", str(len(reply.body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if reply.body and reply.status != 204:
            self.wfile.write(reply.body)
