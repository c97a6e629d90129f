"""The disposal use cases, as `due` / `destroy` and the Disposal tab both ask for them:
the due list page by page, a signed-off sheet, a destroy run and its certificate, a run
sent again, a run read back.

    connections = Connections()               # or Connections(ask=...) on a terminal
    listing = load_due(connections, LoadRequest(profile, password, before), state, on_page)
    plan = plan_signed_off(connections, profile, password, selection, due, before, state)
    result = destroy(connections, DestroyRequest(...), state, on_created)
    result = send_again(connections, profile, password, run_id, state)
    connections.close()                       # when the tab or the command is done

A run that has nothing left to do is not acted on again: send_again says so
(DestroyResult.finished_already) without signing in, and its certificate and manifest
are left as they are; a copy goes elsewhere only on request (`certificate=`).

Each function takes the RunState it is given (progress, cancel) and returns plain data.
`on_page` and `on_created` are called in the caller's thread (the tab's worker: it
passes a signal's emit, which Qt queues to the GUI thread).

One connection per profile is opened on first use and shared by the tasks, so "Load
more" does not sign in again for each page; it is closed when the profile changes (once
no task uses it any more) and when the caller closes it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from opus_desktop import settings as app_settings
from opus_desktop.core.reports import write_table
from opus_desktop.core.schema import Template
from opus_desktop.documents import DocumentError
from opus_desktop.jobs.audit import AuditLog
from opus_desktop.jobs.connect import Connection
from opus_desktop.jobs.disposal import DestroyRun, finished
from opus_desktop.jobs.disposal_outcome import (
    DestroyOutcome,
    Tenant,
    certificate_path,
    destroy_outcome,
    destroyed_earlier,
)
from opus_desktop.jobs.due import (
    DECISION_COLUMN,
    DESTROY,
    HORIZON,
    KEEP,
    MAX_PER_PAGE,
    DisposalItem,
    DisposalPlan,
    DueBatch,
    DueList,
    DueRecord,
    EarlierDisposal,
    Selection,
    due_table,
    fetch_due,
    find_due,
    plan_disposal,
    read_selection,
)
from opus_desktop.jobs.due_spool import DueSpool
from opus_desktop.jobs.errors import JobError
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.report import file_sha256
from opus_desktop.jobs.state import RunState
from opus_desktop.profiles import Profile, find_profile
from opus_desktop.usecases.connection import AskPassword, open_connection, tell_signed_in

log = logging.getLogger(__name__)

DUE_SHEET_TITLE = "Due records"  # as `opus-desktop due --out` writes it


class Connections:
    """The tab's open connection, shared by its tasks (thread-safe)."""

    def __init__(
        self,
        opener: Callable[[Profile, str | None], Connection] | None = None,
        *,
        ask: AskPassword | None = None,
    ) -> None:
        self._open = opener or (
            lambda profile, password: open_connection(profile, password=password, ask=ask)
        )
        self._lock = threading.Lock()
        self._profile: Profile | None = None
        self._connection: Connection | None = None
        self._users: dict[int, int] = {}  # id(connection) -> tasks using it
        self._retired: list[Connection] = []

    @contextlib.contextmanager
    def use(self, profile: Profile, password: str | None) -> Iterator[Connection]:
        """The open connection for `profile` (opened now when there is none)."""
        with self._lock:
            if self._connection is not None and self._profile is not profile:
                self._retire()
            if self._connection is None:
                self._connection = self._open(profile, password)
                self._profile = profile
            connection = self._connection
            self._users[id(connection)] = self._users.get(id(connection), 0) + 1
        try:
            yield connection
        finally:
            tell_signed_in(connection)
            with self._lock:
                left = self._users[id(connection)] = self._users[id(connection)] - 1
                if left == 0 and connection in self._retired:
                    self._retired.remove(connection)
                    del self._users[id(connection)]
                    _close(connection)

    def close(self) -> None:
        """Close the connection now, or as soon as the last task using it ends."""
        with self._lock:
            self._retire()

    def _retire(self) -> None:
        connection, self._connection, self._profile = self._connection, None, None
        if connection is None:
            return
        if self._users.get(id(connection), 0):
            self._retired.append(connection)
        else:
            self._users.pop(id(connection), None)
            _close(connection)


def _close(connection: Connection) -> None:
    try:
        connection.close()
    except Exception:  # closing must not hide what the task did
        log.exception("closing the connection failed")


# -- due records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadRequest:
    profile: Profile
    password: str | None
    before: datetime
    per_page: int = MAX_PER_PAGE
    start: str | None = None  # None: from the first page
    max_pages: int | None = None  # None: to the last page


def load_due(
    connections: Connections,
    request: LoadRequest,
    state: RunState,
    on_page: Callable[[DueBatch], None] | None = None,
    keep: bool = True,
) -> DueList:
    """Due records from `request.start`, page by page (each handed to `on_page`), until
    the last page, `max_pages`, or a cancel (after the page under way). Without `keep`,
    only `on_page` gets them (fetch_due)."""
    profile = request.profile
    with connections.use(profile, request.password) as connection:
        return fetch_due(
            connection.client,
            request.before,
            per_page=request.per_page,
            state=state,
            template=profile.template(),
            date_format=profile.date_format,
            start=request.start,
            max_pages=request.max_pages,
            on_page=on_page,
            keep=keep,
        )


@dataclass(frozen=True)
class SignOffRequest:
    """A signed-off sheet to check against the due list the tab has loaded."""

    profile: Profile
    password: str | None
    path: Path
    before: datetime  # the due list's date
    listed: Sequence[DueRecord]  # the due records loaded already
    rest: LoadRequest | None  # the pages still to load, if any
    audit_path: Path | None = None


@dataclass(frozen=True)
class SignedOff:
    """A signed-off sheet, the due records loaded to check it against, and the plan:
    which of its keys are due as signed off, and why the others are not (None when
    cancelled before it was made)."""

    selection: Selection
    more: DueList | None  # the pages loaded after the ones the tab had, if it had not all
    plan: DisposalPlan | None = None


def read_signed_off(
    connections: Connections,
    request: SignOffRequest,
    state: RunState,
    on_page: Callable[[DueBatch], None] | None = None,
) -> SignedOff:
    """Read a signed-off due list (SheetError for any other sheet: nothing is asked of
    Opus then); with `request.rest`, load the remaining due pages first, so that "not in
    the due list" means not due at all; then plan it (plan_signed_off)."""
    path = request.path
    state.set_status(f"Reading {path.name}")
    selection = read_selection(path)
    more = None
    if request.rest is not None and not state.cancel_requested:
        more = load_due(connections, request.rest, state, on_page)
    if state.cancel_requested or (more is not None and not more.complete):
        return SignedOff(selection, more)
    due = [*request.listed, *(more.records if more is not None else [])]
    plan = plan_signed_off(
        connections,
        request.profile,
        request.password,
        selection,
        due,
        request.before,
        state,
        audit_path=request.audit_path,
    )
    return SignedOff(selection, more, None if state.cancel_requested else plan)


def plan_signed_off(
    connections: Connections,
    profile: Profile,
    password: str | None,
    selection: Selection,
    due: Sequence[DueRecord],
    before: datetime,
    state: RunState,
    *,
    include_not_due: bool = False,
    audit_path: Path | None = None,
) -> DisposalPlan:
    """What to send of a signed-off list, given the records due before `before`: the
    keys due with the date they were signed off with; the others each with its reason.
    To tell them apart, the keys not in the due list are looked up in the audit log
    (destroyed by an earlier run) and then in Opus's list of records due at any date
    (not due yet, with the date), as far as needed to find them all."""
    listed = {record.row_key for record in due}
    missing = [item.key for item in selection.items if item.key not in listed]
    earlier: dict[str, EarlierDisposal] = {}
    later: dict[str, DueRecord] = {}
    if missing:
        with connections.use(profile, password) as connection:
            tenant = Tenant.of(profile, connection.client.connection_id)
            earlier = destroyed_earlier(AuditLog(audit_path), tenant, missing)
            rest = [key for key in missing if key not in earlier]
            if rest:
                state.set_status(f"Looking up {len(rest):,} keys that are not due")
                later = find_due(
                    connection.client,
                    rest,
                    before + HORIZON,
                    state=state,
                    template=profile.template(),
                    date_format=profile.date_format,
                )
    return plan_disposal(
        selection.items,
        due,
        include_not_due,
        before=before,
        later=later,
        destroyed=earlier,
        date_format=profile.date_format,
    )


def save_due(
    path: Path, connections: Connections, request: LoadRequest, state: RunState
) -> int | None:
    """`due --out`: the due list read page by page into a DueSpool on disk, then written
    from there as the sign-off sheet (export_due), so memory stays flat however many
    records are due. The number of rows; None when cancelled (nothing is written)."""
    with DueSpool() as spool:
        listing = load_due(connections, request, state, lambda b: spool.add(b.records), keep=False)
        if not listing.complete:
            return None
        return export_due(path, spool, request.profile.template(), state)


def export_due(
    path: Path, records: Iterable[DueRecord], template: Template | None, state: RunState
) -> int:
    """Write the sign-off sheet `due --out` writes: "Row key", the Decision (a drop-down of
    Destroy and Keep in an .xlsx), every column by display name, the disposal due date.
    Returns the number of rows."""
    state.set_status(f"Writing {path.name}")
    headers, rows = due_table(records, template)
    choices = {DECISION_COLUMN: (DESTROY, KEEP)}
    return write_table(path, headers, rows, DUE_SHEET_TITLE, choices=choices)


# -- marking destroyed -----------------------------------------------------------------------


@dataclass(frozen=True)
class DestroyRequest:
    profile: Profile
    password: str | None
    items: list[DisposalItem]
    justification: str
    operator_name: str
    before: datetime
    organisation: str = ""
    certificate: Path | None = None  # None: beside the input, else the data folder's
    not_sent: Sequence[DisposalItem] = ()  # selected but left out, with `reasons` or `reason`
    reason: str = ""
    reasons: Mapping[str, str] | None = None  # key -> why it was left out
    input_path: Path | None = None  # the signed-off sheet
    outage_limit: float | None = None  # None: the "Give up after" setting


@dataclass(frozen=True)
class DestroyResult:
    """A destroy action's outcome, and the certificate written after it (or, for a run
    that had nothing left to do, the one it has, untouched)."""

    outcome: DestroyOutcome
    certificate: Path | None  # None: nothing destroyed yet, or it could not be written
    manifest: Path | None
    document_error: str | None  # why the certificate could not be written
    pages: int = 0  # 0: not counted (a certificate left as it was)
    manifest_sha256: str = ""
    finished_already: bool = False  # nothing was left to do: nothing was sent
    written: bool = True  # the certificate and manifest were written by this call
    copy: Path | None = None  # a copy of the certificate, written on request
    copy_manifest: Path | None = None

    @property
    def run_id(self) -> str:
        return self.outcome.run.id


def destroy(
    connections: Connections,
    request: DestroyRequest,
    state: RunState,
    on_created: Callable[[str], None] | None = None,
    journal_path: Path | None = None,
    audit_path: Path | None = None,
) -> DestroyResult:
    """Journal a destroy run of `request.items` and send it, as `destroy --yes` does; then
    write the certificate of destruction and its manifest."""
    profile = request.profile
    with (
        connections.use(profile, request.password) as connection,
        Journal(journal_path) as journal,
    ):
        runner = _runner(journal, connection, profile, audit_path, request.outage_limit)
        path = request.input_path
        run_id = runner.create(
            request.items,
            request.justification,
            operator_name=request.operator_name,
            before=request.before,
            not_sent=request.not_sent,
            reason=request.reason,
            reasons=request.reasons,
            organisation=request.organisation,
            input_path=path.resolve() if path is not None else None,
            input_hash=file_sha256(path) if path is not None else None,
            certificate=request.certificate,
        )
        if on_created is not None:
            on_created(run_id)
        outcome = runner.run(run_id, state)
    return _with_documents(outcome, state)


def send_again(
    connections: Connections,
    profile: Profile,
    password: str | None,
    run_id: str,
    state: RunState,
    operator_name: str | None = None,
    journal_path: Path | None = None,
    audit_path: Path | None = None,
    *,
    failed_only: bool | None = None,
    outage_limit: float | None = None,
    announce: Callable[[int, int], None] | None = None,
    certificate: Path | None = None,
) -> DestroyResult:
    """Go on with a disposal run: its failed records sent again (`destroy --retry-failed`)
    or what it had left to send (`--resume`); with `failed_only` None, the failed ones
    when there are any. `announce(to_send, destroyed)` is called before anything is sent.

    A run with nothing left to do is not touched (`finished_already`): nothing is sent,
    no audit entry is written, and its certificate and manifest stay as they are; with
    `certificate` a copy of them goes there. Otherwise `certificate` is where this
    action's certificate goes (None: where the run's goes)."""
    with Journal(journal_path) as journal:
        counts = journal.run(run_id).counts
        retry = counts.failed > 0 if failed_only is None else failed_only
        if finished(journal, AuditLog(audit_path), run_id, retry):
            outcome = destroy_outcome(journal, AuditLog(audit_path), run_id)
            return _documents_kept(outcome, certificate)
    with connections.use(profile, password) as connection, Journal(journal_path) as journal:
        runner = _runner(journal, connection, profile, audit_path, outage_limit)
        counts = journal.run(run_id).counts
        if announce is not None:  # (records to send, destroyed already)
            announce(counts.failed if retry else counts.remaining, counts.ok)
        act = runner.retry_failed if retry else runner.resume
        outcome = act(run_id, state, operator_name)
    return _with_documents(outcome, state, certificate)


def disposal_run(run: str, journal_path: Path | None = None) -> tuple[str, Profile]:
    """A disposal run's id and profile, to go on with it; JobError for a submit run."""
    with Journal(journal_path) as journal:
        info = journal.run(run)
    if info.kind != "destroy":
        raise JobError(
            f"Run {info.id} submitted records; continue it with `opus-desktop runs resume "
            f"{info.id}`."
        )
    return info.id, find_profile(info.profile)


def read_outcome(
    run_id: str, journal_path: Path | None = None, audit_path: Path | None = None
) -> DestroyOutcome:
    """A disposal run as the journal and the audit log hold it now."""
    with Journal(journal_path) as journal:
        return destroy_outcome(journal, AuditLog(audit_path), run_id)


def _runner(
    journal: Journal,
    connection: Connection,
    profile: Profile,
    audit_path: Path | None,
    outage_limit: float | None,
) -> DestroyRun:
    """A DestroyRun for the profile's tenant; `outage_limit` None is the setting's."""
    return DestroyRun(
        journal,
        AuditLog(audit_path),
        connection.client,
        Tenant.of(profile, connection.client.connection_id),
        outage_limit=outage_limit if outage_limit is not None else app_settings.outage_limit(),
        retries=connection.client.retry,
    )


def _with_documents(
    outcome: DestroyOutcome, state: RunState, target: Path | None = None
) -> DestroyResult:
    if not outcome.destroyed:
        return DestroyResult(outcome, None, None, None)
    pdf = target or certificate_path(outcome.run)
    state.set_status(f"Writing the certificate {pdf.name}")
    try:
        from opus_desktop.documents.certificate import write_disposal_documents

        written = write_disposal_documents(outcome, pdf)
    except (DocumentError, ImportError) as exc:
        said = exc.message if isinstance(exc, DocumentError) else f"Qt cannot load ({exc})."
        log.warning("the certificate of run %s could not be written: %s", outcome.run.id, said)
        return DestroyResult(outcome, None, None, said)
    return DestroyResult(
        outcome, written.pdf, written.manifest, None, written.pages, written.manifest_sha256
    )


def _documents_kept(outcome: DestroyOutcome, copy_to: Path | None) -> DestroyResult:
    """The documents of a run that had nothing left to do: as they are, never written
    again; a copy of both where `copy_to` says. Where there are none (they could not be
    written, or were moved), they are written now, at `copy_to` if given."""
    if not outcome.destroyed:
        return DestroyResult(outcome, None, None, None, finished_already=True)
    try:
        from opus_desktop.documents.certificate import manifest_path_for
    except ImportError as exc:
        return DestroyResult(outcome, None, None, f"Qt cannot load ({exc}).", finished_already=True)
    pdf = certificate_path(outcome.run)
    manifest = manifest_path_for(pdf)
    there = [path for path in (pdf, manifest) if path.is_file()]
    if not there:
        return replace(_with_documents(outcome, RunState(), copy_to), finished_already=True)
    if len(there) == 1:  # half of them: the other is not written again either
        missing = manifest if there[0] == pdf else pdf
        return DestroyResult(
            outcome,
            pdf if pdf in there else None,
            manifest if manifest in there else None,
            f"{missing} is not there any more; the other one is left as it is.",
            finished_already=True,
            written=False,
        )
    kept = DestroyResult(
        outcome, pdf, manifest, None, 0, file_sha256(manifest), True, written=False
    )
    if copy_to is None or _same_file(copy_to, pdf):
        return kept
    # The certificate names its manifest's file: the copy keeps that name when it can.
    copy_manifest = copy_to.with_name(manifest.name)
    if _same_file(copy_manifest, manifest):
        copy_manifest = manifest_path_for(copy_to)
    try:
        for source, target in ((pdf, copy_to), (manifest, copy_manifest)):
            _copy_new(source, target)
    except DocumentError as exc:
        return replace(kept, document_error=exc.message)
    return replace(kept, copy=copy_to, copy_manifest=copy_manifest)


def _same_file(one: Path, other: Path) -> bool:
    return os.path.normcase(one.resolve()) == os.path.normcase(other.resolve())


def _copy_new(source: Path, target: Path) -> None:
    """Copy `source` to `target`, which must not exist: a copy never replaces a file."""
    try:
        with source.open("rb") as reading, target.open("xb") as writing:
            shutil.copyfileobj(reading, writing)
    except FileExistsError:
        raise DocumentError(
            f"{target} exists already: a copy of the certificate goes to a new path."
        ) from None
    except OSError as exc:
        raise DocumentError(
            f"Cannot copy {source.name} to {target}: {exc.strerror or exc}."
        ) from None
