"""`opus-desktop due` and `opus-desktop destroy`: review the records due for disposal and
mark exactly the approved ones destroyed, with an audit entry and a certificate.

    due --profile NAME --before DATETIME [--out FILE.xlsx|.csv]
    destroy --profile NAME --input FILE --justification TEXT --yes [--certificate OUT.pdf]
            [--operator NAME] [--organisation NAME] [--include-not-due]
    destroy --resume RUN | --retry-failed RUN        (a disposal run that stopped)

`destroy` takes only a signed-off due list, the sheet `due --out` (or the Disposal tab's
export) writes: "Row key", "Disposal due date" and optionally "Decision" (Destroy / Keep;
Keep rows are never sent). Any other sheet is refused (exit 2, nothing sent). It asks Opus
afresh which records are due now and sends only the keys due with the date they were
signed off with; the others are listed, each with its reason (held back: the retention
changed after sign-off; destroyed already; not due yet, with its date; unknown to Opus),
and left out (all but the held back ones are sent with --include-not-due). Without --yes
it asks for the number of records to be typed, and refuses when there is no terminal.

The certificate goes where --certificate says, else beside the input file as
certificate-of-destruction-RUN.pdf (in the data folder's "certificates" when that folder
cannot be written); its .xlsx manifest goes beside it. `--resume` / `--retry-failed` of a
run with nothing left to do says so and names them, untouched (exit 0); with
--certificate a copy goes there. Exit codes: 0 every record destroyed, 1 some were not
(listed with Opus's reasons), 2 bad input, 3 sign-in refused, 4 the service could not be
reached; 130 when cancelled with Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from opus_desktop.cli.exits import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, fail
from opus_desktop.cli.inputs import terminal_prompt
from opus_desktop.cli.progress import ProgressBar
from opus_desktop.cli.submit_cmd import cancel_on_interrupt
from opus_desktop.core.datetimes import parse_with_offset
from opus_desktop.core.reports import ReportError
from opus_desktop.errors import AppError
from opus_desktop.jobs.disposal import NOT_CONFIRMED
from opus_desktop.jobs.disposal_outcome import reason_kind
from opus_desktop.jobs.due import (
    MAX_PER_PAGE,
    DisposalItem,
    DisposalPlan,
    DueRecord,
    LeftOut,
    Selection,
    not_due_reason,
    read_selection,
    summarise,
)
from opus_desktop.jobs.state import Progress, RunState
from opus_desktop.profiles import Profile, find_profile
from opus_desktop.usecases.disposing import (
    Connections,
    DestroyRequest,
    DestroyResult,
    LoadRequest,
    destroy,
    disposal_run,
    load_due,
    plan_signed_off,
    save_due,
    send_again,
)

T = TypeVar("T")
SHOWN = 25  # records listed on the terminal; the sheet, manifest and certificate hold all
CERTIFICATES = "certificates"


def parse_before(text: str, profile: Profile) -> datetime:
    """'now', ISO 8601 or the profile's format. A time with an offset becomes UTC; one
    without is sent as written (Opus reads it as UTC)."""
    stripped = text.strip()
    if stripped.casefold() == "now":
        return datetime.now(UTC).replace(microsecond=0)
    try:
        value, offset = parse_with_offset(stripped, profile.date_format)
    except ValueError as exc:
        raise AppError(
            f"--before {text!r} is not a date and time: {exc} Give 'now', ISO 8601 such as "
            f"2025-06-30T00:00:00, or the profile's format ({profile.date_format})."
        ) from None
    return value if offset is None else (value - offset).replace(tzinfo=UTC)


def when(moment: datetime) -> str:
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- due ---------------------------------------------------------------------------------------


def run_due(args: argparse.Namespace) -> int:
    if args.out is not None:
        _check_target(args.out, (".xlsx", ".xlsm", ".csv"), "a sheet must be an .xlsx or .csv file")
    profile = find_profile(args.profile)
    before = parse_before(args.before, profile)
    if args.out is not None:
        request = LoadRequest(profile, None, before, args.per_page)
        connections = Connections(ask=terminal_prompt())
        try:
            rows = _loading(lambda state: save_due(args.out, connections, request, state))
        finally:
            connections.close()
        if rows is None:
            raise KeyboardInterrupt
        print(f"{_records(rows)} due for disposal before {when(before)}, written to {args.out}.")
        return EXIT_OK
    records = _due_now(profile, before, args.per_page)
    count = _records(len(records))
    if records:
        _print_table(records)
    print(f"{count} due for disposal before {when(before)}.")
    return EXIT_OK


def _records(count: int) -> str:
    return f"{count:,} record{'s' * (count != 1)}"


def _due_now(profile: Profile, before: datetime, per_page: int = MAX_PER_PAGE) -> list[DueRecord]:
    connections = Connections(ask=terminal_prompt())
    try:
        return _fetch(connections, profile, before, per_page)
    finally:
        connections.close()


def _fetch(
    connections: Connections, profile: Profile, before: datetime, per_page: int
) -> list[DueRecord]:
    request = LoadRequest(profile, None, before, per_page)
    listing = _loading(lambda state: load_due(connections, request, state))
    if not listing.complete:
        raise KeyboardInterrupt
    return listing.records


def _loading(work: Callable[[RunState], T]) -> T:
    """`work` with its pages told on stderr; Ctrl-C cancels it after the page under way."""
    state = RunState()
    bar = _LoadingLine()
    state.on_progress(bar.update)
    try:
        with cancel_on_interrupt(state):
            return work(state)
    finally:
        bar.close()


class _LoadingLine:
    """'Page 3: 300 due records so far' redrawn on a terminal; nothing in a log."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.shown = False

    def update(self, progress: Progress) -> None:
        if self.tty and progress.status:
            sys.stderr.write(f"\r{progress.status}")
            sys.stderr.flush()
            self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _print_table(records: Sequence[DueRecord]) -> None:
    headers = ("Row key", "Name", "Classification", "Disposal due date")
    rows = [(r.row_key, r.name, r.classification, r.due) for r in records]
    widths = [
        min(max([len(h), *(len(row[i]) for row in rows)]), limit)
        for i, (h, limit) in enumerate(zip(headers, (24, 40, 40, 20), strict=True))
    ]

    def line(cells: Sequence[str]) -> str:
        fitted = [
            c if len(c) <= w else c[: w - 1] + "…" for c, w in zip(cells, widths, strict=True)
        ]
        return "  ".join(c.ljust(w) for c, w in zip(fitted, widths, strict=True)).rstrip()

    print(line(headers))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))


# -- destroy -----------------------------------------------------------------------------------


def run_destroy(args: argparse.Namespace) -> int:
    if args.certificate is not None:
        _check_target(args.certificate, (".pdf",), "the certificate must be a .pdf file")
    if args.resume or args.retry_failed:
        given = [flag for flag, value in _NEW_RUN_ONLY if getattr(args, value)]
        if given:
            flag = "--resume" if args.resume else "--retry-failed"
            return fail(
                f"{flag} goes on with the run as it was started (its profile, sheet and "
                f"justification): leave out {', '.join(given)}.",
                EXIT_USAGE,
            )
        return resume(
            args.resume or args.retry_failed,
            failed=bool(args.retry_failed),
            operator=args.operator or None,
            outage_limit=args.outage_limit,
            certificate=args.certificate.resolve() if args.certificate else None,
        )
    missing = [
        flag
        for flag, value in (
            ("--profile", args.profile),
            ("--input", args.input),
            ("--justification", args.justification),
        )
        if not value
    ]
    if missing:
        return fail(
            f"destroy needs {_and(missing)} to start a disposal, or --resume RUN or "
            "--retry-failed RUN to go on with one that stopped.",
            EXIT_USAGE,
        )
    justification = args.justification.strip()
    if not justification:
        return fail("The justification is empty: say why these records are destroyed.", EXIT_USAGE)
    if not args.yes and not _interactive():
        return fail(
            "destroy asks you to type the number of records to confirm, but there is no "
            "terminal to type it in. Add --yes to confirm in a script. Nothing was destroyed.",
            EXIT_USAGE,
        )
    profile = find_profile(args.profile)
    selection = read_selection(args.input, args.sheet)
    connections = Connections(ask=terminal_prompt())
    try:
        return _destroy(args, profile, selection, justification, connections)
    finally:
        connections.close()


_NEW_RUN_ONLY = (
    ("--profile", "profile"),
    ("--input", "input"),
    ("--sheet", "sheet"),
    ("--justification", "justification"),
    ("--organisation", "organisation"),
    ("--include-not-due", "include_not_due"),
)


def _and(flags: list[str]) -> str:
    return flags[0] if len(flags) == 1 else f"{', '.join(flags[:-1])} and {flags[-1]}"


def _destroy(
    args: argparse.Namespace,
    profile: Profile,
    selection: Selection,
    justification: str,
    connections: Connections,
) -> int:
    with connections.use(profile, None) as connection:
        warning = connection.certificate_warning
    if warning:
        print(f"Warning: {warning}", file=sys.stderr)
    now = datetime.now(UTC).replace(microsecond=0)
    print(f"Asking Opus which records are due for disposal now ({when(now)}).", flush=True)
    due = _fetch(connections, profile, now, MAX_PER_PAGE)
    state = RunState()
    with cancel_on_interrupt(state):
        plan = plan_signed_off(
            connections,
            profile,
            None,
            selection,
            due,
            now,
            state,
            include_not_due=args.include_not_due,
        )
    if state.cancel_requested:
        raise KeyboardInterrupt
    _show_plan(selection, plan, args.include_not_due)
    if not plan.send:
        print("Nothing to mark destroyed.")
        return EXIT_SOME_FAILED
    if not args.yes and not _confirmed(plan.send, profile.date_format):
        return fail("The number typed does not match. Nothing was destroyed.", EXIT_USAGE)
    request = DestroyRequest(
        profile,
        None,
        list(plan.send),
        justification,
        args.operator,
        now,
        organisation=args.organisation,
        certificate=args.certificate.resolve() if args.certificate else None,
        not_sent=[out.item for out in plan.not_sent],
        reason=not_due_reason(now),
        reasons={out.item.key: out.reason for out in plan.not_sent},
        input_path=args.input,
        outage_limit=args.outage_limit,
    )
    count = len(plan.send)

    def created(run_id: str) -> None:
        print(
            f"Run {run_id} started: marking {count:,} record{'s' * (count != 1)} destroyed.",
            flush=True,
        )

    return report(_drive(lambda state: destroy(connections, request, state, created)))


def resume(
    run: str,
    *,
    failed: bool = False,
    operator: str | None = None,
    outage_limit: float | None = None,
    certificate: Path | None = None,
) -> int:
    """Go on with a disposal run (`destroy --resume` / `--retry-failed`); `runs resume`
    can hand disposal runs here too. A run with nothing left to do is only reported
    (with a copy of its certificate at `certificate`, if given)."""
    run_id, profile = disposal_run(run)
    connections = Connections(ask=terminal_prompt())

    def act(state: RunState) -> DestroyResult:
        return send_again(
            connections,
            profile,
            None,
            run_id,
            state,
            operator,
            failed_only=failed,
            outage_limit=outage_limit,
            announce=announce,
            certificate=certificate,
        )

    def announce(left: int, destroyed: int) -> None:
        what = "failed records" if failed else "records"
        print(
            f"Run {run_id}: {left:,} {what} to send ({destroyed:,} destroyed already).", flush=True
        )

    try:
        return report(_drive(act))
    finally:
        connections.close()


def _drive(act: Callable[[RunState], DestroyResult]) -> DestroyResult:
    state = RunState()
    bar = ProgressBar()
    state.on_progress(bar.update)
    try:
        with cancel_on_interrupt(state):
            return act(state)
    finally:
        bar.close(state.progress())


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _show_plan(selection: Selection, plan: DisposalPlan, include_not_due: bool) -> None:
    listed = len(selection.items)
    due = listed - len(plan.left_out)  # due as signed off: the held back ones are not
    print(
        f"{selection.path.name} lists {listed:,} row key{'s' * (listed != 1)}; "
        f"{due:,} of them {'are' if due != 1 else 'is'} due for disposal."
    )
    if selection.kept:
        kept = len(selection.kept)
        print(f"{kept:,} more {'are' if kept != 1 else 'is'} marked Keep: never sent.")
    for key, rows in list(selection.repeated.items())[:SHOWN]:
        print(
            f"  {key} appears again in row{'s' * (len(rows) > 1)} "
            f"{', '.join(map(str, rows))}: it counts once."
        )
    sent = {item.key for item in plan.send}
    anyway = [out for out in plan.left_out if out.item.key in sent]
    _list_left_out(plan.not_sent, "left out")
    if include_not_due:
        _list_left_out(anyway, "sent anyway (--include-not-due)")


def _list_left_out(left_out: Sequence[LeftOut], fate: str) -> None:
    """Each key with its reason: held back, destroyed already, not due yet, unknown."""
    if not left_out:
        return
    print(f"{len(left_out):,} {fate}:")
    for out in left_out[:SHOWN]:
        item = out.item
        print(f"  {item.key}" + (f" (row {item.row})" if item.row else "") + f": {out.reason}")
    if len(left_out) > SHOWN:
        print(f"  ... and {len(left_out) - SHOWN:,} more: the run's records list them all.")


def _confirmed(items: Sequence[DisposalItem], date_format: str) -> bool:
    summary = summarise(items, date_format)
    count = summary.count
    print(
        f"About to mark {count:,} record{'s' * (count != 1)} destroyed in Opus. This cannot "
        "be undone."
    )
    for name, number in summary.by_classification[:10]:
        print(f"  {number:>6,}  {name}")
    if len(summary.by_classification) > 10:
        print(f"  ... and {len(summary.by_classification) - 10} more classifications.")
    if summary.earliest_due:
        print(f"Due dates from {summary.earliest_due} to {summary.latest_due}.")
    try:
        typed = input(f"Type the number of records ({count}) to confirm: ")
    except EOFError:
        return False
    return typed.strip().replace(",", "") == str(count)


def _check_target(path: Path, suffixes: tuple[str, ...], what: str) -> None:
    if path.suffix.lower() not in suffixes:
        raise ReportError(f"{path.name}: {what}.")
    if not path.resolve().parent.is_dir():
        raise ReportError(f"Cannot write {path}: the folder {path.parent} does not exist.")


def report(result: DestroyResult) -> int:
    """Print what became of the run and where its certificate and manifest went; return
    the exit code."""
    if result.finished_already:
        return _report_finished(result)
    outcome = result.outcome
    run = outcome.run
    words = {"done": "finished", "cancelled": "was cancelled", "stopped": "stopped"}
    line = (
        f"Run {run.id} {words.get(run.status, run.status)}: {len(outcome.destroyed):,} "
        f"destroyed, {len(outcome.failed):,} not destroyed"
    )
    if outcome.not_sent:
        line += f", {len(outcome.not_sent):,} left out"
    if outcome.pending:
        line += f", {len(outcome.pending):,} not sent yet"
    print(line + ".")
    for record in outcome.failed[:SHOWN]:
        row = outcome.rows.get(record.key)
        print(f"  {record.key}" + (f" (row {row})" if row else "") + f": {record.message}")
    if len(outcome.failed) > SHOWN:
        where = "the manifest" if outcome.destroyed else f"`opus-desktop runs show {run.id}`"
        print(f"  ... and {len(outcome.failed) - SHOWN:,} more: {where} lists them.")
    code = outcome.exit_code
    if not outcome.destroyed:
        print("No record was destroyed, so no certificate was written.")
    elif not _documents(result) and code == EXIT_OK:
        code = EXIT_USAGE
    if outcome.entry is not None:
        print(f"Audit log entry {outcome.entry.seq}: SHA-256 {outcome.entry.hash}")
    if outcome.pending:
        print(f"Continue with: opus-desktop destroy --resume {run.id}")
    elif any(_retryable(record.message) for record in outcome.failed):
        print(f"Send the failed ones again with: opus-desktop destroy --retry-failed {run.id}")
    if outcome.error is not None:
        return fail(outcome.error.message, code)
    return code


def _report_finished(result: DestroyResult) -> int:
    """A run resumed or retried with nothing left to do: what it did, and its documents,
    which were not written again. Exit 0 (2 when a copy could not be made)."""
    outcome = result.outcome
    run = outcome.run
    line = (
        f"Run {run.id} is finished: {len(outcome.destroyed):,} destroyed, "
        f"{len(outcome.failed):,} not destroyed"
    )
    if outcome.not_sent:
        line += f", {len(outcome.not_sent):,} left out"
    print(line + ". Nothing is left to send, so nothing was sent.")
    if not outcome.destroyed:
        print("No record was destroyed, so there is no certificate.")
    elif result.written:
        if result.certificate is not None:
            print("It had no certificate where it goes (never written, or moved): written now.")
        if not _documents(result):
            return EXIT_USAGE
    else:
        if result.certificate is not None:
            print(f"Certificate of destruction: {result.certificate} (left as it was)")
        if result.manifest is not None:
            print(f"Manifest: {result.manifest} (SHA-256 {result.manifest_sha256})")
        if result.copy is not None:
            print(f"Copy of the certificate: {result.copy}")
            print(f"Copy of the manifest: {result.copy_manifest}")
    if any(_retryable(record.message) for record in outcome.failed):
        print(f"Send the failed ones again with: opus-desktop destroy --retry-failed {run.id}")
    if result.document_error and not result.written:
        return fail(result.document_error, EXIT_USAGE)
    return EXIT_OK


def _retryable(message: str) -> bool:
    """Whether sending again may change the answer (not for "already destroyed")."""
    return message.startswith(NOT_CONFIRMED) or reason_kind(message) not in (
        "already destroyed",
        "not found",
    )


def _documents(result: DestroyResult) -> bool:
    """Say where the certificate and its manifest went, or why they could not be written."""
    if result.certificate is None or result.manifest is None:
        print(
            f"opus-desktop: the certificate could not be written: {result.document_error} The "
            "disposal itself is journalled and audited; `opus-desktop destroy --resume "
            f"{result.run_id}` writes it once the cause is fixed.",
            file=sys.stderr,
        )
        return False
    pages = f"{result.pages} page{'s' * (result.pages != 1)}"
    print(f"Certificate of destruction: {result.certificate} ({pages})")
    print(f"Manifest: {result.manifest} (SHA-256 {result.manifest_sha256})")
    return True
