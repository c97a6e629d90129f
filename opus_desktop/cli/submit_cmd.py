"""`opus-desktop submit`: validate a sheet and send its valid rows to Opus as a journalled run.

The run is in the journal before the first call, so a crash, a kill or a lost network
loses nothing: `opus-desktop runs resume last` continues it. Ctrl-C cancels cleanly (the
calls under way finish and are journalled); a second Ctrl-C stops at once, which the
journal survives too.

One run per sheet and profile at a time: a second `submit` of the same file with the same
profile while one sends is refused with exit 2, naming the run that sends (`--allow-parallel`
sends it anyway).

`--dry-run` validates and builds every payload, then stops: no connection, no call and
no run in the journal (there is nothing to resume or report on later). With --report
it writes the same report a real run would, every valid row "pending".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from opus_desktop import settings as app_settings
from opus_desktop.cli.argtypes import int_between, seconds_between
from opus_desktop.cli.exits import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, fail
from opus_desktop.cli.inputs import (
    add_input_arguments,
    mapping_of,
    open_input,
    print_date_orders,
    profile_of,
    settings_of,
    terminal_prompt,
)
from opus_desktop.cli.parsing import examples
from opus_desktop.cli.progress import ProgressBar, duration
from opus_desktop.core.records import Record
from opus_desktop.core.reports import report_kind
from opus_desktop.core.validation import ValidationResult, validate
from opus_desktop.jobs.locks import SheetInUse
from opus_desktop.jobs.report import ReportSummary, failed_csv_path
from opus_desktop.jobs.state import RunState
from opus_desktop.jobs.submit import MAX_CONCURRENCY, SubmitSummary, conflict_option
from opus_desktop.usecases.connection import Access
from opus_desktop.usecases.runs import ShownRun, check_report_path, show_run
from opus_desktop.usecases.submitting import (
    Announce,
    NewRun,
    Origin,
    RunOptions,
    RunStart,
    dry_run_report,
    dry_run_sheet,
    file_stamp,
    sheet_records,
    start_run,
)

SHOWN = 10  # problems and failures listed on the terminal; the report holds them all
REPORT_HELP = (
    "write every row's outcome and the failed rows, ready to fix and send again (.xlsx; or "
    ".csv, which writes the failed rows to OUT.failed.csv beside it)"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "submit",
        help="send a sheet's records to Opus (journalled, resumable)",
        description="Validate a sheet and send its valid rows to Opus, 15 per call, several "
        "calls at a time, as a run in the journal: after a crash, a kill or a lost network, "
        "`opus-desktop runs resume last` goes on. Invalid rows are skipped and listed in the "
        "report. Ctrl-C cancels cleanly (the calls under way finish).",
        epilog=examples(
            "opus-desktop submit --profile Sandbox --input records.xlsx --report outcome.xlsx",
            "opus-desktop submit --profile Sandbox --input records.xlsx --dry-run",
            "opus-desktop submit --profile Sandbox --input register.csv --date-order DMY "
            "--conflict skip",
            "opus-desktop runs resume last          # after a crash or an outage",
        ),
    )
    add_input_arguments(parser)
    parser.add_argument(
        "--conflict",
        choices=("overwrite", "skip"),
        type=str.lower,
        metavar="overwrite|skip",
        default="overwrite",
        help="a record whose row key exists already: overwrite it or skip it "
        "(default: %(default)s)",
    )
    calls = app_settings.default_concurrency()  # the "Calls at a time" setting
    parser.add_argument(
        "--concurrency",
        type=int_between(1, MAX_CONCURRENCY),
        default=calls,
        metavar="N",
        help="calls in flight at once, fewer while the service is busy (default: %(default)s, "
        "the Calls at a time setting)",
    )
    add_outage_argument(parser)
    add_parallel_argument(parser)
    parser.add_argument(
        "--dry-run", action="store_true", help="validate and build every record; send nothing"
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="OUT.xlsx",
        help=REPORT_HELP,
    )
    parser.set_defaults(func=run)


def add_outage_argument(parser: argparse._ActionsContainer) -> None:
    limit = app_settings.outage_limit()  # the "Give up after" setting
    parser.add_argument(
        "--outage-limit",
        type=seconds_between(1, 86400),
        default=None,
        metavar="SECONDS",
        help="stop (to resume later) after this long without any answer "
        f"(default: {limit:g}, the Give up after setting)",
    )


def add_parallel_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-parallel",
        action="store_true",
        help="send even while another run sends the same sheet with the same profile",
    )


def run(args: argparse.Namespace) -> int:
    check_report_path(args.report)
    profile = profile_of(args)
    template = profile.template()
    settings = settings_of(args, profile)
    mapping = mapping_of(args, profile)
    checked = file_stamp(args.input)  # before the check: the run refuses a sheet changed since
    sheet = open_input(args)
    # Only a dry run keeps the records; a run journals them as the sheet is read again
    # (sheet_records), so memory stays flat however long the sheet.
    result = validate(sheet, template, settings, mapping, keep_records=args.dry_run)
    if result.blocked:
        for problem in result.sheet_problems:
            print(f"  {problem}")
        return fail(
            f"Nothing can be sent from {result.source.source}: a column every record needs has "
            "no header feeding it (listed above). Fix the mapping and try again.",
            EXIT_USAGE,
        )
    show_problems(result)
    print_date_orders(result.date_orders)
    for warning in result.warnings:
        print(f"Warning: {warning}")
    conflict = conflict_option(args.conflict)
    if args.dry_run:
        return dry_run(args, result)
    request = NewRun(
        profile,
        Access(ask=terminal_prompt()),
        RunOptions(conflict, args.concurrency, args.outage_limit, args.allow_parallel),
        Origin(
            args.input.resolve(),
            sheet.sheet,
            sheet.header_row,
            mapping=json.loads(mapping.to_json()) if mapping is not None else None,
            dates=tuple(result.date_orders),
            checked=checked,
        ),
    )

    def records() -> Iterator[Record]:
        return sheet_records(args.input, sheet.sheet, sheet.header_row, template, settings, mapping)

    summary = drive(
        lambda state, announce: start_run(request, records, state, announce), args.report
    )
    return finish(summary, args.report)


def show_problems(result: ValidationResult) -> None:
    for problem in result.problems[:SHOWN]:
        print(f"  {problem}")
    if len(result.problems) > SHOWN:
        print(f"  ... and {len(result.problems) - SHOWN} more problem(s).")


def dry_run(args: argparse.Namespace, result: ValidationResult) -> int:
    counted = dry_run_sheet(result, RunState())
    calls = counted.calls
    print(
        f"Dry run: {_records(counted.records)} would be sent in {calls} call{'s' * (calls != 1)}"
        + (f"; {_invalid_rows(counted.invalid)} would be skipped" if counted.invalid else "")
        + ". Nothing was sent."
    )
    if args.report is not None:
        print(report_written(dry_run_report(args.report, result, args.input)))
    return EXIT_OK if counted.invalid == 0 else EXIT_SOME_FAILED


def drive(
    send: Callable[[RunState, Announce], SubmitSummary | None], report: Path | None
) -> SubmitSummary | None:
    """Run `send` with a progress bar on stderr; Ctrl-C cancels it cleanly."""
    state = RunState()
    bar = ProgressBar()
    state.on_progress(bar.update)

    def announce(start: RunStart) -> None:
        for warning in start.warnings:
            print(f"Warning: {warning}", file=sys.stderr)
        print(started_line(start, report), flush=True)

    try:
        with cancel_on_interrupt(state):
            return send(state, announce)
    except SheetInUse as exc:
        raise SheetInUse(
            f"{exc.message} To send it anyway, add --allow-parallel.", exc.run_id
        ) from None
    finally:
        bar.close(state.progress())


def started_line(start: RunStart, report: Path | None) -> str:
    if start.resumed:
        note = ""
        if start.template_changed:
            note = (
                f'Note: the connection template of profile "{start.profile}" has changed '
                "since this run started; its records are sent as they were prepared.\n"
            )
        what = "failed records" if start.failed_only else "records"
        if not start.to_send:
            return (
                f"{note}Run {start.run_id}: no {what} to send ({start.stored:,} stored "
                "already), so nothing is sent."
            )
        return (
            f"{note}Run {start.run_id} resumed: {start.to_send:,} {what} to send "
            f"({start.stored:,} stored already)."
        )
    invalid = ""
    if start.skipped:
        where = "the report" if report else f"opus-desktop runs show {start.run_id}"
        invalid = (
            f", {start.skipped:,} invalid row{'s' * (start.skipped != 1)} skipped (see {where})"
        )
    return f"Run {start.run_id} started: {_records(start.to_send)} to send{invalid}."


@contextlib.contextmanager
def cancel_on_interrupt(state: RunState) -> Iterator[None]:
    """First Ctrl-C: cancel (the calls under way finish). Second: stop at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupted(signum: int, frame: FrameType | None) -> None:
        if state.cancel_requested:
            raise KeyboardInterrupt
        state.cancel()
        print(
            "\nCancelling: the calls under way finish first (Ctrl-C again stops at once).",
            file=sys.stderr,
            flush=True,
        )

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def finish(summary: SubmitSummary | None, report: Path | None) -> int:
    """Print the summary, the first failures and how to go on; write the report."""
    if summary is None:
        print("Cancelled before the run began: nothing was sent.")
        return 130
    counts = summary.counts
    words = {"done": "finished", "cancelled": "cancelled", "stopped": "stopped"}[summary.status]
    line = (
        f"Run {summary.run_id} {words} after {duration(summary.elapsed)}: "
        f"{counts.ok:,} stored, {counts.failed:,} failed, {counts.skipped:,} skipped"
    )
    if counts.remaining:
        line += f", {counts.remaining:,} not sent yet"
    print(line + ".")
    shown, written = show_run(summary.run_id, SHOWN, report=report)
    print_failures(shown, written, "more failed row(s).")
    if counts.remaining:
        print(f"Continue with: opus-desktop runs resume {summary.run_id}")
    elif counts.failed:
        print(f"Send the failed rows again with: opus-desktop runs retry-failed {summary.run_id}")
    if summary.error is not None:
        return fail(summary.error.message, summary.exit_code)
    return summary.exit_code


def print_failures(shown: ShownRun, written: ReportSummary | None, more: str) -> None:
    """The run's first failed rows, how many more there are, and the report written."""
    for item in shown.failed:
        print(f"  row {item.row} ({item.key}): {item.message}")
    if shown.more_failed:
        print(f"  ... and {shown.more_failed} {more}")
    if written is not None:
        print(report_written(written))
        if written.note:
            print(written.note)


def report_written(written: ReportSummary) -> str:
    """Where the report went: as .csv, its outcome and its failed rows are two files."""
    if report_kind(written.path) == "csv":
        return (
            f"Report written to {written.path} (every row's outcome) and "
            f"{failed_csv_path(written.path)} (the failed rows, ready to fix and send again)."
        )
    return f"Report written to {written.path}."


def _records(count: int) -> str:
    return f"{count:,} record{'s' * (count != 1)}"


def _invalid_rows(count: int) -> str:
    return f"{count:,} invalid row{'s' * (count != 1)}"
