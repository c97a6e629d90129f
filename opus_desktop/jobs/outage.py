"""How long a run has been without an answer, and the line that says why while it lasts.

A submit run keeps one Outage: every answer of the service resets it; every sign that
the service is away (a call given up on, a retry the client is about to wait out) notes
its cause and when the next try comes. Once the silence reaches the run's outage limit the
run stops. `text` is the run's status line meanwhile, such as

    Nothing answers at https://opus.example.com; trying again in 12 s; the run stops in
    9:41 unless the service answers

and a Ticker redraws it every second, so the countdown moves in the window and on the
terminal while nothing else happens. The clock is the run's (injectable); the Ticker waits
in real time but redraws only when the text changed, so a test's still clock sees no
extra reports.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

Clock = Callable[[], float]
TICK = 1.0  # seconds between two redraws of the status line
# The time left is shown once the silence lasts this long (or half the limit, if shorter):
# a throttled call waiting a second is not yet a reason to speak of stopping.
COUNTDOWN_AFTER = 5.0
BAD_REPLY_TRIES = 3  # replies that are not the API's, in a row, before a run stops


class Outage:
    """Thread-safe: worker threads note answers and trouble, the dispatcher asks."""

    def __init__(self, limit: float, clock: Clock) -> None:
        self.limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._last_answer = clock()
        self._failing = False  # no answer since trouble was noted
        self._cause = ""
        self._retry_at: float | None = None

    def restart(self) -> None:
        """The run begins: the silence counts from now."""
        with self._lock:
            self._last_answer = self._clock()
            self._failing = False
            self._cause, self._retry_at = "", None

    def answered(self) -> None:
        with self._lock:
            self._last_answer = self._clock()
            self._failing = False
            self._cause, self._retry_at = "", None

    def trouble(self, cause: str, retry_in: float | None = None) -> None:
        """No answer: `cause` in a few words, the next try in `retry_in` seconds if known."""
        with self._lock:
            self._failing = True
            self._cause = cause
            self._retry_at = None if retry_in is None else self._clock() + retry_in

    @property
    def failing(self) -> bool:
        with self._lock:
            return self._failing

    def silence(self) -> float | None:
        """Seconds without an answer once they reach the limit, else None."""
        with self._lock:
            if not self._failing:
                return None
            silent = self._clock() - self._last_answer
        return silent if silent >= self.limit else None

    def left(self) -> float:
        """Seconds until the limit is reached (infinite while the service answers)."""
        with self._lock:
            if not self._failing:
                return math.inf
            return max(self.limit - (self._clock() - self._last_answer), 0.0)

    def text(self, limit: int, ceiling: int) -> str:
        """The status line: the cause, the next try, the time left; and the calls in flight
        when fewer than `ceiling` are allowed ("" when all goes well)."""
        with self._lock:
            cause, retry_at, failing = self._cause, self._retry_at, self._failing
            now = self._clock()
            silent = now - self._last_answer
        parts: list[str] = []
        if failing:
            if cause:
                parts.append(cause[0].upper() + cause[1:])
            if retry_at is not None and retry_at > now:
                parts.append(f"trying again in {math.ceil(retry_at - now)} s")
            if silent >= min(COUNTDOWN_AFTER, self.limit / 2):
                left = max(self.limit - silent, 0.0)
                parts.append(f"the run stops in {clock_time(left)} unless the service answers")
        if limit < ceiling:
            parts.append(f"{limit} of {ceiling} calls at a time, more as calls succeed")
        return "; ".join(parts)


def clock_time(seconds: float) -> str:
    """0:41, 9:41 or 1:02:05: whole seconds, rounded up (never 0:00 before the end)."""
    whole = max(math.ceil(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Ticker:
    """Calls `tick()` every `every` seconds (TICK by default) in a daemon thread until
    stopped."""

    def __init__(
        self, tick: Callable[[], None], every: float | None = None, name: str = "ticker"
    ) -> None:
        self._tick = tick
        self._every = TICK if every is None else every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Ticker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stopped.wait(self._every):
            try:
                self._tick()
            except Exception:  # a redraw that fails must not end the run's reports
                log.exception("redrawing the run's status failed")
