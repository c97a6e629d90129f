"""Bounded retries with exponential backoff and full jitter.

Opus does not document its throttling, so the client treats the usual signs of a busy or
briefly unreachable service as temporary: HTTP 429, 502, 503 and 504, timeouts, and
connections refused, reset or dropped. It waits `Retry-After` when the service names a
delay, otherwise a random time up to base * 2**n (full jitter: many clients backing off at
once do not come back in step). Whoever runs a long job hears about each wait through
`on_retry`, so it can send fewer requests at once while the throttling lasts.

HTTP 500 and TLS verification failures are not retried: repeating them changes nothing.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime

import httpx

from opus_desktop.opus.errors import ServiceUnavailable

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})

# reason ("throttled", "unavailable", "timeout", "connection"), HTTP status or None, seconds
RetryListener = Callable[[str, int | None, float], None]


class RetryPolicy:
    """How often and how long to wait before giving up on a request.

    `attempts` counts every try, the first included. `cap` bounds one backoff wait;
    `retry_after_cap` bounds how long a `Retry-After` the service asks for is honoured.
    `sleep`, `rng` and `clock` are there for tests.
    """

    def __init__(
        self,
        attempts: int = 6,
        base: float = 0.5,
        cap: float = 30.0,
        jitter: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        on_retry: RetryListener | None = None,
        retry_after_cap: float = 120.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.attempts = attempts
        self.base = base
        self.cap = cap
        self.jitter = jitter
        self.sleep = sleep
        self.rng = rng
        self.on_retry = on_retry
        self.retry_after_cap = retry_after_cap
        self.clock = clock

    def backoff(self, retry: int) -> float:
        """The wait before retry number `retry` (0 for the first) when the service names none."""
        ceiling = min(self.cap, self.base * (2.0**retry))
        return ceiling * self.rng() if self.jitter else ceiling

    def retry_after(self, response: httpx.Response) -> float | None:
        """The service's Retry-After in seconds (a number or an HTTP date), capped, or None."""
        value = response.headers.get("Retry-After", "").strip()
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                moment = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                return None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            seconds = moment.timestamp() - self.clock()
        if seconds != seconds:  # NaN
            return None
        return min(max(seconds, 0.0), self.retry_after_cap)

    def call(self, send: Callable[[], httpx.Response], what: str) -> httpx.Response:
        """Run `send` until it gives a reply that is not a temporary failure.

        Returns that reply, whatever its status. Raises ServiceUnavailable once the attempts
        are used up, or at once for errors that retrying cannot mend. `what` names the work
        for the message ("submitting 15 records").
        """
        for attempt in range(self.attempts):
            last = attempt == self.attempts - 1
            try:
                response = send()
            except httpx.TransportError as exc:
                if not is_retryable_error(exc):
                    raise ServiceUnavailable(f"{_failure(exc)} while {what}.") from exc
                if last:
                    raise ServiceUnavailable(
                        f"{_failure(exc)} while {what}, {self.attempts} times in a row. "
                        "Check the network connection and try again later."
                    ) from exc
                reason = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection"
                self._wait(reason, None, self.backoff(attempt), what)
                continue
            if response.status_code not in RETRYABLE_STATUS:
                return response
            if last:
                raise ServiceUnavailable(
                    f"The service answered HTTP {response.status_code} "
                    f"({_status_words(response.status_code)}) while {what}, "
                    f"{self.attempts} times in a row. Try again later.",
                    status=response.status_code,
                )
            delay = self.retry_after(response)
            if delay is None:
                delay = self.backoff(attempt)
            reason = "throttled" if response.status_code == 429 else "unavailable"
            self._wait(reason, response.status_code, delay, what)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _wait(self, reason: str, status: int | None, delay: float, what: str) -> None:
        log.info(
            "Retrying in %.1f s (%s%s) while %s",
            delay,
            reason,
            f", HTTP {status}" if status else "",
            what,
        )
        if self.on_retry is not None:
            self.on_retry(reason, status, delay)
        self.sleep(delay)


def is_retryable_error(exc: httpx.TransportError) -> bool:
    """Timeouts and dropped or refused connections, but not a bad URL or an untrusted server."""
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return False
    return not _tls_verification_failed(exc)


def _tls_verification_failed(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):  # the cause chain is short; the bound guards against cycles
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _failure(exc: httpx.TransportError) -> str:
    host = _host(exc)
    if _tls_verification_failed(exc):
        return (
            f"The server {host} could not prove its identity (its TLS certificate is not "
            "trusted by this computer)"
        )
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"The address {host} is not an http:// or https:// URL"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"Connecting to {host} took too long"
    if isinstance(exc, httpx.TimeoutException):
        return f"{host} took too long to answer"
    if isinstance(exc, httpx.ProxyError):
        return f"The proxy refused the connection to {host}"
    if isinstance(exc, httpx.ConnectError):
        return f"{host} could not be reached (no connection)"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return f"The connection to {host} broke off"
    return f"The connection to {host} failed"


def _host(exc: httpx.TransportError) -> str:
    try:
        return exc.request.url.host or "the service"
    except RuntimeError:  # an exception raised without a request attached
        return "the service"


def _status_words(status: int) -> str:
    return {
        429: "too many requests",
        502: "bad gateway",
        503: "service unavailable",
        504: "gateway timeout",
    }.get(status, "error")
