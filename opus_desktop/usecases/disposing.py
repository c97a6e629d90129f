"""The disposal use cases, as `due` / `destroy` and the Disposal tab both ask for them:
the due list page by page, a signed-off sheet, a destroy run and its certificate, a run
sent again, a run read back.

    connections = Connections()               # or Connections(ask=...) on a terminal
    listing = load_due(connections, LoadRequest(profile, password, before), state, on_page)
    result = destroy(connections, DestroyRequest(...), state, on_created)
    result = send_again(connections, profile, password, run_id, state)
    connections.close()                       # when the tab or the command is done

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
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from opus_desktop import paths
from opus_desktop import settings as app_settings
from opus_desktop.core.reports import write_table
from opus_desktop.core.schema import Template
from opus_desktop.documents import DocumentError
from opus_desktop.jobs.audit import AuditLog, VerifyResult
from opus_desktop.jobs.connect import Connection
from opus_desktop.jobs.disposal import DestroyRun
from opus_desktop.jobs.disposal_outcome import (
    DestroyOutcome,
    Tenant,
    certificate_path,
    destroy_outcome,
)
from opus_desktop.jobs.due import (
    MAX_PER_PAGE,
    DisposalItem,
    DueBatch,
    DueList,
    DueRecord,
    Selection,
    due_table,
    fetch_due,
    read_selection,
)
from opus_desktop.jobs.errors import JobError
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.report import file_sha256
from opus_desktop.jobs.state import RunState
from opus_desktop.profiles import Profile, find_profile
from opus_desktop.usecases.connection import AskPassword, open_connection, tell_signed_in
from opus_desktop.usecases.runs import reading

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
) -> DueList:
    """Due records from `request.start`, page by page (each handed to `on_page`), until
    the last page, `max_pages`, or a cancel (after the page under way)."""
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
        )


@dataclass(frozen=True)
class SignedOff:
    """A signed-off sheet, and the due records loaded to check it against."""

    selection: Selection
    more: DueList | None  # the pages loaded after the ones the tab had, if it had not all


def read_signed_off(
    connections: Connections,
    path: Path,
    rest: LoadRequest | None,
    state: RunState,
    on_page: Callable[[DueBatch], None] | None = None,
) -> SignedOff:
    """Read the row keys of a signed-off sheet; with `rest`, load the remaining due pages
    first, so that "not in the due list" means not due at all."""
    state.set_status(f"Reading {path.name}")
    selection = read_selection(path)
    more = None
    if rest is not None and not state.cancel_requested:
        more = load_due(connections, rest, state, on_page)
    return SignedOff(selection, more)


def export_due(
    path: Path, records: Sequence[DueRecord], template: Template | None, state: RunState
) -> int:
    """Write the sign-off sheet `due --out` writes: "Row key", every column by display
    name, the disposal due date. Returns the number of rows."""
    state.set_status(f"Writing {path.name}")
    headers, rows = due_table(records, template)
    return write_table(path, headers, rows, DUE_SHEET_TITLE)


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
    not_sent: Sequence[DisposalItem] = ()  # selected but left out (not due), with `reason`
    reason: str = ""
    input_path: Path | None = None  # the signed-off sheet
    outage_limit: float | None = None  # None: the "Give up after" setting


@dataclass(frozen=True)
class DestroyResult:
    """A destroy action's outcome, and the certificate written after it."""

    outcome: DestroyOutcome
    certificate: Path | None  # None: nothing destroyed yet, or it could not be written
    manifest: Path | None
    document_error: str | None  # why the certificate could not be written
    pages: int = 0
    manifest_sha256: str = ""

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
) -> DestroyResult:
    """Go on with a disposal run: its failed records sent again (`destroy --retry-failed`)
    or what it had left to send (`--resume`); with `failed_only` None, the failed ones
    when there are any. `announce(to_send, destroyed)` is called before anything is sent."""
    with connections.use(profile, password) as connection, Journal(journal_path) as journal:
        runner = _runner(journal, connection, profile, audit_path, outage_limit)
        counts = journal.run(run_id).counts
        retry = counts.failed > 0 if failed_only is None else failed_only
        if announce is not None:  # (records to send, destroyed already)
            announce(counts.failed if retry else counts.remaining, counts.ok)
        act = runner.retry_failed if retry else runner.resume
        outcome = act(run_id, state, operator_name)
    return _with_documents(outcome, state)


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


def verify_audit(audit_path: Path | None = None) -> tuple[Path, VerifyResult]:
    """Check the audit log's chain, and that every entry the journal anchors is in it."""
    audit = AuditLog(audit_path or paths.audit_log_path(create=False))
    anchors: list[str] = []
    journal_path = paths.journal_path(create=False)
    if journal_path.exists():  # no journal yet: nothing to compare with
        with reading(journal_path) as journal:
            anchors = journal.audit_anchors()
    return audit.path, audit.verify(anchors)


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


def _with_documents(outcome: DestroyOutcome, state: RunState) -> DestroyResult:
    if not outcome.destroyed:
        return DestroyResult(outcome, None, None, None)
    pdf = certificate_path(outcome.run)
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
