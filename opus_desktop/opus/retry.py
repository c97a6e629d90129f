"""Bounded retries with exponential backoff and full jitter.

Opus does not document its throttling, so the client treats the usual signs of a busy or
briefly unreachable service as temporary: HTTP 429, 502, 503 and 504, timeouts, and
connections refused, reset or dropped. It waits `Retry-After` when the service names a
delay, otherwise a random time up to base * 2**n (full jitter: many clients backing off at
once do not come back in step). Whoever runs a long job listens to each wait (`listen`),
so it can send fewer requests at once while the throttling lasts, and names its patience:
a call gives up once waiting longer would pass it (the run's outage limit), and at once
when the service asks (Retry-After) for a longer wait than that. A run that has not yet
reached its service also says which failures are hopeless: nothing answering at the
address is then told at once, not after a minute of retries.

What is retried is what Failure.passes says (errors.py); HTTP 500, an untrusted server
and a bad address are not: repeating them changes nothing.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING

from opus_desktop.opus.errors import Failure, ServiceUnavailable
from opus_desktop.opus.replies import DEADLINE

# httpx (and ssl, socket) are imported where an exception is looked at, which only happens
# once a call was made: jobs/ imports RetryPolicy, and the window starts without them.
if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})

# What failed, the HTTP status or None, and the seconds about to be waited.
RetryListener = Callable[[Failure, int | None, float], None]


class RetryPolicy:
    """How often and how long to wait before giving up on a request.

    `attempts` counts every try, the first included. `cap` bounds one backoff wait;
    `retry_after_cap` bounds how long a `Retry-After` the service asks for is honoured.
    `on_retry` hears every wait, as do the listeners added with `listen`. `sleep`, `rng`
    and `clock` are there for tests; `clock` also times each attempt, which counts
    against the patience as the waits do (a call that hangs until its deadline, six times,
    is no shorter than six waits). Thread-safe: a run's workers share one policy.
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
        self._lock = threading.Lock()
        self._listeners: list[_Listener] = []

    def listen(
        self,
        listener: RetryListener,
        patience: float | None = None,
        hopeless: Callable[[Failure], bool] | None = None,
    ) -> Callable[[], None]:
        """Have `listener` hear every wait from now on, and, with `patience`, give up on a
        call before its waits would add up to more than that many seconds, or at once when
        the service asks for a longer wait (Retry-After). With `hopeless`, a call gives up
        at once on a failure to get any reply that it says waiting cannot mend (a run whose
        service never answered: nothing answers at its address). Returns the function that
        undoes all this."""
        entry = _Listener(listener, patience, hopeless)
        with self._lock:
            self._listeners.append(entry)

        def stop() -> None:
            with self._lock:
                if entry in self._listeners:
                    self._listeners.remove(entry)

        return stop

    def patience(self) -> float | None:
        """The least patience of the listeners, or None when none of them set one."""
        with self._lock:
            limits = [entry.patience for entry in self._listeners if entry.patience is not None]
        return min(limits) if limits else None

    def _hopeless(self, kind: Failure) -> bool:
        with self._lock:
            judges = [entry.hopeless for entry in self._listeners if entry.hopeless is not None]
        return any(judge(kind) for judge in judges)

    def backoff(self, retry: int) -> float:
        """The wait before retry number `retry` (0 for the first) when the service names none."""
        return exponential(retry, self.base, self.cap, self.rng if self.jitter else None)

    def retry_after(self, response: httpx.Response) -> float | None:
        """The service's Retry-After in seconds (a number or an HTTP date), capped, or None."""
        asked = asked_wait(response, self.clock)
        return None if asked is None else min(asked, self.retry_after_cap)

    def call(self, send: Callable[[], httpx.Response], what: str) -> httpx.Response:
        """Run `send` until it gives a reply that is not a temporary failure.

        Returns that reply, whatever its status. Raises ServiceUnavailable once the attempts
        are used up, or at once for errors that retrying cannot mend. `what` names the work
        for the message ("submitting 15 records").
        """
        import httpx

        waited = 0.0  # backoff waits and the time the attempts took: what patience bounds
        for attempt in range(self.attempts):
            last = attempt == self.attempts - 1
            began = self.clock()
            try:
                response = send()
            except httpx.TransportError as exc:
                waited += max(self.clock() - began, 0.0)
                kind = transport_failure(exc)
                words = brief(exc)
                if not kind.passes or self._hopeless(kind):
                    raise ServiceUnavailable(told(exc, what), kind=kind, brief=words) from exc
                if last:
                    raise ServiceUnavailable(
                        told(exc, what, f", {self.attempts} times in a row"),
                        kind=kind,
                        brief=words,
                    ) from exc
                delay = self.backoff(attempt)
                if self._out_of_patience(waited + delay):
                    raise ServiceUnavailable(
                        told(exc, what, _how_often(attempt + 1, waited)), kind=kind, brief=words
                    ) from exc
                self._wait(kind, None, delay, what)
                waited += delay
                continue
            if response.status_code not in RETRYABLE_STATUS:
                return response
            waited += max(self.clock() - began, 0.0)
            status = response.status_code
            said = f"The service answered HTTP {status} ({_status_words(status)}) while {what}"
            if last:
                raise ServiceUnavailable(
                    f"{said}, {self.attempts} times in a row. Try again later.", status=status
                )
            asked = asked_wait(response, self.clock)
            patience = self.patience()
            if asked is not None and patience is not None and asked > patience:
                raise ServiceUnavailable(
                    f"{said}, and asked to wait {span(asked)} before trying again "
                    f"(Retry-After), longer than the {span(patience)} allowed without an "
                    "answer. Try again after that.",
                    status=status,
                    asked=asked,
                )
            delay = self.backoff(attempt) if asked is None else min(asked, self.retry_after_cap)
            if self._out_of_patience(waited + delay):
                raise ServiceUnavailable(
                    f"{said}, and asked for a wait of {delay:.0f} s. Try again later.",
                    status=status,
                )
            kind = Failure.THROTTLED if status == 429 else Failure.UNAVAILABLE
            self._wait(kind, status, delay, what)
            waited += delay
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _out_of_patience(self, total_wait: float) -> bool:
        patience = self.patience()
        return patience is not None and total_wait > patience

    def _wait(self, kind: Failure, status: int | None, delay: float, what: str) -> None:
        log.info(
            "Retrying in %.1f s (%s%s) while %s",
            delay,
            kind,
            f", HTTP {status}" if status else "",
            what,
        )
        self.tell(kind, status, delay)
        self.sleep(delay)

    def tell(self, kind: Failure, status: int | None, delay: float) -> None:
        """Tell `on_retry`, then every listener, that a call waits `delay` seconds."""
        with self._lock:
            listeners = [entry.listener for entry in self._listeners]
        if self.on_retry is not None:
            listeners.insert(0, self.on_retry)
        for listener in listeners:
            listener(kind, status, delay)


@dataclass(frozen=True, eq=False)
class _Listener:
    listener: RetryListener
    patience: float | None
    hopeless: Callable[[Failure], bool] | None


def asked_wait(response: httpx.Response, clock: Callable[[], float] = time.time) -> float | None:
    """The wait the reply's Retry-After asks for in seconds (a number or an HTTP date, in
    the past meaning none), uncapped, or None when it names none."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime  # an HTTP date: rare

        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = moment.timestamp() - clock()
    if seconds != seconds:  # NaN
        return None
    return max(seconds, 0.0)


def span(seconds: float) -> str:
    """'0.5 s', '40 s', '12 min', '27 h 47 min': a wait in words."""
    if seconds < 10 and seconds != round(seconds):
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 120:
        return f"{whole} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def exponential(
    retry: int, base: float, cap: float, rng: Callable[[], float] | None, floor: float = 0.0
) -> float:
    """The one backoff: base * 2**retry up to `cap`, with full jitter from `rng` (none
    without it) above `floor`, a share of that ceiling below which a wait never falls."""
    ceiling = min(cap, base * (2.0**retry))
    return ceiling if rng is None else ceiling * (floor + (1.0 - floor) * rng())


def transport_failure(exc: httpx.TransportError) -> Failure:
    """What a failure to get any reply is: the one place the client tells them apart."""
    import socket
    import ssl

    import httpx

    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return Failure.SETTINGS  # the request could not even be made: a bad URL
    causes = _causes(exc)
    if any(isinstance(cause, ssl.SSLCertVerificationError) for cause in causes):
        return Failure.TLS
    if isinstance(exc, httpx.TimeoutException):
        return Failure.TIMEOUT
    if any(isinstance(cause, socket.gaierror) for cause in causes):
        return Failure.NAME
    if isinstance(exc, httpx.ConnectError | httpx.ProxyError) or any(
        isinstance(cause, ConnectionRefusedError) for cause in causes
    ):
        return Failure.REFUSED
    return Failure.DROPPED


def _causes(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    seen: BaseException | None = exc
    for _ in range(10):  # the cause chain is short; the bound guards against cycles
        if seen is None:
            break
        found.append(seen)
        seen = seen.__cause__ or seen.__context__
    return found


def told(exc: httpx.TransportError, what: str, how_often: str = "") -> str:
    """The sentence for a call that got no reply: what happened, while doing `what`,
    `how_often` (", 6 times in a row"), and what to look at."""
    import httpx

    kind = transport_failure(exc)
    cause = _failure(exc)
    if kind is Failure.REFUSED and not isinstance(exc, httpx.ProxyError):
        return f"{cause} while {what}{how_often}: is the address right, is the service up?"
    if kind is Failure.NAME:
        return (
            f"{cause} while {what}{how_often}: is the address right, and is this computer "
            "on the network?"
        )
    if kind in (Failure.TLS, Failure.SETTINGS) or not how_often:
        return f"{cause} while {what}{how_often}."
    return f"{cause} while {what}{how_often}. Check the network connection and try again later."


def brief(exc: httpx.TransportError) -> str:
    """A few words for a status line: 'nothing answers at https://host:443'."""
    return _failure(exc, short=True)


def _failure(exc: httpx.TransportError, short: bool = False) -> str:
    import httpx

    host = _host(exc)
    kind = transport_failure(exc)
    if kind is Failure.TLS:
        if short:
            return f"{host} could not prove its identity (TLS)"
        return (
            f"The server {host} could not prove its identity (its TLS certificate is not "
            "trusted by this computer)"
        )
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"The address {host} is not an http:// or https:// URL"
    deadline = _deadline(exc)
    if isinstance(exc, httpx.ConnectTimeout):
        return f"Connecting to {host} took too long" + (f" (over {deadline})" if deadline else "")
    if isinstance(exc, httpx.TimeoutException):
        if deadline:
            return f"{host} did not give its whole answer within {deadline}"
        return f"{host} took too long to answer"
    if isinstance(exc, httpx.ProxyError):
        return f"The proxy refused the connection to {host}"
    if kind is Failure.NAME:
        return f"The name {host} is not known to this computer's network (DNS)"
    if kind is Failure.REFUSED:
        if short:
            return f"nothing answers at {_origin(exc)}"
        refused = any(isinstance(cause, ConnectionRefusedError) for cause in _causes(exc))
        how = "the connection was refused" if refused else "no connection could be made"
        return f"Nothing answers at {_origin(exc)} ({how})"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return f"The connection to {host} broke off"
    return f"The connection to {host} failed"


def _how_often(tries: int, waited: float) -> str:
    if waited >= 1:
        return f", {tries} times in {span(waited)}"
    return "" if tries == 1 else f", {tries} times in a row"


def _deadline(exc: httpx.TransportError) -> str:
    try:
        seconds = exc.request.extensions.get(DEADLINE)
    except RuntimeError:
        return ""
    return span(seconds) if isinstance(seconds, int | float) else ""


def _origin(exc: httpx.TransportError) -> str:
    """scheme://host[:port] of the request, as the profile would write it."""
    try:
        url = exc.request.url
    except RuntimeError:
        return "the service's address"
    return f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")


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
