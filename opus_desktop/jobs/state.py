"""The state object handed to a run: progress, rate, time left, cancel, results per batch.

The habit is orange3's TaskState: a run is a plain function that reports through this
object and checks `cancel_requested` between calls; it knows nothing of who watches.

    state = RunState()
    state.on_progress(bar.update)         # the CLI: redraw a progress bar
    state.on_batch(worker.batch.emit)     # a QThread worker: turn results into signals
    ...run the job with `state`; the GUI's Cancel button calls state.cancel()...

Inside the run: `state.start(total, stored=..., ...)` (counts already in the journal when
resuming), `state.set_status(...)`, `state.batch_done(BatchResult(...))` after each call
is journalled, `if state.cancel_requested: ...` between calls, and `state.wait(delay)`
for back-off sleeps that a cancel cuts short.

Listeners are called from the run's thread (the thread that reports), one report at a
time even when several worker threads report, and outside the lock on the counts, so
a listener may read the state or emit a Qt signal (queued across threads) without
deadlock. `cancel()` may be called from any thread; it only sets a
flag the run sees at its next check, and wakes a run sleeping in `wait()`.
A poller (a GUI timer) can call `progress()` instead of listening.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

log = logging.getLogger(__name__)

Clock = Callable[[], float]
_T = TypeVar("_T")


@dataclass(frozen=True)
class Progress:
    """One snapshot of a run's progress. Counts are records, not batches."""

    total: int
    stored: int
    failed: int
    skipped: int
    rate: float | None  # records per second over the sliding window; None before any
    eta: float | None  # seconds left at that rate; None while unknown (no rate, stalled)
    elapsed: float  # seconds since start()
    status: str
    cancel_requested: bool

    @property
    def done(self) -> int:
        return self.stored + self.failed + self.skipped

    @property
    def remaining(self) -> int:
        return max(self.total - self.done, 0)

    @property
    def fraction(self) -> float:
        """Share done, 0.0 to 1.0; an empty run is complete."""
        return min(self.done / self.total, 1.0) if self.total else 1.0


@dataclass(frozen=True)
class BatchResult:
    """What became of one batch: row keys stored, failed (with the service's message),
    skipped (with a reason), and released (back to pending: not counted as done)."""

    ok: tuple[str, ...] = ()
    failed: Mapping[str, str] = field(default_factory=dict)
    skipped: Mapping[str, str] = field(default_factory=dict)
    released: tuple[str, ...] = ()
    message: str = ""  # the service's message for the whole call, if any

    @property
    def done(self) -> int:
        return len(self.ok) + len(self.failed) + len(self.skipped)


ProgressListener = Callable[[Progress], None]
BatchListener = Callable[[BatchResult], None]


class RunState:
    """Thread-safe progress, cancel and partial results of one run."""

    def __init__(self, *, clock: Clock = time.monotonic, window: float = 30.0) -> None:
        if window <= 0:
            raise ValueError("the rate window must be positive")
        self._clock = clock
        self._window = window
        self._lock = threading.Lock()  # guards the counts; never held while calling out
        # Serialises reports from several worker threads, so listeners are never called
        # concurrently and see counts that only grow.
        self._report = threading.RLock()
        self._cancel = threading.Event()
        self._progress_listeners: list[ProgressListener] = []
        self._batch_listeners: list[BatchListener] = []
        self._total = 0
        self._stored = 0
        self._failed = 0
        self._skipped = 0
        self._status = ""
        self._started = clock()
        # (time, records done) per report; only those inside the window count for the rate.
        self._events: deque[tuple[float, int]] = deque()

    # -- listening ------------------------------------------------------------------

    def on_progress(self, listener: ProgressListener) -> Callable[[], None]:
        """Call `listener(progress)` after every change; returns a function that stops it."""
        with self._lock:
            self._progress_listeners.append(listener)
        return lambda: self._remove(self._progress_listeners, listener)

    def on_batch(self, listener: BatchListener) -> Callable[[], None]:
        """Call `listener(result)` once per finished batch; returns a function that stops it."""
        with self._lock:
            self._batch_listeners.append(listener)
        return lambda: self._remove(self._batch_listeners, listener)

    # -- reporting (the run's thread) ---------------------------------------------------

    def start(self, total: int, *, stored: int = 0, failed: int = 0, skipped: int = 0) -> None:
        """Begin counting: `total` records, some possibly done already (a resumed run).

        Records already done count towards progress, not towards the rate.
        """
        if min(total, stored, failed, skipped) < 0:
            raise ValueError("counts cannot be negative")
        with self._report:
            with self._lock:
                self._total = total
                self._stored, self._failed, self._skipped = stored, failed, skipped
                self._started = self._clock()
                self._events.clear()
            self._notify_progress()

    def set_total(self, total: int) -> None:
        if total < 0:
            raise ValueError("the total cannot be negative")
        with self._report:
            with self._lock:
                self._total = total
            self._notify_progress()

    def set_status(self, text: str) -> None:
        """A short sentence for the user: "Sending records 31 to 45", "Waiting 8 s: ..."."""
        with self._report:
            with self._lock:
                self._status = text
            self._notify_progress()

    def add(self, *, stored: int = 0, failed: int = 0, skipped: int = 0) -> None:
        """Count records that finished outside a batch (e.g. skipped before sending)."""
        if min(stored, failed, skipped) < 0:
            raise ValueError("counts cannot be negative")
        with self._report:
            self._count(stored, failed, skipped)
            self._notify_progress()

    def batch_done(self, result: BatchResult) -> None:
        """Count one batch, hand it to the batch listeners, then report progress."""
        with self._report:
            self._count(len(result.ok), len(result.failed), len(result.skipped))
            for listener in self._listeners(self._batch_listeners):
                self._call(listener, result)
            self._notify_progress()

    # -- reading (any thread) ---------------------------------------------------------

    def progress(self) -> Progress:
        with self._lock:
            now = self._clock()
            self._prune(now)
            elapsed = max(now - self._started, 0.0)
            done = self._stored + self._failed + self._skipped
            rate = self._rate(now, elapsed)
            remaining = max(self._total - done, 0)
            if remaining == 0:
                eta: float | None = 0.0
            elif rate:
                eta = remaining / rate
            else:
                eta = None
            return Progress(
                total=self._total,
                stored=self._stored,
                failed=self._failed,
                skipped=self._skipped,
                rate=rate,
                eta=eta,
                elapsed=elapsed,
                status=self._status,
                cancel_requested=self._cancel.is_set(),
            )

    # -- cancelling ---------------------------------------------------------------------

    def cancel(self) -> None:
        """Ask the run to stop after the calls already under way; safe from any thread."""
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds` (a back-off), waking early on cancel; True if cancelled."""
        return self._cancel.wait(max(seconds, 0.0))

    # -- inside -------------------------------------------------------------------------

    def _count(self, stored: int, failed: int, skipped: int) -> None:
        with self._lock:
            self._stored += stored
            self._failed += failed
            self._skipped += skipped
            done = stored + failed + skipped
            if done:
                now = self._clock()
                self._events.append((now, done))
                self._prune(now)

    def _prune(self, now: float) -> None:
        horizon = now - self._window
        while self._events and self._events[0][0] <= horizon:
            self._events.popleft()

    def _rate(self, now: float, elapsed: float) -> float | None:
        """Records per second over the last `window` seconds (or since start, if shorter)."""
        if not self._events:
            # Nothing in the window: unknown before the first report, stalled after it.
            return None if elapsed < self._window else 0.0
        span = min(self._window, elapsed)
        if span <= 0:
            return None
        return sum(n for _, n in self._events) / span

    def _notify_progress(self) -> None:
        listeners = self._listeners(self._progress_listeners)
        if not listeners:
            return
        snapshot = self.progress()
        for listener in listeners:
            self._call(listener, snapshot)

    def _listeners(self, listeners: list[_T]) -> list[_T]:
        with self._lock:
            return list(listeners)

    def _remove(self, listeners: list[_T], listener: _T) -> None:
        with self._lock:
            if listener in listeners:
                listeners.remove(listener)

    @staticmethod
    def _call(listener: Callable[[_T], None], value: _T) -> None:
        # A watcher that fails (a closed pipe under the CLI's progress bar) must not stop
        # a run in the middle: the journal, not the watcher, is the record of what happened.
        try:
            listener(value)
        except Exception:
            log.exception("a progress listener failed; the run goes on")
