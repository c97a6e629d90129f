"""Submit runs, as both front ends ask for them: a new run from a sheet's validation or
from the records the editor holds, a resumed run, a run's failures sent again, a dry run.

    summary = start_run(NewRun(profile, access, options, origin), lambda: records, state)
    summary = continue_run(Continue(run_id, access, failed_only=True), state)
    counted = dry_run(records, state)

`announce(RunStart)` is called once the run is in the journal and before its first call,
so a front end knows the run's id before any of its results arrive.

One run per sheet and profile at a time: a new or resumed run of an input file (known by
its SHA-256) holds a SheetLock (jobs/locks.py) while it sends, and a second one with the
same profile is refused (SheetInUse, naming the run that sends) unless `allow_parallel`.
The lock is the operating system's, held by the sending process: a run that crashed
blocks nothing.

Submit runs open the journal with `sync_each_commit=False` (WAL, synchronous=NORMAL: no
fsync per claim and per outcome). A killed or crashed app loses no commit; a power cut or
an OS crash may lose the last ones, never one in the middle (the WAL is replayed up to
its first torn frame). What that can do: records claimed or stored just before read as
pending or in flight again, and are sent again on resume (or, if even the run's last
chunk was lost, the run reads as never complete and the sheet is sent as a new run). A
record sent again carries the same row key and the payload journalled for it, and Opus
keys records by row key: Overwrite writes the same values again, Skip leaves the stored
one and answers it stored. So nothing is duplicated; at worst a record is sent twice.
Disposal runs keep a sync per commit: a destroy journalled as done must stay so.

A new run is journalled by `jobs.submit_runs.journal_submit_run` and sent by `SubmitRun`;
a resumed one is taken by `jobs.submit.take_run`. The run's own RunState is the only
channel back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from opus_desktop import paths
from opus_desktop import settings as app_settings
from opus_desktop.core.gcpause import collector_paused
from opus_desktop.core.mapping import Mapping as SheetMapping
from opus_desktop.core.records import Record
from opus_desktop.core.schema import Template
from opus_desktop.core.sheets import open_sheet
from opus_desktop.core.validation import ValidationResult, Validator
from opus_desktop.core.values import ValueSettings
from opus_desktop.errors import AppError
from opus_desktop.jobs.connect import Connection
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.journal_types import ItemState, RunInfo
from opus_desktop.jobs.locks import SheetInUse, SheetLock
from opus_desktop.jobs.report import (
    ReportSummary,
    Source,
    file_sha256,
    run_outcomes,
    source_of,
    validation_outcomes,
    write_report,
)
from opus_desktop.jobs.state import RunState
from opus_desktop.jobs.submit import (
    DEFAULT_CONCURRENCY,
    SubmitRun,
    SubmitSummary,
    conflict_option,
    take_run,
)
from opus_desktop.jobs.submit import NewRun as JournalledRun
from opus_desktop.jobs.submit_runs import journal_submit_run
from opus_desktop.opus.client import MAX_PER_CALL
from opus_desktop.profiles import Profile, find_profile
from opus_desktop.usecases.connection import Access, opened
from opus_desktop.usecases.runs import input_change

log = logging.getLogger(__name__)

_READ = 1000  # rows read and checked at a time by sheet_records


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
    skipped: int = 0  # invalid rows journalled as skipped (a new run)
    # Row key -> (journal state, message), for the keys the caller asked to watch; a front
    # end may put its own words in their place.
    states: Mapping[str, tuple[Any, str]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # the certificate expires soon, TLS checks are off
    template_changed: bool = False  # the profile's template changed since the run began
    # A resumed run whose input sheet changed or went since it began: the sentence to
    # show before it goes on (usecases.runs.input_change), else "".
    input_changed: str = ""


Announce = Callable[[RunStart], None]


def _ignore(start: RunStart) -> None:
    return None


@dataclass(frozen=True)
class RunOptions:
    """How a run sends: `outage_limit` None is the "Give up after" setting;
    `allow_parallel` sends a sheet another run sends with the same profile right now."""

    conflict: str = "Overwrite"
    concurrency: int = DEFAULT_CONCURRENCY
    outage_limit: float | None = None
    allow_parallel: bool = False

    def limit(self) -> float:
        return self.outage_limit if self.outage_limit is not None else app_settings.outage_limit()


@dataclass(frozen=True)
class Origin:
    """Where a new run's records came from, kept with the run for its report."""

    input_path: Path | None = None
    sheet: str | None = None
    header_row: int | None = None
    # The records are the input's rows as read: the report copies failed rows from it.
    input_unchanged: bool = True
    mapping: Mapping[str, Any] | None = None
    editor: bool = False
    dates: tuple[str, ...] = ()  # how each date column was read (ValidationResult.date_orders)
    # The input as it was when the front end checked it (file_stamp before the check):
    # the run reads it again to journal it, and refuses a file that changed in between.
    checked: FileStamp | None = None


@dataclass(frozen=True)
class FileStamp:
    size: int
    modified_ns: int


def file_stamp(path: Path) -> FileStamp | None:
    """What tells that a file changed: its size and modification time (None: unreadable)."""
    try:
        info = Path(path).stat()
    except OSError:
        return None
    return FileStamp(info.st_size, info.st_mtime_ns)


class SheetChanged(AppError):
    """The input changed after it was checked: what would be sent is not what was checked."""


def _changed(path: Path) -> SheetChanged:
    return SheetChanged(
        f"{path.name} changed after it was checked: nothing was sent. Run it again to check "
        "and send the sheet as it is now."
    )


# A new run's records: a sheet's validation, or records (the editor's, their problems
# with them). Made when the run is journalled and dropped right after, so that a long run
# does not keep them (nor the cycle collector walk them) while it sends.
Records = Callable[[], "ValidationResult | Iterable[Record]"]


@dataclass(frozen=True)
class NewRun:
    """A new run. Invalid rows are journalled as skipped, the others sent."""

    profile: Profile
    access: Access
    options: RunOptions = RunOptions()
    origin: Origin = Origin()
    journal_path: Path | None = None


@dataclass(frozen=True)
class Continue:
    """A run of the journal to resume (or, with failed_only, to send its failures again);
    its profile, conflict option and calls at a time are the run's own."""

    run_id: str
    access: Access
    failed_only: bool = False
    outage_limit: float | None = None
    journal_path: Path | None = None
    watch: Collection[str] = ()  # row keys whose journal state RunStart.states reports
    allow_parallel: bool = False


@dataclass(frozen=True)
class DryRunCount:
    records: int
    calls: int
    invalid: int = 0


def start_run(
    request: NewRun, records: Records, state: RunState, announce: Announce = _ignore
) -> SubmitSummary | None:
    """Journal `records()` as a new run and send it; None if cancelled before it began."""
    state.set_status("Preparing the records")
    profile = request.profile
    origin = request.origin
    sheet = _hash_or_none(origin.input_path) if origin.input_path is not None else None
    with (
        Journal(request.journal_path, sync_each_commit=False) as journal,
        _sheet_held(
            journal, profile.name, sheet, origin.input_path, request.options.allow_parallel
        ) as lock,
        opened(request.access, profile) as connection,
    ):
        new = _journal(journal, request, records, state, sheet)
        if new is None:
            return None
        if lock is not None:
            lock.note(new.run_id)
        log.info("run %s: %d records to send", new.run_id, new.to_send)
        state.set_status("")  # from here the run's status names only what slows it
        warnings = _warnings(connection.certificate_warning, connection.tls_warning)
        announce(
            RunStart(
                new.run_id,
                profile.name,
                new.to_send,
                0,
                new.invalid,
                False,
                False,
                skipped=new.invalid,
                warnings=warnings,
            )
        )
        return _send(journal, connection, new.run_id, state, request.options)


def sheet_records(
    path: Path,
    sheet: str | None,
    header_row: int | None,
    template: Template,
    settings: ValueSettings,
    mapping: SheetMapping | None = None,
) -> Iterator[Record]:
    """The sheet's rows as validated Records, made as they are read and kept by no one:
    what a new run of a long sheet journals (the front end's own validate pass keeps only
    the problems). Repeated row keys are left to the journal, which skips the later rows.
    A mapping that leaves a required column without a source is refused (ValueError), as
    create_submit_run refuses its validation."""
    stream = open_sheet(path, sheet, header_row)
    # The journal finds repeated row keys (its unique index), and names the earlier row.
    validator = Validator(stream, template, settings, mapping, repeated_keys=False)
    if validator.blocked:
        raise ValueError("the mapping leaves a required column without a source: nothing to send")
    rows = iter(stream.rows)
    while batch := list(islice(rows, _READ)):
        yield from validator.check_rows(batch)


def _journal(
    journal: Journal, request: NewRun, records: Records, state: RunState, sheet: str | None
) -> JournalledRun | None:
    # The input's hash is kept only for rows read as they are (the report copies failed
    # rows from it); the sheet's hash, for the lock of a resumed run, always.
    unchanged = request.origin.input_unchanged
    options = _kept_options(request)
    if sheet is not None and not unchanged:
        options["sheet_sha256"] = sheet
    path, checked = request.origin.input_path, request.origin.checked
    if path is not None and checked is not None and file_stamp(path) != checked:
        raise _changed(path)
    with collector_paused():  # the records made for the run are many, and short-lived
        made = records()
        if path is not None and checked is not None and not isinstance(made, ValidationResult):
            made = _unchanged_to_the_end(made, path, checked)
        if state.cancel_requested:
            return None
        return journal_submit_run(
            journal,
            request.profile.name,
            made,
            input_path=request.origin.input_path,
            input_hash=sheet if unchanged else None,
            template_hash=_hash_or_none(request.profile.template_path),
            mapping=request.origin.mapping,
            options=options,
            cancelled=lambda: state.cancel_requested,
        )


def _unchanged_to_the_end(
    records: Iterable[Record], path: Path, checked: FileStamp
) -> Iterator[Record]:
    """`records`, then SheetChanged if the file changed while they were read: raised
    before the run is complete, so the journal drops it and nothing is sent."""
    yield from records
    if file_stamp(path) != checked:
        raise _changed(path)


@contextlib.contextmanager
def _sheet_held(
    journal: Journal, profile: str, sheet: str | None, path: Path | str | None, allow: bool
) -> Iterator[SheetLock | None]:
    """The sheet's lock for `profile`, held while the body runs; SheetInUse when another
    process holds it. None (nothing held) for runs without a sheet, or `allow`ed."""
    if sheet is None or allow:
        yield None
        return
    folder = paths.private_dir(journal.path.with_name(journal.path.name + "-locks"))
    lock = SheetLock(folder, profile, sheet)
    if not lock.take():
        holder = lock.holder()
        raise SheetInUse(_in_use(journal, holder, profile, path), holder)
    try:
        yield lock
    finally:
        lock.release()


def _in_use(journal: Journal, holder: str, profile: str, path: Path | str | None) -> str:
    name = Path(path).name if path else "this sheet"
    who = "Another window or command"
    if holder:
        who = f"Run {holder}"
        with contextlib.suppress(AppError):
            started = journal.run(holder).started.astimezone().strftime("%H:%M")
            who += f" (started at {started})"
    return (
        f'{who} is sending {name} with profile "{profile}" right now. Wait for it to end, '
        "or stop it, before sending the same sheet again."
    )


def _sheet_of(info: RunInfo) -> str | None:
    """The SHA-256 of the sheet a run was made from, if it was made from one."""
    kept = info.options.get("sheet_sha256")
    return info.input_sha256 or (kept if isinstance(kept, str) else None)


def continue_run(request: Continue, state: RunState, announce: Announce = _ignore) -> SubmitSummary:
    """`runs resume` or `runs retry-failed`: stored records are never sent again."""
    state.set_status("Opening the run")
    with Journal(request.journal_path, sync_each_commit=False) as journal:
        run = journal.run(request.run_id)
        profile = find_profile(run.profile)
        held = _sheet_held(
            journal, run.profile, _sheet_of(run), run.input_path, request.allow_parallel
        )
        with held as lock, opened(request.access, profile) as connection:
            info = take_run(journal, request.run_id, failed=request.failed_only)
            if lock is not None:
                lock.note(info.id)
            states = _states(journal, info.id, request.watch)
            counts = info.counts
            changed = bool(info.template_sha256) and (
                _hash_or_none(profile.template_path) != info.template_sha256
            )
            announce(
                RunStart(
                    info.id,
                    info.profile,
                    counts.remaining,
                    counts.ok,
                    counts.done,
                    True,
                    request.failed_only,
                    states=states,
                    warnings=_warnings(connection.certificate_warning, connection.tls_warning),
                    template_changed=changed,
                    input_changed=input_change(info),
                )
            )
            concurrency = info.options.get("concurrency", DEFAULT_CONCURRENCY)
            options = RunOptions(
                conflict_option(str(info.options.get("conflict", "Overwrite"))),
                concurrency if isinstance(concurrency, int) else DEFAULT_CONCURRENCY,
                request.outage_limit,
            )
            state.set_status("")
            return _send(journal, connection, info.id, state, options)


def dry_run(records: Iterable[Record], state: RunState, total: int = 0) -> DryRunCount:
    """Build and encode every valid record's payload as the client would; no connection,
    no journal. Records with problems are counted as invalid, not encoded."""
    state.start(total)
    sent = invalid = 0
    for number, record in enumerate(records, start=1):
        if record.problems:
            invalid += 1
        else:
            json.dumps(record.payload(), ensure_ascii=False, allow_nan=False)
            sent += 1
        if number % 1000 == 0:
            if state.cancel_requested:
                break
            state.set_status(f"Checked {number:,} records")
    return DryRunCount(sent, math.ceil(sent / MAX_PER_CALL), invalid)


def dry_run_sheet(result: ValidationResult, state: RunState) -> DryRunCount:
    """A dry run of a sheet's validation (a blocked mapping sends nothing)."""
    valid = [record for record in result.records if result.is_valid(record)]
    counted = dry_run(valid, state, len(valid))
    return DryRunCount(counted.records, counted.calls, result.rows - counted.records)


def dry_run_report(path: Path, result: ValidationResult, input_path: Path) -> ReportSummary:
    """The report a real run would write, every valid row "Not sent: dry run."."""
    source = Source(
        input_path, file_sha256(input_path), result.source.sheet, result.source.header_row
    )
    return write_report(path, validation_outcomes(result, "Not sent: dry run."), source)


def export_failed(
    path: Path, run_ids: Sequence[str], keys: Iterable[str], journal_path: Path | None = None
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


def _send(
    journal: Journal, connection: Connection, run_id: str, state: RunState, options: RunOptions
) -> SubmitSummary:
    return SubmitRun(
        journal,
        connection.client,
        run_id,
        state,
        concurrency=options.concurrency,
        conflict=options.conflict,
        outage_limit=options.limit(),
        retries=connection.client.retry,
    ).run()


def _kept_options(request: NewRun) -> dict[str, Any]:
    origin = request.origin
    kept: dict[str, Any] = {
        "conflict": conflict_option(request.options.conflict),
        "concurrency": request.options.concurrency,
        "sheet": origin.sheet,
        "header_row": origin.header_row,
    }
    if origin.editor:
        kept["from"] = "editor"
    if origin.dates:
        kept["dates"] = list(origin.dates)
    return kept


def _hash_or_none(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def _states(
    journal: Journal, run_id: str, watch: Collection[str]
) -> dict[str, tuple[ItemState, str]]:
    if not watch:
        return {}
    wanted = set(watch)
    return {
        item.key: (item.state, item.message) for item in journal.items(run_id) if item.key in wanted
    }


def _warnings(*said: str | None) -> tuple[str, ...]:
    return tuple(text for text in said if text)
