"""Disposal: marking the approved records destroyed, journalled and audited.

Due records and the officer's selection of them are jobs/due.py.

Destroy run
    runner = DestroyRun(journal, audit, client, tenant)
    run_id = runner.create(items, justification, operator_name="Jane", not_sent=...)
    outcome = runner.run(run_id, state)             # the first action
    outcome = runner.resume(run_id, state)          # after a kill, cancel or outage
    outcome = runner.retry_failed(run_id, state)    # the failed records sent again
    finished(journal, audit, run_id)                # nothing left: resume would do nothing

    Journalled like a submit run: each call of at most 15 row keys is claimed (committed)
    before it is sent and finished after, so a killed run resumes where it stopped and a
    destroyed record is never sent again. A record's payload keeps its name,
    classification and due date for the audit log and the certificate. Records left out
    (not due, held back) are journalled as skipped, each with its reason, in the same
    transaction as the run, so no crash can send them.

    Marking destroyed is not idempotent: a record the service destroyed before the app
    heard back is "already destroyed" when sent again. So a record that may have been
    sent without an answer carries a message starting with NOT_CONFIRMED: set when a
    call failed after it may have reached the service, when resume() finds records that
    were in flight when the app died, and when a reply reported failures without naming
    the records. If the service then answers "already destroyed" for such a record, it
    counts as destroyed by this run. After a definite answer (a refusal), "already
    destroyed" stays a failure: someone else destroyed it.

    The habits are submit's (jobs/submit.py), one call at a time: a call that gets no
    usable answer (unreachable, throttled throughout, a garbled reply) is put back and
    tried again with growing pauses; once the service has given no answer for
    `outage_limit` seconds the run stops cleanly ("stopped", error ServiceUnavailable,
    exit 4), to be resumed. A call refused as a whole (400) is split in halves down to
    the record at fault; HTTP 500 is split too, and a record that keeps getting it is
    failed (NOT_CONFIRMED). A refused sign-in or a wrong URL stops the run at once. The
    service's errors and the audit log's come back in the outcome (`error`, `exit_code`);
    the journal's own errors and bugs are raised, after the run is ended.

Audit: one entry per action (the first run, each resume, each retry), appended when the
action ends however it ends (done, cancelled, stopped or an error); an action that got
no answer at all writes none. It lists every record answered during the action with
Opus's answer, plus any answer the log does not hold yet: the records left out (first
action) and answers that an interrupted earlier action got but never wrote (named in
"recovered"; the operator of the entry is then not the one who sent them). So every
key's answer ends up in the log. The entry's hash then goes to the journal
(record_audit), which anchors the chain. The log must verify before anything is sent: no
disposal without its audit entry. `destroy_outcome()` reads a run back (for the
certificate, or a window showing a run), `certificate_path()` says where its PDF goes.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from opus_desktop.errors import AppError
from opus_desktop.jobs.audit import AuditEntry, AuditLog, DisposedRecord, destroy_entry
from opus_desktop.jobs.disposal_outcome import (
    DESTROYED,
    NOT_SENT,
    PENDING,
    DestroyOutcome,
    Tenant,
    current_answers,
    destroy_outcome,
    reason_kind,
    run_entries,
)
from opus_desktop.jobs.due import DisposalItem, DueClient
from opus_desktop.jobs.errors import AuditError, JobError
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.journal_types import EndStatus, Item, RunInfo
from opus_desktop.jobs.outage import BAD_REPLY_TRIES
from opus_desktop.jobs.state import BatchResult, RunState
from opus_desktop.opus.errors import (
    FIRST_CONTACT,
    Failure,
    InvalidRequest,
    OpusError,
    ProtocolError,
    RequestRejected,
    ServerError,
    ServiceUnavailable,
)
from opus_desktop.opus.protocols import DestroyResult
from opus_desktop.opus.retry import RetryPolicy, exponential

log = logging.getLogger(__name__)

MAX_PER_CALL = 15
OUTAGE_LIMIT = 600.0  # seconds without a usable answer before a run stops (as submit)
SERVER_ERROR_TRIES = 3  # HTTP 500 for one record this many times in a row: it is failed
NOT_CONFIRMED = "Not confirmed:"


class DisposalClient(DueClient, Protocol):
    """What a disposal needs of OpusClient (a fake in unit tests)."""

    def destroy(self, row_keys: Sequence[str]) -> DestroyResult: ...


# -- the destroy run ---------------------------------------------------------------------------


class DestroyRun:
    """Marks records destroyed through `client`, journalled in `journal`, audited in `audit`.

    `clock` measures the outage limit; pauses between attempts grow from `pause` to
    `max_pause` seconds, with jitter from `rng`, and are cut short by a cancel. With
    `retries`, the client's RetryPolicy, the outage limit also bounds each call's own
    retries.
    """

    def __init__(
        self,
        journal: Journal,
        audit: AuditLog,
        client: DisposalClient,
        tenant: Tenant,
        *,
        outage_limit: float = OUTAGE_LIMIT,
        pause: float = 1.0,
        max_pause: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        retries: RetryPolicy | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.journal = journal
        self.audit = audit
        self.client = client
        self.tenant = tenant
        self.outage_limit = outage_limit
        self.pause = pause
        self.max_pause = max_pause
        self.retries = retries
        self._clock = clock
        self._rng = rng

    # -- the three actions ---------------------------------------------------------------------

    def create(
        self,
        items: Sequence[DisposalItem],
        justification: str,
        *,
        operator_name: str = "",
        before: datetime | None = None,
        not_sent: Sequence[DisposalItem] = (),
        reason: str = "",
        reasons: Mapping[str, str] | None = None,
        organisation: str = "",
        input_path: Path | None = None,
        input_hash: str | None = None,
        certificate: Path | None = None,
    ) -> str:
        """Record a destroy run (held by this journal) and return its id; nothing is sent.

        `not_sent` are selected records left out: journalled as skipped with their reason
        in `reasons` (else `reason`), in the same transaction, so no crash can send them;
        the audit entry and the certificate list them. `certificate` is where the
        certificate goes (for resume)."""
        if not justification.strip():
            raise JobError("A disposal needs a justification: say why these records go.")
        options = {
            "justification": justification.strip(),
            "operatorName": operator_name.strip(),
            "before": before.isoformat() if before else "",
            "organisation": organisation.strip(),
            "tenant": self.tenant.as_json(),
            "certificate": str(certificate) if certificate else "",
        }
        every = [*items, *not_sent]
        return self.journal.create_run(
            "destroy",
            self.tenant.profile,
            ((item.row, item.key, item.payload()) for item in every),
            input_path=input_path,
            input_hash=input_hash,
            options=options,
            note=f"Destroy {len(items)} records",
            skipped={
                item.key: (reasons or {}).get(item.key) or reason or "Not sent."
                for item in not_sent
            },
        )

    def run(self, run_id: str, state: RunState, operator_name: str | None = None) -> DestroyOutcome:
        """The first action on a run just created by create()."""
        return self._act(run_id, state, operator_name, "run")

    def resume(
        self, run_id: str, state: RunState, operator_name: str | None = None
    ) -> DestroyOutcome:
        """Go on with an interrupted, cancelled or stopped run."""
        run_id = self._take(run_id)
        return self._act(run_id, state, operator_name, "resume")

    def retry_failed(
        self, run_id: str, state: RunState, operator_name: str | None = None
    ) -> DestroyOutcome:
        """Send the failed records again (and whatever was left to send)."""
        run_id = self._take(run_id)
        self.journal.retry_failed(run_id)
        return self._act(run_id, state, operator_name, "retry")

    def _take(self, run_id: str) -> str:
        info = self.journal.run(run_id)
        if info.kind != "destroy":
            raise JobError(f"Run {info.id} submitted records; it is not a disposal.")
        self._check_tenant(info)
        run_id = self.journal.mark_started(info.id)
        # Records in flight when the app died may have been destroyed: say so durably,
        # before anything else can happen to them.
        stranded = [item.key for item in self.journal.items(run_id, ["in_flight"])]
        self.journal.release(
            run_id,
            stranded,
            f"{NOT_CONFIRMED} the app stopped while this record was being sent. "
            "Sending it again tells whether it was destroyed.",
        )
        return run_id

    def _check_tenant(self, info: RunInfo) -> None:
        kept = info.options.get("tenant") or {}
        here = self.tenant.as_json()
        for field_name in ("api", "connection"):
            if kept.get(field_name) and kept[field_name] != here[field_name]:
                raise JobError(
                    f"Run {info.id} destroys records of the connection {kept.get('connection')} "
                    f"at {kept.get('api')}; use its profile ({info.profile}) to go on with it."
                )

    # -- one action ----------------------------------------------------------------------------

    def _act(
        self, run_id: str, state: RunState, operator_name: str | None, kind: str
    ) -> DestroyOutcome:
        """Send what is pending, then write the audit entry and end the run, however the
        sending ended. The service's and the audit log's errors come back in the outcome
        (`error`); anything else (the journal failing, a bug) is raised after that."""
        info = self.journal.run(run_id)
        who = info.options.get("operatorName", "") if operator_name is None else operator_name
        action = _Action(kind, run_id)
        action.reached = info.counts.ok + info.counts.failed > 0
        status: EndStatus = "stopped"
        note: str | None = None
        error: AppError | None = None
        counts = info.counts
        state.start(counts.total, stored=counts.ok, failed=counts.failed, skipped=counts.skipped)
        try:
            check = self.audit.verify()
            if not check.ok:
                raise AuditError(
                    f"The audit log {self.audit.path} is damaged, so nothing was sent to Opus: "
                    f"{check.reason} Keep the file for your records manager; `opus-desktop "
                    "audit verify` shows the same."
                )
            status, note = self._send_all(state, action)
        except (OpusError, AuditError) as exc:
            error, note = exc, exc.message
        except BaseException as exc:
            self._abandon(action, str(who), exc)
            raise
        self._release(action, None)  # refused before acting (sign-in, a wrong URL)
        entry: AuditEntry | None = None
        try:
            entry = self._write_audit(action, str(who))
        except AuditError as exc:
            error = error or exc
            note = note or exc.message
        finally:
            self.journal.mark_ended(run_id, status, note)
        state.set_status({"done": "Done", "cancelled": "Cancelled", "stopped": "Stopped"}[status])
        return replace(self.outcome(run_id, entry), error=error)

    def _abandon(self, action: _Action, operator_name: str, exc: BaseException) -> None:
        """After an error that is not the service's (the journal failing, a bug, a second
        Ctrl-C): whatever may have been sent is marked so, what can be audited is, and the
        run ends, as far as the journal still allows; the error itself is raised after."""
        steps: list[Callable[[], object]] = [
            lambda: self._release(
                action,
                f"{NOT_CONFIRMED} the run stopped on an error while this record was being "
                "sent. Sending it again tells.",
            ),
            lambda: self._write_audit(action, operator_name),
            lambda: self.journal.mark_ended(
                action.run_id,
                "cancelled" if isinstance(exc, KeyboardInterrupt) else "stopped",
                f"Stopped by an error: {exc!r}",
            ),
        ]
        for step in steps:
            try:
                step()
            except Exception:
                log.exception("run %s: cleaning up after an error failed", action.run_id)

    def _send_all(self, state: RunState, action: _Action) -> tuple[EndStatus, str | None]:
        """Claim, send and journal batches until none is left, a cancel, or an outage."""
        if self.retries is None:
            return self._send_batches(state, action)
        stop_listening = self.retries.listen(
            _deaf,
            patience=self.outage_limit,
            hopeless=lambda kind: not action.reached and kind in FIRST_CONTACT,
        )
        try:
            return self._send_batches(state, action)
        finally:
            stop_listening()

    def _send_batches(self, state: RunState, action: _Action) -> tuple[EndStatus, str | None]:
        outage_since: float | None = None
        failures = 0
        while True:
            if state.cancel_requested:
                return "cancelled", "Cancelled."
            batch = self.journal.claim(action.run_id, MAX_PER_CALL)
            if not batch:
                return "done", None
            action.in_flight = [item.key for item in batch]
            done = state.progress().done
            state.set_status(f"Marking records {done + 1} to {done + len(batch)} destroyed")
            trouble = self._deliver(batch, state, action)
            if trouble is None:
                outage_since, failures = None, 0
                continue
            now = self._clock()
            outage_since = now if outage_since is None else outage_since
            if now - outage_since >= self.outage_limit:
                raise ServiceUnavailable(
                    f"Opus gave no answer for {now - outage_since:.0f} seconds, so the run "
                    f"stopped. The last attempt: {trouble.message} Every record's state is in "
                    "the journal; resume the run when the service is back."
                )
            wait = exponential(failures, self.pause, self.max_pause, self._rng, floor=0.1)
            failures += 1
            state.set_status(f"No answer from Opus; trying again in {wait:.0f} s")
            if state.wait(wait):
                return "cancelled", "Cancelled while Opus gave no answer."

    def _deliver(self, batch: list[Item], state: RunState, action: _Action) -> OpusError | None:
        """Send one claimed batch, split when refused; returns the error that left records
        without an answer (they are put back to pending), or None."""
        parts = [batch]
        while parts:
            part = parts.pop()
            keys = [item.key for item in part]
            try:
                result = self.client.destroy(keys)
                action.reached, action.bad_replies = True, 0
            except (RequestRejected, InvalidRequest) as exc:
                action.reached = True
                if len(part) > 1:  # one bad key must not sink the others
                    parts.extend(reversed(_halves(part)))
                    continue
                reason = getattr(exc, "service_message", "") or exc.message
                self._finish({}, {keys[0]: reason}, state, action, exc.message)
                continue
            except ServerError as exc:
                action.reached = True
                action.unsure.update(keys)  # a failing service may have done part of it
                if len(part) > 1:
                    parts.extend(reversed(_halves(part)))
                    continue
                tries = action.server_errors[keys[0]] = action.server_errors.get(keys[0], 0) + 1
                if tries < SERVER_ERROR_TRIES:
                    parts.append(part)
                    state.wait(self.pause)
                    continue
                said = exc.service_message or exc.message
                failed = {
                    keys[0]: f"{NOT_CONFIRMED} Opus failed on this record {tries} times "
                    f"({said}). Retry to find out whether it was destroyed."
                }
                self._finish({}, failed, state, action, exc.message)
                continue
            except OpusError as exc:
                if not exc.kind.passes:  # sign-in, an untrusted server, the wrong address
                    raise
                if exc.kind is Failure.BAD_REPLY:
                    said = f"Opus's answer could not be read ({exc.message})."
                else:
                    said = f"the call may have reached Opus before it failed ({exc.message})."
                self._release(action, f"{NOT_CONFIRMED} {said} Sending it again tells.")
                return self._stops(exc, action)
            self._record(part, result, state, action)
        return None

    def _stops(self, exc: OpusError, action: _Action) -> OpusError:
        """Raise what stops the run at once: a wait asked for beyond the outage limit;
        before Opus ever answered the run, an address where nothing (or no API) answers;
        a few replies in a row that are not the API's. Else `exc`, to be tried again until
        the outage limit."""
        asked = getattr(exc, "asked", None)
        if isinstance(asked, int | float) and asked > self.outage_limit:
            raise ServiceUnavailable(
                f"{exc.message} The run stopped; every record's state is in the journal: "
                "resume it later.",
                getattr(exc, "status", None),
                exc.kind,
                asked=asked,
            )
        if not action.reached and exc.kind in FIRST_CONTACT:
            raise exc
        if exc.kind is Failure.BAD_REPLY:
            action.bad_replies += 1
            if action.bad_replies >= BAD_REPLY_TRIES:
                raise ProtocolError(
                    f"{exc.message} That is {action.bad_replies} such replies in a row, so the "
                    "run stopped; every record's state is in the journal: resume the run once "
                    "Opus answers as the API should.",
                    getattr(exc, "status", None),
                )
        return exc

    def _release(self, action: _Action, message: str | None) -> None:
        """Put what is still in flight back to pending (with `message` if it may have been
        sent: see NOT_CONFIRMED)."""
        if action.in_flight:
            self.journal.release(action.run_id, action.in_flight, message)
        action.in_flight = []

    def _record(
        self, part: list[Item], result: DestroyResult, state: RunState, action: _Action
    ) -> None:
        ok: dict[str, str] = {}
        failed: dict[str, str] = {}
        unsure = ""
        if result.unmatched:
            unsure = (
                f"{NOT_CONFIRMED} Opus reported failures without naming the records "
                f"({'; '.join(result.unmatched)}). Retry to find out whether this record "
                "was destroyed."
            )
        doubtful = set(result.doubtful)
        for item in part:
            if item.key in result.failed:
                reason = result.failed[item.key]
                again = item.key in doubtful or item.key in action.unsure or _maybe_sent(item)
                if reason_kind(reason) == "already destroyed" and again:
                    ok[item.key] = (
                        f"Opus answered: {reason} An earlier sending of this run that got no "
                        "answer destroyed it."
                    )
                else:
                    failed[item.key] = reason
            elif item.key in result.destroyed:
                if unsure:
                    failed[item.key] = unsure
                else:
                    ok[item.key] = ""
            else:  # a reply that misreports: the record must still end somewhere
                failed[item.key] = unsure or (
                    f"{NOT_CONFIRMED} Opus's answer did not mention this record. Retry to "
                    "find out whether it was destroyed."
                )
        self._finish(ok, failed, state, action, result.message)

    def _finish(
        self,
        ok: dict[str, str],
        failed: dict[str, str],
        state: RunState,
        action: _Action,
        message: str,
    ) -> None:
        self.journal.finish(action.run_id, ok=list(ok), failed=failed)
        action.answered.update(ok)
        action.answered.update(failed)
        action.notes.update((k, v) for k, v in ok.items() if v)
        if message and message not in action.messages and len(action.messages) < 20:
            action.messages.append(message)
        action.in_flight = [k for k in action.in_flight if k not in ok and k not in failed]
        state.batch_done(BatchResult(ok=tuple(ok), failed=failed, message=message))

    # -- the audit entry -----------------------------------------------------------------------

    def _write_audit(self, action: _Action, operator_name: str) -> AuditEntry | None:
        """Append the action's entry (when there is anything to say) and anchor it."""
        info = self.journal.run(action.run_id)
        previous = _audited(self.audit, action.run_id)
        # Every answer got now, and any the log does not hold yet (records left out,
        # answers an interrupted action got but never wrote).
        records = [
            DisposedRecord(
                r.key,
                r.name,
                r.classification,
                r.due,
                r.outcome,
                action.notes.get(r.key, r.message),
            )
            for r in current_answers(self.journal, info)
            if r.outcome != PENDING
            and (r.key in action.answered or not _same(previous.get(r.key), r))
        ]
        if not records:
            return None
        body = destroy_entry(
            run_id=action.run_id,
            profile=self.tenant.profile,
            identity_url=self.tenant.identity_url,
            api_url=self.tenant.api_url,
            connection_id=self.tenant.connection_id,
            justification=str(info.options.get("justification", "")),
            records=records,
            operator_name=operator_name,
            service_message=" | ".join(action.messages),
        )
        body["part"] = action.kind
        body["recovered"] = [
            r.key for r in records if r.key not in action.answered and r.outcome != NOT_SENT
        ]
        entry = self.audit.append(body)
        self.journal.record_audit(action.run_id, entry.hash)
        return entry

    # -- reading a run -------------------------------------------------------------------------

    def outcome(self, run_id: str, entry: AuditEntry | None = None) -> DestroyOutcome:
        return destroy_outcome(self.journal, self.audit, run_id, entry)


def finished(journal: Journal, audit: AuditLog, run_id: str, failed_only: bool = False) -> bool:
    """Whether resuming (`failed_only`: retrying) the run would do nothing: it ended,
    nothing is left to send (no failed record either, for a retry), and the audit log
    holds every answer. Reads the journal and the log only: nothing is sent."""
    info = journal.run(run_id)
    if info.kind != "destroy":
        raise JobError(f"Run {info.id} submitted records; it is not a disposal.")
    counts = info.counts
    if info.status not in ("done", "cancelled", "stopped") or counts.remaining:
        return False
    if failed_only and counts.failed:
        return False
    previous = _audited(audit, info.id)
    return all(_same(previous.get(r.key), r) for r in current_answers(journal, info))


def _audited(audit: AuditLog, run_id: str) -> dict[str, tuple[str, str]]:
    """Each key's last answer in the run's audit entries: (outcome, message)."""
    answers: dict[str, tuple[str, str]] = {}
    for entry in run_entries(audit, run_id):
        for key, answer in (entry.entry.get("answers") or {}).items():
            if isinstance(answer, dict):
                answers[key] = (str(answer.get("outcome", "")), str(answer.get("message", "")))
    return answers


@dataclass
class _Action:
    kind: str  # "run", "resume" or "retry"
    run_id: str
    in_flight: list[str] = field(default_factory=list)
    answered: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # why a failure counts as destroyed
    messages: list[str] = field(default_factory=list)
    unsure: set[str] = field(default_factory=set)  # sent in a call that failed on the way
    server_errors: dict[str, int] = field(default_factory=dict)
    reached: bool = False  # Opus answered this run (now or before it was resumed)
    bad_replies: int = 0  # replies that were not the API's, in a row


def _halves(part: list[Item]) -> list[list[Item]]:
    middle = len(part) // 2
    return [part[:middle], part[middle:]]


def _maybe_sent(item: Item) -> bool:
    """Whether an earlier sending of this record may have reached Opus without an answer.

    The NOT_CONFIRMED message says so; a second attempt with no message at all means the
    first one ended without any answer (a run resumed through Journal.prepare_resume)."""
    return item.message.startswith(NOT_CONFIRMED) or (item.attempts > 1 and not item.message)


def _same(audited: tuple[str, str] | None, record: DisposedRecord) -> bool:
    if audited is None or audited[0] != record.outcome:
        return False
    return record.outcome == DESTROYED or audited[1] == record.message


def _deaf(kind: Failure, status: int | None, delay: float) -> None:
    """A destroy run sends one call at a time: the client's waits need no answer, only
    the patience the run listens with."""
