"""Submit runs: every record of a sheet sent to Opus, with nothing lost and nothing sent twice
that was known to be stored.

    run_id = create_submit_run(journal, "Sandbox", validation_result, ...).run_id
    summary = SubmitRun(journal, client, run_id, state, concurrency=4).run()

The CLI and the GUI drive this same class; it never prints, and reports through the
RunState it is given (progress, one BatchResult per call, cancel). How a run goes:

- The dispatching thread (the caller's) claims up to 15 pending records from the journal
  (committed as in flight before the call) and hands them to one of `concurrency` worker
  threads, which share the client and its token. A worker sends the call and commits the
  outcome to the journal as soon as the answer is read. The next batch is claimed while
  the calls are under way, so one more batch than the calls in flight may be in flight
  in the journal: it has not been sent, and is sent once on resume.
- The client retries temporary failures a few times itself, with the RetryPolicy the
  run is given (`retries`, opus/retry.py). The run listens to it while it runs: 429s and
  503s tell the run's Pace (pace.py) to keep fewer calls in flight while the service is
  busy (it grows back when calls succeed), and the outage limit is the policy's patience,
  so no call's own retries outlast it.
- A call still without an answer after those retries (unavailable, throttled throughout,
  a dropped connection, a timeout) puts its records back to pending: they are sent again
  later. A transient fault never fails a record. After `outage_limit` seconds without any
  answer from the service the run stops cleanly ("stopped", resumable); meanwhile its
  status says why and how long is left (outage.py). A Retry-After longer than the limit
  stops it at once, saying the wait the service asked for.
- Before the service ever answered the run (and when it stored nothing of it before), a
  refused connection, an unknown name or a reply that is not the API's means the address
  is wrong, not that the service is away: the run stops at once with the sentence, and
  the client does not retry them either (the run tells its RetryPolicy so). Mid-run a
  reply that is not the API's is sent again, BAD_REPLY_TRIES times in a row at most.
- The service refused the whole call (HTTP 400, or the client refused it before sending):
  the batch is split in halves, and each half sent, down to single records, so one bad
  record does not sink fourteen good ones. A single record refused is failed with the
  service's message. HTTP 500 is split the same way; a single record that keeps getting
  500 (SERVER_ERROR_TRIES times) is failed; SERVER_ERROR_STOP calls in a row answered
  500 mean the service fails on everything, and the run stops.
- Failures the service did not tie to a row key (`SubmitResult.unmatched`) make the
  batch's other records uncertain: they may or may not be stored. The records it did name
  are failed; the uncertain ones are sent again in halves (the same row key and payload
  store the same record, so that is safe) until a single record's answer is unambiguous.
  A single record answered with an unnamed failure is failed with that message.
- Cancel: nothing new starts, the calls under way finish and are journalled, and the run
  ends "cancelled", resumable.
- A failure that waiting does not mend (Failure.passes is false: sign-in refused, an
  untrusted server, a wrong API URL, a bad setting) stops the run at once ("stopped"):
  the calls under way finish, records not sent go back to pending.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Protocol

from opus_desktop.errors import AppError
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.journal_types import Counts, EndStatus, Item
from opus_desktop.jobs.outage import BAD_REPLY_TRIES, Outage, Ticker
from opus_desktop.jobs.pace import Pace
from opus_desktop.jobs.state import BatchResult, RunState
from opus_desktop.jobs.submit_runs import (
    NewRun,
    conflict_option,
    create_submit_run,
    problem_text,
    take_run,
)
from opus_desktop.opus.client import MAX_PER_CALL
from opus_desktop.opus.errors import (
    FIRST_CONTACT,
    Failure,
    InvalidRequest,
    OpusError,
    ProtocolError,
    RequestRejected,
    ServerError,
    ServiceUnavailable,
    status_brief,
)
from opus_desktop.opus.protocols import SubmitResult
from opus_desktop.opus.retry import RetryPolicy

__all__ = [  # making and taking runs lives in submit_runs.py; callers find it here too
    "NewRun",
    "SubmitRun",
    "SubmitSummary",
    "conflict_option",
    "create_submit_run",
    "problem_text",
    "take_run",
]

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 32
DEFAULT_OUTAGE_LIMIT = 600.0
SERVER_ERROR_TRIES = 3  # HTTP 500 for one record this many times in a row: it is failed
SERVER_ERROR_STOP = 8  # HTTP 500 for this many calls in a row, nothing else between: stop
_POLL = 0.1  # how often the dispatcher looks at cancel while it waits
# Before the service ever answered a run, these say the address (or what answers there)
# is wrong rather than that the service is away for a while.
# What a retry the client is about to wait out means, when it got no reply at all.
_WAITING = {
    Failure.REFUSED: "nothing answers at the service's address",
    Failure.NAME: "the service's name is not known to the network (DNS)",
    Failure.TIMEOUT: "the service did not answer in time",
    Failure.DROPPED: "the connection to the service broke off",
}


class Submitter(Protocol):
    """What a run needs of OpusClient (tests pass a fake)."""

    def submit(
        self, records: Sequence[Mapping[str, object]], conflict: str = "Overwrite"
    ) -> SubmitResult: ...


# -- running ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitSummary:
    run_id: str
    status: EndStatus
    counts: Counts
    calls: int  # calls made by this run (sub-calls of split batches included)
    elapsed: float  # seconds
    error: AppError | None = None  # why the run stopped, if it did

    @property
    def exit_code(self) -> int:
        """DESIGN §4: 0 all stored, 1 some failed or invalid, 3 auth, 4 unreachable;
        130 for a cancelled run (as for Ctrl-C)."""
        if self.error is not None:
            return self.error.exit_code
        if self.status == "cancelled":
            return 130
        return 0 if self.counts.failed == 0 and self.counts.skipped == 0 else 1


class SubmitRun:
    """One submit run held by `journal`, sent through `client` (see the module's docstring).

    `clock` measures the outage limit and the pace; `sleep(seconds)` waits out a backoff
    when no call is under way (default: `state.wait`, which a cancel cuts short). Both are
    there for tests.
    """

    def __init__(
        self,
        journal: Journal,
        client: Submitter,
        run_id: str,
        state: RunState | None = None,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        conflict: str = "Overwrite",
        outage_limit: float = DEFAULT_OUTAGE_LIMIT,
        batch_size: int = MAX_PER_CALL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        pace: Pace | None = None,
        retries: RetryPolicy | None = None,
    ) -> None:
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be from 1 to {MAX_CONCURRENCY}")
        if not 1 <= batch_size <= MAX_PER_CALL:
            raise ValueError(f"a batch holds 1 to {MAX_PER_CALL} records")
        self.journal = journal
        self.client = client
        self.run_id = run_id
        self.state = state if state is not None else RunState()
        self.concurrency = concurrency
        self.conflict = conflict_option(conflict)
        self.outage_limit = outage_limit
        self.batch_size = batch_size
        self._clock = clock
        self._sleep: Callable[[float], object] = sleep if sleep is not None else self.state.wait
        self.pace = pace if pace is not None else Pace(concurrency, clock=clock)
        self.retries = retries
        self._lock = threading.Lock()
        self._calls = 0
        self.outage = Outage(outage_limit, clock)
        self._last_failure: OpusError | None = None
        self._stop: BaseException | None = None
        self._server_errors: dict[str, int] = {}
        # The service answered this run, or stored records of it before: from then on a
        # refused connection is an outage, not a wrong address.
        self._reached = False
        self._bad_replies = 0  # replies that were not the API's, in a row
        self._server_streak = 0  # calls answered HTTP 500, in a row
        self._status_lock = threading.Lock()
        self._shown = ""  # the status line last shown

    # -- the dispatching thread ---------------------------------------------------------------

    def run(self) -> SubmitSummary:
        """Send every pending record; return once the run has ended (done, cancelled or
        stopped) and is marked so in the journal. Raises only for the journal's own errors
        and for bugs, after ending the run if the journal still works."""
        started = self._clock()
        self.outage.restart()
        counts = self.journal.run(self.run_id).counts
        self._reached = counts.ok > 0
        self.state.start(
            counts.total, stored=counts.ok, failed=counts.failed, skipped=counts.skipped
        )
        restore = (
            self.retries.listen(self._heard, patience=self.outage_limit, hopeless=self._hopeless)
            if self.retries is not None
            else _nothing
        )
        running: set[futures.Future[None]] = set()
        pool = futures.ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix=f"submit-{self.run_id}"
        )
        ticker = Ticker(self._show_status, name=f"submit-{self.run_id}-status").start()
        try:
            self._dispatch(pool, running)
        except BaseException as exc:
            self._halt(exc)
            raise
        finally:
            # In-flight calls always finish and are journalled, whatever ended the loop.
            futures.wait(running)
            pool.shutdown(wait=True)
            ticker.stop()
            restore()
            self._reap(running)
            self._end_if_stopped_by_error()
        return self._end(started)

    def _dispatch(
        self, pool: futures.ThreadPoolExecutor, running: set[futures.Future[None]]
    ) -> None:
        # The next batch is claimed while the calls in flight are still under way, so a
        # call that ends is followed at once, without waiting on the journal's commit.
        ready: list[Item] = []
        try:
            while True:
                self._reap(running)
                if self._stop is not None or self.state.cancel_requested:
                    return
                if self._outage_over():
                    return
                self._show_status()
                delay = self.pace.delay()
                if delay > 0:
                    if running:
                        futures.wait(
                            running, timeout=min(delay, _POLL), return_when=futures.FIRST_COMPLETED
                        )
                    else:
                        # Not past the outage limit, though: the run stops there, not later.
                        self._sleep(min(delay, self.outage.left()))
                    continue
                if not ready:
                    ready = self.journal.claim(self.run_id, self.batch_size)
                    if not ready and not running:
                        return  # nothing pending, nothing in flight: every record has an outcome
                if not ready or len(running) >= self.pace.limit:
                    # A call under way may end, or put its records back to pending.
                    futures.wait(running, timeout=_POLL, return_when=futures.FIRST_COMPLETED)
                    continue
                if self._stop is not None:  # a call stopped the run while this batch was claimed
                    return
                running.add(pool.submit(self._deliver, ready))
                ready = []
        finally:
            if ready:
                self._release_unsent(ready)

    def _release_unsent(self, batch: list[Item]) -> None:
        try:
            self.journal.release(self.run_id, [item.key for item in batch])
        except Exception:  # ending or resuming the run puts them back to pending anyway
            log.exception("run %s: records claimed but not sent stay in flight", self.run_id)

    def _reap(self, running: set[futures.Future[None]]) -> None:
        for future in [f for f in running if f.done()]:
            running.discard(future)
            error = future.exception()
            if error is not None:
                self._halt(error)

    def _outage_over(self) -> bool:
        silent = self.outage.silence()
        if silent is None:
            return False
        with self._lock:
            last = self._last_failure
        said = f" The last attempt: {last.message}" if last is not None else ""
        self._halt(
            ServiceUnavailable(
                f"The service gave no answer for {_span(silent)}, so the run stopped.{said} "
                "Every record's state is in the journal; resume the run when the service "
                "is back.",
                kind=last.kind if last is not None and last.kind.passes else None,
            )
        )
        return True

    def _show_status(self) -> None:
        """Show what slows the run, if anything, with the time left before it stops."""
        with self._status_lock:
            if self._stop is not None:
                return  # the run is ending: its last word is the ending's
            text = self.outage.text(self.pace.limit, self.concurrency)
            if text != self._shown:
                self._shown = text
                self.state.set_status(text)

    def _end_if_stopped_by_error(self) -> None:
        """After an error that is not the service's (a bug, the journal failing), end the
        run as stopped if the journal still lets us, so it shows as resumable."""
        error = self._stop
        if error is None or isinstance(error, AppError):
            return
        try:
            if isinstance(error, KeyboardInterrupt):
                self.journal.mark_ended(self.run_id, "cancelled")
            else:
                self.journal.mark_ended(self.run_id, "stopped", f"Stopped by an error: {error!r}")
        except Exception:
            log.exception("run %s could not be marked stopped", self.run_id)

    def _end(self, started: float) -> SubmitSummary:
        error = self._stop
        if error is not None and not isinstance(error, AppError):
            raise error  # already ended as stopped, when the journal allowed
        counts = self.journal.run(self.run_id).counts
        status: EndStatus
        note: str | None = None
        if error is not None:
            status, note = "stopped", error.message
        elif counts.remaining == 0:
            status = "done"
        elif self.state.cancel_requested:
            status = "cancelled"
        else:  # not expected: every call ends each of its records one way or another
            status, note = "stopped", "The run ended with records still to send."
        self.journal.mark_ended(self.run_id, status, note)
        counts = self.journal.run(self.run_id).counts
        self.state.set_status(
            {"done": "Done", "cancelled": "Cancelled", "stopped": "Stopped"}[status]
        )
        with self._lock:
            calls = self._calls
        return SubmitSummary(self.run_id, status, counts, calls, self._clock() - started, error)

    def _halt(self, error: BaseException) -> None:
        """Stop dispatching for `error` (the first one wins)."""
        with self._lock:
            if self._stop is None:
                self._stop = error
                log.info("run %s stops: %s", self.run_id, error)

    def _heard(self, kind: Failure, status: int | None, delay: float) -> None:
        """The client is about to wait `delay` seconds before trying a call again."""
        if kind in (Failure.THROTTLED, Failure.UNAVAILABLE):
            self.pace.throttled(delay)
        cause = status_brief(status) if status else _WAITING.get(kind, "no answer")
        self.outage.trouble(cause, delay)
        self._show_status()

    def _hopeless(self, kind: Failure) -> bool:
        """Whether the client should give up on `kind` at once: the run never reached
        the service, and this says its address is wrong; or the run is stopping."""
        return self._stop is not None or (not self._reached and kind in FIRST_CONTACT)

    # -- worker threads -----------------------------------------------------------------------

    def _deliver(self, batch: list[Item]) -> None:
        """Send one claimed batch, splitting it when needed, and journal every outcome."""
        # Should the journal fail here, what is left stays in flight: ending the run (or
        # resuming it after a crash) puts it back to pending.
        parts = [batch]
        while parts:
            part = parts.pop()
            if self._stop is not None or self.state.cancel_requested:
                # The call under way has finished; the rest of a split batch waits.
                self._release(part, None)
                continue
            parts.extend(reversed(self._send(part)))

    def _send(self, part: list[Item]) -> list[list[Item]]:
        """One call; returns the parts still to send (halves of a refused batch)."""
        keys = [item.key for item in part]
        with self._lock:
            self._calls += 1
        try:
            result = self.client.submit([item.payload for item in part], self.conflict)
        except (RequestRejected, InvalidRequest) as exc:
            if isinstance(exc, RequestRejected):
                self._answered()
            if len(part) > 1:
                return _halves(part)
            self._finish(failed={keys[0]: _refusal(exc)}, message=exc.message)
            return []
        except ServerError as exc:
            self._answered(server_error=True)
            stop = self._server_errors_stop(exc)
            if stop is not None:
                self._halt(stop)
                self._release(part, exc.message)
                return []
            if len(part) > 1:
                return _halves(part)
            return self._server_error(part[0], exc)
        except OpusError as exc:
            stop = self._stops(exc)
            if stop is None:  # no answer, or a garbled or cut-off one: send again
                self._transient(part, exc)
                return []
            # Sign-in refused, an untrusted server, the wrong address, a bad setting; or
            # what the run cannot wait out.
            self._halt(stop)  # first, so the dispatcher does not claim them again
            self._release(part, exc.message)
            return []
        self._answered()
        self.pace.succeeded()
        self._show_status()
        return self._record(part, result)

    def _stops(self, exc: OpusError) -> OpusError | None:
        """The error that stops the run for `exc`, or None when the call is to be sent
        again later."""
        if not exc.kind.passes:
            return exc
        asked = getattr(exc, "asked", None)
        if isinstance(asked, int | float) and asked > self.outage_limit:
            return ServiceUnavailable(
                f"{exc.message} The run stopped; every record's state is in the journal.",
                getattr(exc, "status", None),
                exc.kind,
                asked=asked,
            )
        if exc.kind is Failure.BAD_REPLY:
            with self._lock:
                self._bad_replies += 1
                count = self._bad_replies
            if self._reached and count < BAD_REPLY_TRIES:
                return None
            if count == 1:
                return exc
            return ProtocolError(
                f"{exc.message} That is {count} such replies in a row, so the run stopped; "
                "every record's state is in the journal: resume the run once the service "
                "answers as the API should.",
                getattr(exc, "status", None),
            )
        if not self._reached and exc.kind in FIRST_CONTACT:
            return exc
        return None

    def _server_errors_stop(self, exc: ServerError) -> OpusError | None:
        with self._lock:
            self._server_streak += 1
            count = self._server_streak
        if count < SERVER_ERROR_STOP:
            return None
        return ServiceUnavailable(
            f"The service failed on {count} calls in a row, so the run stopped: "
            f"{exc.message} Every record's state is in the journal; resume the run once the "
            "service works again.",
            exc.status,
            Failure.SERVER,
        )

    def _record(self, part: list[Item], result: SubmitResult) -> list[list[Item]]:
        sent = {item.key for item in part}
        failed = {key: message for key, message in result.failed.items() if key in sent}
        if not result.unmatched:
            stored = [key for key in result.stored if key in sent and key not in failed]
            # A record the answer does not mention at all (a client that misreports) must
            # still end somewhere, or the run would wait for it forever.
            for key in sent.difference(stored, failed):
                failed[key] = "The service's answer did not mention this record."
            self._finish(ok=stored, failed=failed, message=result.message)
            return []
        unnamed = " ".join(result.unmatched)
        uncertain = [item for item in part if item.key not in failed]
        if len(uncertain) == 1 and len(part) == 1:
            failed[uncertain[0].key] = unnamed
            uncertain = []
        self._finish(failed=failed, message=result.message)
        if not uncertain:
            return []
        log.info(
            "%d records are uncertain after failures the service did not tie to a row key; "
            "sending them again in smaller calls",
            len(uncertain),
        )
        return _halves(uncertain) if len(uncertain) > 1 else [uncertain]

    def _server_error(self, item: Item, exc: ServerError) -> list[list[Item]]:
        with self._lock:
            tries = self._server_errors.get(item.key, 0) + 1
            self._server_errors[item.key] = tries
        if tries >= SERVER_ERROR_TRIES:
            said = exc.service_message or exc.message
            self._finish(
                failed={item.key: f"The service failed on this record {tries} times: {said}"},
                message=exc.message,
            )
            return []
        self._pause(self.pace.failed())
        return [[item]]

    def _pause(self, seconds: float) -> None:
        """Wait `seconds` in a worker, unless the run stops or is cancelled meanwhile."""
        if self._stop is None and not self.state.cancel_requested:
            self._sleep(seconds)

    def _transient(self, part: list[Item], exc: OpusError) -> None:
        """No usable answer: the records go back to pending, to be sent again later."""
        wait = self.pace.failed()
        with self._lock:
            self._last_failure = exc
        self.outage.trouble(exc.brief or "no usable answer from the service", wait)
        self._release(part, exc.message)
        self._show_status()

    def _answered(self, server_error: bool = False) -> None:
        """The service answered a call (stored, refused or failed on its records)."""
        with self._lock:
            self._reached = True
            self._bad_replies = 0
            if not server_error:
                self._server_streak = 0
        self.outage.answered()

    def _finish(
        self,
        ok: Sequence[str] = (),
        failed: Mapping[str, str] | None = None,
        message: str = "",
    ) -> None:
        failed = dict(failed or {})
        self.journal.finish(self.run_id, ok=ok, failed=failed)
        self.state.batch_done(BatchResult(ok=tuple(ok), failed=failed, message=message))

    def _release(self, part: list[Item], message: str | None) -> None:
        keys = tuple(item.key for item in part)
        self.journal.release(self.run_id, keys, message)
        self.state.batch_done(BatchResult(released=keys, message=message or ""))


def _halves(part: list[Item]) -> list[list[Item]]:
    middle = len(part) // 2
    return [part[:middle], part[middle:]]


def _refusal(exc: OpusError) -> str:
    said = getattr(exc, "service_message", "")
    return f"The service refused this record: {said}" if said else exc.message


def _span(seconds: float) -> str:
    whole = round(seconds)
    if whole < 120:
        return f"{whole} second{'s' * (whole != 1)}"
    return f"{whole // 60} minutes"


def _nothing() -> None:
    """What there is to undo when the run listens to no retry policy."""
