"""The one httpx.Client the app uses, and words for replies that are not what was promised.

Every call has a deadline for the whole of it: connecting, sending, the first byte and the
last byte of the answer must all happen within `timeout` seconds. httpx's own timeouts
count each wait for the network on its own, so an answer dripped a byte a second would
never end; here every socket operation is given only the time left (a network backend
that shortens each wait), and the body is read in full under the same clock before the
call returns. A body larger than `max_reply` bytes is not read further: the reply comes
back cut there and marked (`too_large`), for the client to say what arrived.

TLS is checked against the operating system's trust store (truststore), so a company's own
root certificate, installed by IT, is trusted as in the browser. Proxies come from the
system (HTTPS_PROXY, NO_PROXY, the Windows and macOS proxy settings) unless a proxy is
named or `system_proxy` is off. Each request is logged at INFO as method, host, path,
status and time: never a query string, header or body.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Iterable
from typing import Any, TypeAlias

import httpcore
import httpx
import truststore

from opus_desktop import __version__

# These live apart, light, for the layers above and the window's start; here too.
from opus_desktop.opus.replies import DEADLINE as DEADLINE
from opus_desktop.opus.replies import TOO_LARGE as TOO_LARGE
from opus_desktop.opus.replies import describe_reply as describe_reply
from opus_desktop.opus.replies import redact as redact
from opus_desktop.opus.replies import snippet as snippet
from opus_desktop.opus.replies import too_large as too_large

log = logging.getLogger(__name__)

USER_AGENT = f"opus-desktop/{__version__}"
# Named here so that layers above (jobs/), which may not import httpx, can type a transport.
Transport: TypeAlias = httpx.BaseTransport
_STARTED = "opus_desktop.started"
# No reply of the Opus API or its identity service comes near this: a page of 100 due
# records is some tens of kilobytes.
MAX_REPLY_BYTES = 8 * 1024 * 1024


def make_http_client(
    verify: bool = True,
    proxy: str | None = None,
    timeout: float = 30.0,
    transport: Transport | None = None,
    connect_timeout: float | None = None,
    system_proxy: bool = True,
    max_reply: int = MAX_REPLY_BYTES,
) -> httpx.Client:
    """A client for the identity service and the API; close it when done (or use `with`).

    `timeout` is the deadline of each call as a whole, from connecting to the last byte of
    the answer (see the module's docstring); `connect_timeout`, when given, bounds opening
    a connection (a host that does not answer at all is found out sooner than a slow
    reply). `max_reply` bounds the bytes of one answer. `verify=False` turns TLS checks off
    (only ever for a local test server). `transport` replaces the network, for tests and
    for an in-process emulator (its answers are held to the deadline and the size limit
    too). `proxy` names the proxy to use; without one, `system_proxy` says whether the
    system's proxy settings apply (False: connect directly).
    """
    tls: ssl.SSLContext | bool = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT) if verify else False
    client = httpx.Client(
        verify=tls,
        proxy=proxy,
        trust_env=proxy is None and system_proxy,
        timeout=httpx.Timeout(timeout, connect=connect_timeout or timeout),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        transport=transport,
        event_hooks={"request": [_note_start], "response": [_log_response]},
    )
    # httpx builds the transports itself (the proxy ones from the environment too); each
    # is wrapped once it exists, so a proxied call keeps the same deadline.
    client._transport = WholeReply(client._transport, timeout, max_reply)
    client._mounts = {
        pattern: None if mounted is None else WholeReply(mounted, timeout, max_reply)
        for pattern, mounted in client._mounts.items()
    }
    return client


# -- the deadline -----------------------------------------------------------------------------

# The monotonic time by which the call under way on this thread must be over. httpx's sync
# client does each call's network work on the caller's thread, so a thread-local is the
# call's own.
_current = threading.local()


def _time_left(timeout: float | None, expired: type[Exception]) -> float | None:
    """`timeout` shortened to the time left before the call's deadline; `expired` raised
    when there is none left."""
    deadline: float | None = getattr(_current, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the deadline for the whole answer passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every wait ends by the deadline of the call using it."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        wait = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, wait))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        wait = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._inner.connect_tcp(host, port, wait, local_address, socket_options)
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        wait = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, wait, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class WholeReply(httpx.BaseTransport):
    """`inner`, with each exchange held to `deadline` seconds in all and its answer's body
    to `max_bytes`, the body read before the exchange returns."""

    def __init__(self, inner: httpx.BaseTransport, deadline: float, max_bytes: int) -> None:
        self.inner = inner
        self.deadline = deadline
        self.max_bytes = max_bytes
        # The network transports httpx makes keep their connection pool here; its
        # connections are opened through the backend, which is given the deadline.
        pool = getattr(inner, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend) and not isinstance(
            backend, _DeadlineBackend
        ):
            pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        outer: float | None = getattr(_current, "deadline", None)
        deadline = time.monotonic() + self.deadline
        _current.deadline = deadline if outer is None else min(outer, deadline)
        request.extensions[DEADLINE] = self.deadline
        try:
            response = self.inner.handle_request(request)
            try:
                body, cut = self._body(response, request)
            finally:
                response.close()
        finally:
            _current.deadline = outer
        extensions = dict(response.extensions)
        if cut:
            extensions[TOO_LARGE] = self.max_bytes
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(body),
            extensions=extensions,
        )

    def _body(self, response: httpx.Response, request: httpx.Request) -> tuple[bytes, bool]:
        deadline: float = _current.deadline
        chunks: list[bytes] = []
        size = 0
        stream = response.stream
        if not isinstance(stream, httpx.SyncByteStream):
            raise TypeError("a synchronous transport gave an asynchronous body")
        for chunk in stream:
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_bytes:
                return b"".join(chunks)[: self.max_bytes], True
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("the deadline for the whole answer passed", request=request)
        return b"".join(chunks), False

    def close(self) -> None:
        self.inner.close()


def _note_start(request: httpx.Request) -> None:
    request.extensions[_STARTED] = time.monotonic()


def _log_response(response: httpx.Response) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    request = response.request
    started = request.extensions.get(_STARTED)
    elapsed = f"{(time.monotonic() - started) * 1000:.0f} ms" if isinstance(started, float) else "?"
    log.info(
        "%s %s%s -> %d in %s",
        request.method,
        request.url.host,
        request.url.path,
        response.status_code,
        elapsed,
    )
