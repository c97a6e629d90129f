"""How many calls a run keeps in flight, and when it may start the next one.

Opus does not document its throttling, so a run listens for the signs of it and adapts,
much as TCP does with its congestion window:

- A sign of overload (HTTP 429 or 503 seen while a call retries, or a batch given up on
  after the client's own retries) halves the calls allowed in flight, down to one, and
  holds back new calls for a while: the `Retry-After` the service named, else an
  exponential backoff with jitter that grows with each failure in a row.
- Several calls in flight usually run into the same episode of throttling, so after a
  halving the next signs within `settle` seconds only hold back new calls; they do not
  halve again. Otherwise four calls throttled together would drop the run to one.
- The backoff after failures grows once per episode too, not once per call that failed in
  it, so four calls failing together wait as long as one would.
- After `grow_after` successful calls in a row the limit grows back by one, up to the
  concurrency asked for.

The clock is injectable, so all of this is tested without waiting. Thread-safe: worker
threads report, the dispatching thread asks.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from opus_desktop.opus.retry import exponential

Clock = Callable[[], float]


class Pace:
    """The adaptive limit on calls in flight, between 1 and `ceiling`."""

    def __init__(
        self,
        ceiling: int,
        *,
        clock: Clock = time.monotonic,
        grow_after: int = 10,
        settle: float = 1.0,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if ceiling < 1:
            raise ValueError("at least one call must be allowed in flight")
        if grow_after < 1:
            raise ValueError("grow_after must be at least 1")
        self.ceiling = ceiling
        self._clock = clock
        self._grow_after = grow_after
        self._settle = settle
        self._base = base_delay
        self._max = max_delay
        self._rng = rng
        self._lock = threading.Lock()
        self._limit = ceiling
        self._streak = 0  # successful calls since the last change or sign of trouble
        self._failures = 0  # batches given up on in a row: sets the backoff
        self._settled_at = float("-inf")  # before this, signs of overload do not halve again
        self._not_before = float("-inf")  # no new call starts before this time

    @property
    def limit(self) -> int:
        with self._lock:
            return self._limit

    def delay(self) -> float:
        """Seconds until a new call may start; 0 when it may start now."""
        with self._lock:
            return max(self._not_before - self._clock(), 0.0)

    def throttled(self, wait: float | None = None) -> None:
        """The service asked to slow down (429, 503): halve, and hold back `wait` seconds
        (what the client is about to wait anyway; None chooses a backoff)."""
        with self._lock:
            self._slow_down(self._backoff() if wait is None else max(wait, 0.0))

    def failed(self) -> float:
        """A call ended without an answer after the client's retries (service unavailable,
        throttled throughout, connection dropped): halve and back off longer each time in
        a row. Returns the backoff chosen, in seconds."""
        with self._lock:
            if self._clock() >= self._settled_at:
                # Calls failing together are one episode: the backoff grows once for them.
                self._failures += 1
            wait = self._backoff()
            self._slow_down(wait)
            return wait

    def succeeded(self) -> None:
        """A call got its answer: forget the failures; after a run of these, grow by one."""
        with self._lock:
            self._failures = 0
            self._streak += 1
            if self._streak >= self._grow_after and self._limit < self.ceiling:
                self._limit += 1
                self._streak = 0

    def _slow_down(self, wait: float) -> None:
        now = self._clock()
        self._streak = 0
        if now >= self._settled_at:
            self._limit = max(self._limit // 2, 1)
            self._settled_at = now + max(self._settle, wait)
        self._not_before = max(self._not_before, now + wait)

    def _backoff(self) -> float:
        """Full jitter under base * 2**(failures - 1), capped; at least a tenth of the ceiling,
        so a run of failures does not hammer the service with near-zero waits."""
        return exponential(max(self._failures - 1, 0), self._base, self._max, self._rng, 0.1)
