"""Disposal: the records due before a date, and marking the approved ones destroyed.

Due records
    listing = fetch_due(client, before, per_page=100, state=state, template=template)
    listing.records          # DueRecord: row key, name, classification, due date, all columns

    Pages follow the continuation token until it ends; `state` reports each page (loaded
    records count as done) and a cancel stops after the page under way, leaving
    `listing.next_start` to go on from. `due_pages` yields one page at a time ("load more").
    Items are normalised to {internal name: display string}, whether the service keyed
    them by internal or by display name.

Destroy run
    runner = DestroyRun(journal, audit, client, tenant)
    run_id = runner.create(items, justification, operator_name="Jane", not_sent=...)
    outcome = runner.run(run_id, state)             # the first action
    outcome = runner.resume(run_id, state)          # after a kill, cancel or outage
    outcome = runner.retry_failed(run_id, state)    # the failed records sent again

    Journalled like a submit run: each call of at most 15 row keys is claimed (committed)
    before it is sent and finished after, so a killed run resumes where it stopped and a
    destroyed record is never sent again. A record's payload keeps its name,
    classification and due date for the audit log and the certificate. Records left out
    (not due) are kept in the run's options with the reason, never as items, so no crash
    can send them.

    Marking destroyed is not idempotent: a record the service destroyed before the app
    heard back is "already destroyed" when sent again. So a record that may have been
    sent without an answer carries a message starting with NOT_CONFIRMED: set when a
    call failed after it may have reached the service, when resume() finds records that
    were in flight when the app died, and when a reply reported failures without naming
    the records. If the service then answers "already destroyed" for such a record, it
    counts as destroyed by this run. After a definite answer (a refusal), "already
    destroyed" stays a failure: someone else destroyed it.

    The outage habit is submit's: a call that gets no usable answer is put back and tried
    again with growing pauses; once the service has been unreachable for `outage_limit`
    seconds the run stops cleanly ("stopped"), everything journalled, to be resumed.

Audit: one entry per action (the first run, each resume, each retry), appended when the
action ends however it ends (done, cancelled, stopped or an error). It lists every record
whose answer is not yet in the log: those answered during the action, the records left
out (first action), and answers that an interrupted earlier action got but never wrote
(named in "recovered"). So every key's answer ends up in the log exactly once per change.
The entry's hash then goes to the journal (record_audit), which anchors the chain. The
log must verify before anything is sent: no disposal without its audit entry.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from opus_desktop.core.datetimes import DEFAULT_FORMAT, parse_with_offset
from opus_desktop.core.errors import SheetError
from opus_desktop.core.schema import BUILT_INS, ROW_KEY, Template, decode_internal_name
from opus_desktop.core.sheets import CellValue, read_sheet
from opus_desktop.jobs.audit import AuditEntry, AuditLog, DisposedRecord, destroy_entry
from opus_desktop.jobs.errors import AuditError, JobError
from opus_desktop.jobs.journal import EndStatus, Item, Journal, RunInfo
from opus_desktop.jobs.state import BatchResult, RunState
from opus_desktop.opus.errors import (
    AuthError,
    ProtocolError,
    RequestRejected,
    ServiceUnavailable,
)
from opus_desktop.opus.protocols import DestroyResult, DuePage

MAX_PER_CALL = 15
MAX_PER_PAGE = 100
DUE_DATE = "disposalDueDate"
DUE_DATE_HEADER = "Disposal due date"
NAME, CLASSIFICATION = "leafName", "termFullPath"
OUTAGE_LIMIT = 300.0  # seconds without a usable answer before a run stops
NOT_CONFIRMED = "Not confirmed:"

DESTROYED, FAILED, NOT_SENT, PENDING = "destroyed", "failed", "not sent", "pending"

# Opus's reasons for refusing a record, as the records officer should read them.
REASONS = (
    ("already destroyed", ("already destroyed", "already been destroyed", "already disposed")),
    ("not found", ("not found", "does not exist", "no record", "unknown")),
    ("awaiting approval", ("awaiting approval", "pending approval", "awaiting")),
    ("rejected", ("rejected",)),
    ("not due", ("not due", "not yet due")),
)


def reason_kind(message: str) -> str:
    """Which of Opus's refusals a message is: "already destroyed", "not found", "awaiting
    approval", "rejected", "not due", or "other"."""
    text = message.casefold()
    for kind, phrases in REASONS:
        if any(phrase in text for phrase in phrases):
            return kind
    return "other"


class DisposalClient(Protocol):
    """What a disposal needs of OpusClient (a fake in unit tests)."""

    def due_page(
        self, before: datetime, start: str | None = None, per_page: int = MAX_PER_PAGE
    ) -> DuePage: ...

    def destroy(self, row_keys: Sequence[str]) -> DestroyResult: ...


def _normal(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).casefold()


# -- due records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueRecord:
    """One record due for disposal, as the service listed it."""

    row_key: str
    name: str
    classification: str
    due: str  # the disposal due date as the service wrote it
    due_at: datetime | None  # the same, read (naive: as the service wrote it)
    values: dict[str, str] = field(default_factory=dict)  # internal name -> display string

    def item(self, row: int | None = None) -> DisposalItem:
        return DisposalItem(self.row_key, self.name, self.classification, self.due, row)


@dataclass
class DueList:
    records: list[DueRecord]
    next_start: str | None  # where to go on from, when cut short by a cancel or a limit
    pages: int

    @property
    def complete(self) -> bool:
        return self.next_start is None


def _column_names(template: Template | None) -> dict[str, str]:
    """Normalised internal and display names -> internal name."""
    names: dict[str, str] = {}
    for internal, builtin in BUILT_INS.items():
        names[_normal(builtin.display_name)] = internal
    for column in template or ():
        names[_normal(column.display_name)] = column.internal_name
    for internal in [*BUILT_INS, *(template.internal_names if template else [])]:
        names[_normal(internal)] = internal
    names[_normal(DUE_DATE)] = names[_normal(DUE_DATE_HEADER)] = DUE_DATE
    return names


def normalise_due(
    items: Iterable[Mapping[str, str]],
    template: Template | None = None,
    date_format: str = DEFAULT_FORMAT,
) -> list[DueRecord]:
    """Service items -> DueRecords; items without a row key are left out (nothing to act on)."""
    names = _column_names(template)
    exact = set(BUILT_INS) | set(template.internal_names if template else ()) | {DUE_DATE}
    records: list[DueRecord] = []
    for item in items:
        values: dict[str, str] = {}
        for key, value in item.items():
            internal = key if key in exact else names.get(_normal(key), key)
            values[internal] = str(value).strip()
        key = values.get(ROW_KEY, "")
        if not key:
            continue
        due = values.pop(DUE_DATE, "")
        records.append(
            DueRecord(
                key,
                values.get(NAME, ""),
                values.get(CLASSIFICATION, ""),
                due,
                _read_time(due, date_format),
                values,
            )
        )
    return records


def _read_time(text: str, date_format: str) -> datetime | None:
    if not text:
        return None
    try:
        value, offset = parse_with_offset(text, date_format)
    except ValueError:
        return None
    return value if offset is None else value - offset


@dataclass(frozen=True)
class DueBatch:
    """One page of due records."""

    number: int  # from 1
    records: list[DueRecord]
    next_start: str | None
    message: str


def due_pages(
    client: DisposalClient,
    before: datetime,
    per_page: int = MAX_PER_PAGE,
    start: str | None = None,
    template: Template | None = None,
    date_format: str = DEFAULT_FORMAT,
) -> Iterator[DueBatch]:
    """The due records page by page, from `start` (None: the first page) to the last."""
    number = 0
    while True:
        page = client.due_page(before, start, per_page)
        number += 1
        records = normalise_due(page.items, template, date_format)
        yield DueBatch(number, records, page.next_start, page.message)
        if not page.next_start or not page.items:
            return
        start = page.next_start


def fetch_due(
    client: DisposalClient,
    before: datetime,
    *,
    per_page: int = MAX_PER_PAGE,
    state: RunState | None = None,
    template: Template | None = None,
    date_format: str = DEFAULT_FORMAT,
    start: str | None = None,
    max_pages: int | None = None,
    on_page: Callable[[DueBatch], None] | None = None,
) -> DueList:
    """Every record due before `before` (or up to `max_pages` pages), following the token.

    A row key listed twice (the list moved between pages) is kept once.
    """
    state = state or RunState()
    state.start(0)
    records: list[DueRecord] = []
    seen: set[str] = set()
    pages = 0
    next_start = start
    for batch in due_pages(client, before, per_page, start, template, date_format):
        pages += 1
        fresh = [r for r in batch.records if r.row_key not in seen]
        seen.update(r.row_key for r in fresh)
        records.extend(fresh)
        next_start = batch.next_start or None
        state.set_total(len(records))
        state.add(stored=len(fresh))
        state.set_status(f"Page {pages}: {len(records)} due records so far")
        if on_page is not None:
            on_page(DueBatch(batch.number, fresh, batch.next_start, batch.message))
        if next_start is None:
            break
        if state.cancel_requested or (max_pages is not None and pages >= max_pages):
            break
    return DueList(records, next_start, pages)


def due_table(
    records: Sequence[DueRecord], template: Template | None = None
) -> tuple[list[str], list[list[str]]]:
    """Headers and rows for a sign-off sheet: "Row key", every column's display name in
    template order (then any other column the service sent), then "Disposal due date"."""
    columns = list(template.internal_names) if template else [ROW_KEY, NAME, CLASSIFICATION]
    if ROW_KEY in columns:
        columns.remove(ROW_KEY)
    columns.insert(0, ROW_KEY)
    for record in records:
        columns.extend(name for name in record.values if name not in columns)
    display = {c.internal_name: c.display_name for c in template or ()}
    headers = [display.get(c) or decode_internal_name(c) for c in columns] + [DUE_DATE_HEADER]
    rows = [[r.values.get(c, "") for c in columns] + [r.due] for r in records]
    return headers, rows


# -- the officer's selection -------------------------------------------------------------------


@dataclass(frozen=True)
class DisposalItem:
    """A record to mark destroyed, with what the audit log and certificate show of it."""

    key: str
    name: str = ""
    classification: str = ""
    due: str = ""
    row: int | None = None  # its row in the signed-off sheet, if it came from one

    def payload(self) -> dict[str, str]:
        return {
            "rowKey": self.key,
            "name": self.name,
            "classification": self.classification,
            "dueDate": self.due,
        }


@dataclass
class Selection:
    """The row keys of a signed-off sheet, in sheet order, each once."""

    path: Path
    items: list[DisposalItem]
    repeated: dict[str, list[int]]  # key -> the rows where it appears again

    @property
    def keys(self) -> list[str]:
        return [item.key for item in self.items]


_KEY_HEADERS = {_normal("Row key"), _normal(ROW_KEY)}


def read_selection(path: Path, sheet: str | None = None) -> Selection:
    """The row keys in the column headed "Row key" (or rowKey) of a sheet such as the one
    `due --out` writes; name, classification and due date too where the sheet has them."""
    data = read_sheet(Path(path), sheet)
    normal = [_normal(h) for h in data.headers]
    found = [i for i, h in enumerate(normal) if h in _KEY_HEADERS]
    if not found:
        shown = ", ".join(f'"{h}"' for h in data.headers if h) or "none"
        raise SheetError(
            f'{data.source} has no column headed "Row key" (or rowKey), so it does not say '
            f"which records to destroy. Its headers are: {shown}."
        )
    column = found[0]

    def find(*names: str) -> int | None:
        wanted = {_normal(n) for n in names}
        return next((i for i, h in enumerate(normal) if h in wanted), None)

    extra = (
        find("Name", NAME),
        find("Classification", CLASSIFICATION),
        find(DUE_DATE_HEADER, DUE_DATE, "Due date"),
    )
    items: list[DisposalItem] = []
    first: dict[str, int] = {}
    repeated: dict[str, list[int]] = {}
    for row in data.rows:
        key = _cell_text(row.cells[column])
        if not key:
            continue
        if key in first:
            repeated.setdefault(key, []).append(row.number)
            continue
        first[key] = row.number
        name, classification, due = (
            _cell_text(row.cells[i]) if i is not None else "" for i in extra
        )
        items.append(DisposalItem(key, name, classification, due, row.number))
    if not items:
        raise SheetError(
            f'{data.source} lists no row keys: the column "{data.headers[column]}" is empty.'
        )
    return Selection(Path(path), items, repeated)


def _cell_text(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(" ")
    return str(value).strip()


@dataclass
class DisposalPlan:
    """What a destroy will send, given a fresh due list."""

    send: list[DisposalItem]
    not_due: list[DisposalItem]  # selected but not in the due list

    def not_sent(self, include_not_due: bool) -> dict[str, DisposalItem]:
        return {} if include_not_due else {item.key: item for item in self.not_due}


def plan_disposal(
    selected: Sequence[DisposalItem], due: Sequence[DueRecord], include_not_due: bool = False
) -> DisposalPlan:
    """Selected keys that are due (described as the service lists them now) and those that
    are not; with `include_not_due` the latter are sent too (Opus then says why not)."""
    listed = {record.row_key: record for record in due}
    send: list[DisposalItem] = []
    not_due: list[DisposalItem] = []
    for item in selected:
        record = listed.get(item.key)
        if record is not None:
            send.append(record.item(item.row))
        else:
            not_due.append(item)
            if include_not_due:
                send.append(item)
    return DisposalPlan(send, not_due)


def not_due_reason(before: datetime) -> str:
    return (
        f"Not in the list of records due for disposal before {_when(before)}, so it was not "
        "sent (--include-not-due sends such records anyway)."
    )


def _when(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M")


# -- the destroy run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    """Where records are destroyed: kept in the run and in every audit entry."""

    profile: str
    identity_url: str
    api_url: str
    connection_id: str

    def as_json(self) -> dict[str, str]:
        return {
            "profile": self.profile,
            "identity": self.identity_url,
            "api": self.api_url,
            "connection": self.connection_id,
        }


@dataclass(frozen=True)
class DestroyOutcome:
    """A destroy run as it stands: every record with its outcome, and its audit entries."""

    run: RunInfo
    records: list[DisposedRecord]  # every record of the run, in order; left-out ones last
    justification: str
    before: str  # the due-before date of the list the records were chosen from, ISO
    organisation: str
    entries: list[AuditEntry]  # this run's audit entries, oldest first
    entry: AuditEntry | None = None  # the one the last action wrote, if it wrote one

    def _with(self, outcome: str) -> list[DisposedRecord]:
        return [r for r in self.records if r.outcome == outcome]

    @property
    def destroyed(self) -> list[DisposedRecord]:
        return self._with(DESTROYED)

    @property
    def failed(self) -> list[DisposedRecord]:
        return self._with(FAILED)

    @property
    def not_sent(self) -> list[DisposedRecord]:
        return self._with(NOT_SENT)

    @property
    def pending(self) -> list[DisposedRecord]:
        return self._with(PENDING)

    @property
    def all_destroyed(self) -> bool:
        return bool(self.records) and len(self.destroyed) == len(self.records)

    @property
    def operators(self) -> list[dict[str, str]]:
        """Who acted, once each, in order (the OS account and the typed name)."""
        found: list[dict[str, str]] = []
        for entry in self.entries:
            who = entry.entry.get("operator")
            if isinstance(who, dict) and who not in found:
                found.append({str(k): str(v) for k, v in who.items()})
        return found


class DestroyRun:
    """Marks records destroyed through `client`, journalled in `journal`, audited in `audit`."""

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
    ) -> None:
        self.journal = journal
        self.audit = audit
        self.client = client
        self.tenant = tenant
        self.outage_limit = outage_limit
        self.pause = pause
        self.max_pause = max_pause
        self._clock = clock

    # -- the three actions ---------------------------------------------------------------------

    def create(
        self,
        items: Sequence[DisposalItem],
        justification: str,
        *,
        operator_name: str = "",
        before: datetime | None = None,
        not_sent: Mapping[str, DisposalItem] | None = None,
        reason: str = "",
        organisation: str = "",
        input_path: Path | None = None,
        input_hash: str | None = None,
    ) -> str:
        """Record a destroy run (held by this journal) and return its id; nothing is sent.

        `not_sent` are selected records left out, each with `reason`, listed in the audit
        entry and on the certificate."""
        if not justification.strip():
            raise JobError("A disposal needs a justification: say why these records go.")
        options = {
            "justification": justification.strip(),
            "operatorName": operator_name.strip(),
            "before": before.isoformat() if before else "",
            "organisation": organisation.strip(),
            "tenant": self.tenant.as_json(),
            "notSent": [
                {**item.payload(), "row": item.row, "reason": reason}
                for item in (not_sent or {}).values()
            ],
        }
        return self.journal.create_run(
            "destroy",
            self.tenant.profile,
            ((item.row, item.key, item.payload()) for item in items),
            input_path=input_path,
            input_hash=input_hash,
            options=options,
            note=f"Destroy {len(items)} records",
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
        info = self.journal.run(run_id)
        who = info.options.get("operatorName", "") if operator_name is None else operator_name
        check = self.audit.verify()
        if not check.ok:
            self.journal.mark_ended(run_id, "stopped", "The audit log is damaged.")
            raise AuditError(
                f"The audit log {self.audit.path} is damaged, so nothing was destroyed: "
                f"{check.reason} Keep the file for your records manager; `opus-desktop audit "
                "verify` shows the same."
            )
        counts = info.counts
        state.start(counts.total, stored=counts.ok, failed=counts.failed, skipped=counts.skipped)
        action = _Action(kind, run_id)
        status: EndStatus = "stopped"
        note = ""
        failed = True
        try:
            status, note = self._send_all(run_id, state, action)
            failed = False
        except BaseException as exc:
            note = getattr(exc, "message", "") or f"Stopped by an error: {exc}"
            raise
        finally:
            try:
                if failed:
                    self._release(
                        action,
                        f"{NOT_CONFIRMED} the run stopped on an error while this record was "
                        "being sent. Sending it again tells.",
                    )
                # After an error the entry is still written if it can be; its own failure
                # must not hide the error that stopped the run.
                entry = self._write_audit(run_id, action, who or "", raise_errors=not failed)
            finally:
                self.journal.mark_ended(run_id, status, note or None)
        return self.outcome(run_id, entry)

    def _send_all(
        self, run_id: str, state: RunState, action: _Action
    ) -> tuple[EndStatus, str]:
        outage_since: float | None = None
        failures = 0
        while True:
            if state.cancel_requested:
                return "cancelled", "Cancelled."
            batch = self.journal.claim(run_id, MAX_PER_CALL)
            if not batch:
                return "done", ""
            action.in_flight = [item.key for item in batch]
            done = state.progress().done
            state.set_status(f"Marking records {done + 1} to {done + len(batch)} destroyed")
            try:
                self._exchange(run_id, batch, state, action)
            except AuthError:
                self.journal.release(run_id, action.in_flight)  # refused before anything
                action.in_flight = []
                raise
            except ProtocolError as exc:
                if exc.status in (404, 405):  # nothing there handled it
                    self.journal.release(run_id, action.in_flight)
                else:
                    self._release(action, f"{NOT_CONFIRMED} Opus's answer could not be read "
                                  f"({exc.message}). Sending it again tells.")
                action.in_flight = []
                raise
            except ServiceUnavailable as exc:
                self._release(action, f"{NOT_CONFIRMED} the call may have reached Opus before "
                              f"it failed ({exc.message}). Sending it again tells.")
                now = self._clock()
                outage_since = now if outage_since is None else outage_since
                if now - outage_since >= self.outage_limit:
                    return "stopped", (
                        f"Stopped: Opus could not be reached for {now - outage_since:.0f} "
                        f"seconds ({exc.message}). Resume the run when it is back."
                    )
                wait = min(self.max_pause, self.pause * 2**failures)
                failures += 1
                state.set_status(f"Opus cannot be reached; trying again in {wait:.0f} s")
                if state.wait(wait):
                    return "cancelled", "Cancelled while Opus could not be reached."
                continue
            action.in_flight = []
            outage_since, failures = None, 0

    def _release(self, action: _Action, message: str) -> None:
        if action.in_flight:
            self.journal.release(action.run_id, action.in_flight, message)
        action.in_flight = []

    def _exchange(
        self, run_id: str, batch: list[Item], state: RunState, action: _Action
    ) -> None:
        keys = [item.key for item in batch]
        try:
            result = self.client.destroy(keys)
        except RequestRejected as exc:
            if len(batch) == 1:
                reason = exc.service_message or exc.message
                self._finish(run_id, {}, {keys[0]: reason}, state, action, reason)
                return
            # One bad key must not sink the others: send them one at a time.
            for item in batch:
                self._exchange(run_id, [item], state, action)
            return
        self._record(run_id, batch, result, state, action)

    def _record(
        self,
        run_id: str,
        batch: list[Item],
        result: DestroyResult,
        state: RunState,
        action: _Action,
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
        for item in batch:
            if item.key in result.failed:
                reason = result.failed[item.key]
                again = item.key in doubtful or _maybe_sent(item)
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
        self._finish(run_id, ok, failed, state, action, result.message)

    def _finish(
        self,
        run_id: str,
        ok: dict[str, str],
        failed: dict[str, str],
        state: RunState,
        action: _Action,
        message: str,
    ) -> None:
        self.journal.finish(run_id, ok=list(ok), failed=failed)
        action.answered.update(ok)
        action.answered.update(failed)
        action.notes.update((k, v) for k, v in ok.items() if v)
        if message and message not in action.messages and len(action.messages) < 20:
            action.messages.append(message)
        action.in_flight = [k for k in action.in_flight if k not in ok and k not in failed]
        state.batch_done(BatchResult(ok=tuple(ok), failed=failed, message=message))

    # -- the audit entry -----------------------------------------------------------------------

    def _write_audit(
        self, run_id: str, action: _Action, operator_name: str, raise_errors: bool
    ) -> AuditEntry | None:
        try:
            info = self.journal.run(run_id)
            current = _current_answers(self.journal, info)
            previous = self._audited(run_id)
            # Every answer got now, and any the log does not hold yet (records left out,
            # answers an interrupted action got but never wrote).
            records = [
                record
                for record in current
                if record.outcome != PENDING
                and (record.key in action.answered or not _same(previous.get(record.key), record))
            ]
            if not records:
                return None
            records = [
                DisposedRecord(
                    r.key, r.name, r.classification, r.due, r.outcome,
                    action.notes.get(r.key, r.message),
                )
                for r in records
            ]
            body = destroy_entry(
                run_id=run_id,
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
            self.journal.record_audit(run_id, entry.hash)
            return entry
        except AuditError:
            if raise_errors:
                raise
            return None

    def _audited(self, run_id: str) -> dict[str, tuple[str, str]]:
        answers: dict[str, tuple[str, str]] = {}
        for entry in _run_entries(self.audit, run_id):
            for key, answer in (entry.entry.get("answers") or {}).items():
                if isinstance(answer, dict):
                    answers[key] = (str(answer.get("outcome", "")), str(answer.get("message", "")))
        return answers

    # -- reading a run -------------------------------------------------------------------------

    def outcome(self, run_id: str, entry: AuditEntry | None = None) -> DestroyOutcome:
        return destroy_outcome(self.journal, self.audit, run_id, entry)


@dataclass
class _Action:
    kind: str  # "run", "resume" or "retry"
    run_id: str
    in_flight: list[str] = field(default_factory=list)
    answered: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # why a failure counts as destroyed
    messages: list[str] = field(default_factory=list)


def _maybe_sent(item: Item) -> bool:
    """Whether an earlier sending of this record may have reached Opus without an answer.

    The NOT_CONFIRMED message says so; a second attempt with no message at all means the
    first one ended without any answer (a run resumed through Journal.prepare_resume)."""
    return item.message.startswith(NOT_CONFIRMED) or (item.attempts > 1 and not item.message)


def _same(audited: tuple[str, str] | None, record: DisposedRecord) -> bool:
    if audited is None or audited[0] != record.outcome:
        return False
    return record.outcome == DESTROYED or audited[1] == record.message


def _current_answers(journal: Journal, info: RunInfo) -> list[DisposedRecord]:
    outcomes = {"ok": DESTROYED, "failed": FAILED, "skipped": NOT_SENT}
    records: list[DisposedRecord] = []
    for item in journal.items(info.id):
        payload: dict[str, Any] = item.payload
        records.append(
            DisposedRecord(
                item.key,
                str(payload.get("name", "")),
                str(payload.get("classification", "")),
                str(payload.get("dueDate", "")),
                outcomes.get(item.state, PENDING),
                item.message,
            )
        )
    for left in info.options.get("notSent") or []:
        records.append(
            DisposedRecord(
                str(left.get("rowKey", "")),
                str(left.get("name", "")),
                str(left.get("classification", "")),
                str(left.get("dueDate", "")),
                NOT_SENT,
                str(left.get("reason", "")),
            )
        )
    return records


def _run_entries(audit: AuditLog, run_id: str) -> list[AuditEntry]:
    return [
        entry
        for entry in audit.entries()
        if entry.entry.get("run") == run_id and entry.entry.get("action") == "destroy"
    ]


def destroy_outcome(
    journal: Journal, audit: AuditLog, run_id: str, entry: AuditEntry | None = None
) -> DestroyOutcome:
    """A destroy run as the journal and the audit log hold it now."""
    info = journal.run(run_id)
    if info.kind != "destroy":
        raise JobError(f"Run {info.id} submitted records; it is not a disposal.")
    entries = _run_entries(audit, info.id)
    notes: dict[str, str] = {}
    for found in entries:
        for key, answer in (found.entry.get("answers") or {}).items():
            if isinstance(answer, dict) and answer.get("outcome") == DESTROYED:
                notes[key] = str(answer.get("message", ""))
    records = [
        DisposedRecord(r.key, r.name, r.classification, r.due, r.outcome, notes.get(r.key, ""))
        if r.outcome == DESTROYED
        else r
        for r in _current_answers(journal, info)
    ]
    return DestroyOutcome(
        run=info,
        records=records,
        justification=str(info.options.get("justification", "")),
        before=str(info.options.get("before", "")),
        organisation=str(info.options.get("organisation", "")),
        entries=entries,
        entry=entry,
    )
