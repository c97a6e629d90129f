"""What the submit Tasks run in their worker thread: the jobs code the CLI drives, no Qt.

    summary = send_rows(SendRequest(...), state, announce)      # a new run from grid rows
    summary = continue_run(ContinueRequest(...), state, announce)  # resume, or retry failed
    counted = dry_run(rows, columns, sheet, state)               # check and count, send nothing

A new run is journalled by `jobs.submit.create_submit_run` and sent by `SubmitRun`, a
resumed one is taken by `jobs.submit.take_run`: exactly what `opus-desktop submit` and
`opus-desktop runs resume | retry-failed` do, so the journal reads the same either way.
`announce(RunStart)` is called once the run is in the journal and before its first call,
so the window knows the run's id before any of its results arrive.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opus_desktop.core.gcpause import collector_paused
from opus_desktop.core.mapping import Plan
from opus_desktop.core.records import Record
from opus_desktop.core.sheets import SheetInfo
from opus_desktop.core.validation import ValidationResult
from opus_desktop.gui.editor.rows import ColumnSet, Row
from opus_desktop.gui.submit.results import GRID_STATUS
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.report import run_outcomes, source_of, write_report
from opus_desktop.jobs.state import RunState
from opus_desktop.jobs.submit import (
    DEFAULT_CONCURRENCY,
    DEFAULT_OUTAGE_LIMIT,
    NewRun,
    SubmitRun,
    SubmitSummary,
    conflict_option,
    create_submit_run,
    take_run,
)
from opus_desktop.opus.client import MAX_PER_CALL
from opus_desktop.opus.errors import CertificateError
from opus_desktop.opus.retry import RetryPolicy
from opus_desktop.profiles import Profile, certificate_password

if TYPE_CHECKING:
    from opus_desktop.jobs.connect import Connection

log = logging.getLogger(__name__)

# Seconds without any answer before a run stops (resumable); tests shorten it.
OUTAGE_LIMIT = DEFAULT_OUTAGE_LIMIT
YIELD_EVERY = 200  # rows made between two moments left to the window's thread


def retry_policy() -> RetryPolicy:
    """The client's own retries for each call (as the CLI's); tests make them quick."""
    return RetryPolicy()


@dataclass(frozen=True)
class RunStart:
    """A run is in the journal and about to send."""

    run_id: str
    profile: str
    to_send: int  # records this run will send now
    stored: int  # stored already (a resumed run)
    done_before: int  # stored, failed or skipped before this start
    resumed: bool
    failed_only: bool  # retrying a run's failed records
    # Row key -> (grid status, message) for rows whose status the journal corrects.
    states: Mapping[str, tuple[str, str]] = field(default_factory=dict)


Announce = Callable[[RunStart], None]


@dataclass(frozen=True)
class Access:
    """How a task reaches the service: a connection opened already (see open_connection),
    or the password typed in the dialog to open one with."""

    connection: Connection | None = None
    password: str | None = None

    def open(self, profile: Profile) -> Connection:
        if self.connection is not None:
            return self.connection
        from opus_desktop.jobs.connect import connect

        return connect(profile, self.password, retry=retry_policy())


def open_connection(profile: Profile) -> Connection | None:
    """The profile's connection, opened with the password its environment variable or
    the keyring gives, or none; None when the certificate needs a password nothing gave
    (the window then asks). Opening the key once here, not also to ask whether it needs
    a password, spares the window a tenth of a second of a busy interpreter."""
    from opus_desktop.jobs.connect import connect, password_needed

    password = certificate_password(profile)
    try:
        return connect(profile, password, retry=retry_policy())
    except CertificateError:
        if password is None and password_needed(profile):
            return None
        raise


@dataclass(frozen=True)
class SendRequest:
    """Rows of the grid to send as a new run. The rows are read in the worker; the grid
    stays locked until the run is journalled."""

    profile: Profile
    access: Access
    rows: Sequence[Row]
    columns: ColumnSet
    conflict: str
    concurrency: int
    sheet: str | None = None
    input_path: Path | None = None
    header_row: int | None = None
    input_unchanged: bool = False  # the grid holds the input's rows as read (no edits)
    mapping: Mapping[str, Any] | None = None
    journal_path: Path | None = None


@dataclass(frozen=True)
class ContinueRequest:
    """A run of the journal to resume (or, with failed_only, to send its failures again)."""

    run_id: str
    profile: Profile
    access: Access
    failed_only: bool = False
    journal_path: Path | None = None
    # The grid's rows, to tell the window which of them the journal knows better.
    grid: Sequence[Row] = ()
    key_index: int = 0


@dataclass(frozen=True)
class DryRunCount:
    records: int
    calls: int


def records_of(rows: Iterable[Row], columns: ColumnSet, sheet: str | None) -> list[Record]:
    record = columns.record
    made: list[Record] = []
    for number, row in enumerate(rows):
        if number % YIELD_EVERY == 0:
            time.sleep(0)  # let the window's thread have the interpreter now and then
        made.append(record(row, sheet))
    return made


def validation_of(
    records: list[Record], columns: ColumnSet, sheet: str | None, path: Path | None
) -> ValidationResult:
    """The grid's records as the validation create_submit_run takes. The grid has already
    checked every cell; its problems (if any) travel with the records."""
    info = SheetInfo(path or Path("(editor)"), sheet or "", list(columns.names), 1)
    plan = Plan(columns.template, {}, {}, {}, None, [], [], [])
    problems = [problem for record in records for problem in record.problems]
    invalid = sum(1 for record in records if record.problems)
    return ValidationResult(info, plan, records, problems, [], len(records), invalid)


def send_rows(request: SendRequest, state: RunState, announce: Announce) -> SubmitSummary | None:
    """Journal the rows as a new run and send it; None if cancelled before it began."""
    state.set_status("Preparing the records")
    profile = request.profile
    with request.access.open(profile) as connection, Journal(request.journal_path) as journal:
        new = _journal_rows(journal, request, state)
        if new is None:
            return None
        log.info("run %s: %d records from the editor", new.run_id, new.to_send)
        state.set_status("")  # from here the run's status names only what slows it
        announce(RunStart(new.run_id, profile.name, new.to_send, 0, new.invalid, False, False))
        return SubmitRun(
            journal,
            connection.client,
            new.run_id,
            state,
            concurrency=request.concurrency,
            conflict=request.conflict,
            outage_limit=OUTAGE_LIMIT,
        ).run()


def _journal_rows(journal: Journal, request: SendRequest, state: RunState) -> NewRun | None:
    """The rows as a new run in the journal (None if cancelled first). The records made
    on the way are dropped on return: the run needs only what the journal holds, and the
    cycle collector would walk them all through the run."""
    from opus_desktop.jobs.report import file_sha256

    profile = request.profile
    with collector_paused():
        records = records_of(request.rows, request.columns, request.sheet)
        result = validation_of(records, request.columns, request.sheet, request.input_path)
        input_hash = None
        if request.input_unchanged and request.input_path is not None:
            try:
                input_hash = file_sha256(request.input_path)
            except OSError:
                input_hash = None  # the report then rebuilds failed rows from the journal
        try:
            template_hash: str | None = file_sha256(profile.template_path)
        except OSError:
            template_hash = None
        if state.cancel_requested:
            return None
        return create_submit_run(
            journal,
            profile.name,
            result,
            input_path=request.input_path,
            input_hash=input_hash,
            template_hash=template_hash,
            mapping=request.mapping,
            options={
                "conflict": conflict_option(request.conflict),
                "concurrency": request.concurrency,
                "sheet": request.sheet,
                "header_row": request.header_row,
                "from": "editor",
            },
        )


def continue_run(request: ContinueRequest, state: RunState, announce: Announce) -> SubmitSummary:
    """`runs resume` or `runs retry-failed` for one run: stored records are never sent again."""
    state.set_status("Opening the run")
    with (
        request.access.open(request.profile) as connection,
        Journal(request.journal_path) as journal,
    ):
        info = take_run(journal, request.run_id, failed=request.failed_only)
        states = _corrections(journal, info.id, request.grid, request.key_index)
        counts = info.counts
        announce(
            RunStart(
                info.id,
                info.profile,
                counts.remaining,
                counts.ok,
                counts.done,
                True,
                request.failed_only,
                states,
            )
        )
        concurrency = info.options.get("concurrency", DEFAULT_CONCURRENCY)
        state.set_status("")
        return SubmitRun(
            journal,
            connection.client,
            info.id,
            state,
            concurrency=concurrency if isinstance(concurrency, int) else DEFAULT_CONCURRENCY,
            conflict=conflict_option(str(info.options.get("conflict", "Overwrite"))),
            outage_limit=OUTAGE_LIMIT,
        ).run()


def _corrections(
    journal: Journal, run_id: str, grid: Sequence[Row], key_index: int
) -> dict[str, tuple[str, str]]:
    """Row key -> (status, message) where the journal's word differs from the grid's."""
    if not grid:
        return {}
    shown: dict[str, tuple[str, str]] = {}
    for row in grid:
        key = row.values[key_index]
        if isinstance(key, str) and key:
            shown[key] = (row.status, row.message)
    found: dict[str, tuple[str, str]] = {}
    for item in journal.items(run_id):
        now = shown.get(item.key)
        if now is None:
            continue
        wanted = (GRID_STATUS[item.state], item.message if item.state != "ok" else "")
        if now != wanted:
            found[item.key] = wanted
    return found


def dry_run(
    rows: Sequence[Row], columns: ColumnSet, sheet: str | None, state: RunState
) -> DryRunCount:
    """Build and encode every payload as the client would; no connection, no journal."""
    state.start(len(rows))
    records = 0
    for number, record in enumerate(records_of(rows, columns, sheet), start=1):
        json.dumps(record.payload(), ensure_ascii=False, allow_nan=False)
        records += 1
        if number % 1000 == 0:
            if state.cancel_requested:
                break
            state.set_status(f"Checked {number:,} records")
    return DryRunCount(records, math.ceil(records / MAX_PER_CALL))


def export_failed(
    path: Path, run_ids: Sequence[str], keys: Iterable[str], journal_path: Path | None
) -> int:
    """Write the report of the failed rows `keys` (jobs.report: the "Failed rows" sheet,
    ready to fix and import again) from the newest of `run_ids` that holds each; returns
    how many rows it lists."""
    wanted = set(keys)
    with Journal(journal_path) as journal:
        chosen = []
        source = None
        for run_id in reversed(run_ids):
            outcomes = [o for o in run_outcomes(journal, run_id) if o.key in wanted]
            if source is None and outcomes:
                source = source_of(journal.run(run_id))
            chosen += outcomes
            wanted.difference_update(o.key for o in outcomes)
            if not wanted:
                break
    if source is None:
        return 0
    chosen.sort(key=lambda o: (o.row is None, o.row or 0))
    write_report(path, chosen, source)
    return len(chosen)
