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
  a dropped connection, a garbled reply) puts its records back to pending: they are sent
  again later. A transient fault never fails a record. After `outage_limit` seconds
  without any answer from the service the run stops cleanly ("stopped", resumable).
- The service refused the whole call (HTTP 400, or the client refused it before sending):
  the batch is split in halves, and each half sent, down to single records, so one bad
  record does not sink fourteen good ones. A single record refused is failed with the
  service's message. HTTP 500 is split the same way; a single record that keeps getting
  500 (SERVER_ERROR_TRIES times) is failed.
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from opus_desktop.core.records import Record
from opus_desktop.core.validation import ValidationResult
from opus_desktop.errors import AppError
from opus_desktop.jobs.errors import JobError
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.journal_types import Counts, EndStatus, Item, RunInfo
from opus_desktop.jobs.pace import Pace
from opus_desktop.jobs.state import BatchResult, RunState
from opus_desktop.opus.client import CONFLICT_OPTIONS, MAX_PER_CALL
from opus_desktop.opus.errors import (
    Failure,
    InvalidRequest,
    OpusError,
    RequestRejected,
    ServerError,
    ServiceUnavailable,
)
from opus_desktop.opus.protocols import SubmitResult
from opus_desktop.opus.retry import RetryPolicy

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 32
DEFAULT_OUTAGE_LIMIT = 600.0
SERVER_ERROR_TRIES = 3  # HTTP 500 for one record this many times in a row: it is failed
_POLL = 0.1  # how often the dispatcher looks at cancel while it waits


class Submitter(Protocol):
    """What a run needs of OpusClient (tests pass a fake)."""

    def submit(
        self, records: Sequence[Mapping[str, object]], conflict: str = "Overwrite"
    ) -> SubmitResult: ...


# -- creating a run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRun:
    run_id: str
    to_send: int  # valid records, pending
    invalid: int  # rows journalled as skipped, with their problems


def conflict_option(text: str) -> str:
    """ "overwrite" / "skip" in any case -> the API's "Overwrite" / "Skip"."""
    for option in CONFLICT_OPTIONS:
        if text.strip().casefold() == option.casefold():
            return option
    raise ValueError(f"unknown conflict option {text!r}")


def problem_text(record: Record) -> str:
    """A row's problems as one message: "Created time: ... Page Count: ..."."""
    return " ".join(
        f"{problem.column}: {problem.message}" if problem.column else problem.message
        for problem in record.problems
    )


def create_submit_run(
    journal: Journal,
    profile: str,
    result: ValidationResult | Iterable[Record],
    *,
    input_path: Path | str | None = None,
    input_hash: str | None = None,
    template_hash: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> NewRun:
    """Journal a new submit run from a validation kept with its records, or from records
    (the editor's, their problems with them).

    Valid records go in pending, with the exact payload to send. Invalid rows go in as
    skipped, their problems as the message, so the run's report lists them. A row with no
    row key, or one an earlier row already uses, is journalled under a stand-in key
    ("(row 41)") that no record of the run has; it is never sent.
    """
    if isinstance(result, ValidationResult):
        if result.blocked:
            raise ValueError(
                "the mapping leaves a required column without a source: nothing to send"
            )
        records: Iterable[Record] = result.records
    else:
        records = result
    items: list[tuple[int | None, str, Mapping[str, Any]]] = []
    skipped: dict[str, str] = {}
    keyless: list[Record] = []
    used: set[str] = set()
    for record in records:
        key = record.row_key
        if key is None or key in used:
            keyless.append(record)
            continue
        used.add(key)
        items.append((record.row, key, record.payload()))
        if not record.ok:
            skipped[key] = problem_text(record) or "This row is not valid."
    for record in keyless:
        stand_in = f"(row {record.row})"
        while stand_in in used:
            stand_in = f"({stand_in})"
        used.add(stand_in)
        items.append((record.row, stand_in, record.payload()))
        skipped[stand_in] = problem_text(record) or (
            "This row has no row key."
            if record.row_key is None
            else f"The row key {record.row_key} is used by an earlier row."
        )
    run_id = journal.create_run(
        "submit",
        profile,
        items,
        input_path=input_path,
        input_hash=input_hash,
        template_hash=template_hash,
        mapping=mapping,
        options=options,
        skipped=skipped,
    )
    return NewRun(run_id, len(items) - len(skipped), len(skipped))


def take_run(journal: Journal, run: str, *, failed: bool = False) -> RunInfo:
    """Take hold of a submit run to continue it: `runs resume` (records in flight go back
    to pending) or, with `failed`, `runs retry-failed` (failed records go back to pending).
    Records stored are never sent again. Raises RunNotFound, RunInProgress, or JobError
    for a run that is not a submit run."""
    info = journal.run(run)
    if info.kind != "submit":
        raise JobError(
            f"Run {info.id} is a disposal run, not a submit run; disposals are never sent "
            "again automatically."
        )
    if failed:
        journal.retry_failed(info.id)
    else:
        journal.prepare_resume(info.id)
    return journal.run(info.id)


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
        self._last_answer = clock()
        self._failing = False  # a call failed for want of an answer since the last answer
        self._last_failure: OpusError | None = None
        self._stop: BaseException | None = None
        self._server_errors: dict[str, int] = {}
        self._limit_shown = concurrency
        self._troubled = False  # a status about trouble is showing

    # -- the dispatching thread ---------------------------------------------------------------

    def run(self) -> SubmitSummary:
        """Send every pending record; return once the run has ended (done, cancelled or
        stopped) and is marked so in the journal. Raises only for the journal's own errors
        and for bugs, after ending the run if the journal still works."""
        started = self._clock()
        self._last_answer = started
        counts = self.journal.run(self.run_id).counts
        self.state.start(
            counts.total, stored=counts.ok, failed=counts.failed, skipped=counts.skipped
        )
        restore = (
            self.retries.listen(self._heard, patience=self.outage_limit)
            if self.retries is not None
            else _nothing
        )
        running: set[futures.Future[None]] = set()
        pool = futures.ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix=f"submit-{self.run_id}"
        )
        try:
            self._dispatch(pool, running)
        except BaseException as exc:
            self._halt(exc)
            raise
        finally:
            # In-flight calls always finish and are journalled, whatever ended the loop.
            futures.wait(running)
            pool.shutdown(wait=True)
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
                self._show_limit()
                delay = self.pace.delay()
                if delay > 0:
                    if running:
                        futures.wait(
                            running, timeout=min(delay, _POLL), return_when=futures.FIRST_COMPLETED
                        )
                    else:
                        # Not past the outage limit, though: the run stops there, not later.
                        self._sleep(min(delay, self._until_outage()))
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
        with self._lock:
            if not self._failing:
                return False
            silent = self._clock() - self._last_answer
            if silent < self.outage_limit:
                return False
            last = self._last_failure
        said = f" The last attempt: {last.message}" if last is not None else ""
        self._halt(
            ServiceUnavailable(
                f"The service gave no answer for {_span(silent)}, so the run stopped.{said} "
                "Every record's state is in the journal; resume the run when the service "
                "is back."
            )
        )
        return True

    def _until_outage(self) -> float:
        with self._lock:
            if not self._failing:
                return float("inf")
            return max(self.outage_limit - (self._clock() - self._last_answer), 0.0)

    def _show_limit(self) -> None:
        limit = self.pace.limit
        if limit != self._limit_shown:
            self._limit_shown = limit
            if limit < self.concurrency:
                self._trouble(f"The service is busy: {limit} call{'s' * (limit > 1)} at a time")
            else:
                self._trouble("")

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
            self._answered()
            if len(part) > 1:
                return _halves(part)
            return self._server_error(part[0], exc)
        except OpusError as exc:
            if exc.kind.passes:  # no answer, or a garbled or cut-off one: send again
                self._transient(part, exc)
                return []
            # Sign-in refused, an untrusted server, the wrong address, a bad setting.
            self._halt(exc)  # first, so the dispatcher does not claim them again
            self._release(part, exc.message)
            return []
        self._answered()
        self.pace.succeeded()
        if self._troubled and self.pace.limit == self.concurrency:
            self._trouble("")
        return self._record(part, result)

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
        self._sleep(self.pace.failed())
        return [[item]]

    def _transient(self, part: list[Item], exc: OpusError) -> None:
        """No usable answer: the records go back to pending, to be sent again later."""
        wait = self.pace.failed()
        with self._lock:
            self._failing = True
            self._last_failure = exc
        self._release(part, exc.message)
        self._trouble(f"No answer from the service; trying again in {wait:.0f} s")

    def _trouble(self, text: str) -> None:
        """Show what slows the run ("" once it goes well again)."""
        self._troubled = bool(text)
        self.state.set_status(text)

    def _answered(self) -> None:
        with self._lock:
            self._last_answer = self._clock()
            self._failing = False

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
