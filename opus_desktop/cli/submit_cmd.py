"""`opus-desktop submit`: validate a sheet and send its valid rows to Opus as a journalled run.

The run is in the journal before the first call, so a crash, a kill or a lost network
loses nothing: `opus-desktop runs resume last` continues it. Ctrl-C cancels cleanly (the
calls under way finish and are journalled); a second Ctrl-C stops at once, which the
journal survives too.

`--dry-run` validates and builds every payload, then stops: no connection, no call and
no run in the journal (there is nothing to resume or report on later). With --report
it writes the same report a real run would, every valid row "pending".
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import math
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from opus_desktop import settings as app_settings
from opus_desktop.cli import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, fail
from opus_desktop.cli.argtypes import int_between
from opus_desktop.cli.inputs import add_input_arguments, mapping_of, open_input, profile_of
from opus_desktop.cli.progress import ProgressBar, duration
from opus_desktop.core.reports import ReportError
from opus_desktop.core.validation import ValidationResult, validate
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.report import (
    Source,
    file_sha256,
    validation_outcomes,
    write_report,
    write_run_report,
)
from opus_desktop.jobs.state import RunState
from opus_desktop.jobs.submit import (
    DEFAULT_OUTAGE_LIMIT,
    MAX_CONCURRENCY,
    SubmitRun,
    SubmitSummary,
    Submitter,
    conflict_option,
    create_submit_run,
)
from opus_desktop.opus.client import MAX_PER_CALL
from opus_desktop.opus.retry import RetryPolicy
from opus_desktop.profiles import Profile, ProfileError, certificate_password

# Seconds without any answer before a run stops (exit 4); tests shorten it.
OUTAGE_LIMIT = DEFAULT_OUTAGE_LIMIT
SHOWN = 10  # problems and failures listed on the terminal; the report holds them all


def retry_policy() -> RetryPolicy:
    """The client's own retries for each call; the run retries released batches beyond."""
    return RetryPolicy()


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "submit",
        help="send a sheet's records to Opus (journalled, resumable)",
        description="Validate a sheet and send its valid rows to Opus, 15 per call, several "
        "calls at a time. Invalid rows are skipped and listed in the report. Exit 0 when every "
        "row was stored, 1 when some failed or were invalid, 2 for bad input, 3 when signing "
        "in failed, 4 when the service could not be reached.",
    )
    add_input_arguments(parser)
    parser.add_argument(
        "--conflict",
        choices=("overwrite", "skip"),
        type=str.lower,
        default="overwrite",
        help="a record whose row key exists already: replace it (default) or leave it",
    )
    calls = app_settings.default_concurrency()  # the "Calls at a time" setting
    parser.add_argument(
        "--concurrency",
        type=int_between(1, MAX_CONCURRENCY),
        default=calls,
        metavar="N",
        help=f"calls in flight at once (default {calls}; fewer while the service is busy)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="validate and build every record; send nothing"
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="OUT.xlsx",
        help="write every row's outcome and the failed rows, ready to fix and send again",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_report_path(args.report)
    profile = profile_of(args)
    template = profile.template()
    settings = profile.value_settings()
    mapping = mapping_of(args, profile)
    sheet = open_input(args)
    result = validate(sheet, template, settings, mapping)
    if result.blocked:
        for problem in result.sheet_problems:
            print(f"  {problem}")
        return fail(
            f"Nothing can be sent from {result.source.source}: a column every record needs has "
            "no header feeding it (listed above). Fix the mapping and try again.",
            EXIT_USAGE,
        )
    show_problems(result)
    conflict = conflict_option(args.conflict)
    if args.dry_run:
        return dry_run(args, result)

    password = password_for(profile)
    from opus_desktop.jobs.connect import connect

    with connect(profile, password, retry=retry_policy()) as connection, Journal() as journal:
        warning = connection.certificate_warning
        if warning:
            print(f"Warning: {warning}", file=sys.stderr)
        if connection.tls_warning:
            print(f"Warning: {connection.tls_warning}", file=sys.stderr)
        new = create_submit_run(
            journal,
            profile.name,
            result,
            input_path=args.input.resolve(),
            input_hash=file_sha256(args.input),
            template_hash=file_sha256(profile.template_path),
            mapping=json.loads(mapping.to_json()) if mapping is not None else None,
            options={
                "conflict": conflict,
                "concurrency": args.concurrency,
                "sheet": sheet.sheet,
                "header_row": sheet.header_row,
            },
        )
        invalid = ""
        if new.invalid:
            where = "the report" if args.report else f"opus-desktop runs show {new.run_id}"
            invalid = (
                f", {new.invalid:,} invalid row{'s' * (new.invalid != 1)} skipped (see {where})"
            )
        print(f"Run {new.run_id} started: {_records(new.to_send)} to send{invalid}.", flush=True)
        summary = drive(journal, connection.client, new.run_id, args.concurrency, conflict)
        return finish(journal, summary, args.report)


def check_report_path(path: Path | None) -> None:
    """Refuse a report name that cannot work before any work is done."""
    if path is None:
        return
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".csv"):
        raise ReportError(f"{path.name}: a report must be an .xlsx or a .csv file.")
    if not path.resolve().parent.is_dir():
        raise ReportError(f"Cannot write {path}: the folder {path.parent} does not exist.")


def show_problems(result: ValidationResult) -> None:
    for problem in result.problems[:SHOWN]:
        print(f"  {problem}")
    if len(result.problems) > SHOWN:
        print(f"  ... and {len(result.problems) - SHOWN} more problem(s).")


def dry_run(args: argparse.Namespace, result: ValidationResult) -> int:
    valid = [record for record in result.records if result.is_valid(record)]
    for record in valid:
        json.dumps(record.payload(), ensure_ascii=False, allow_nan=False)  # as the client would
    calls = math.ceil(len(valid) / MAX_PER_CALL)
    invalid = result.rows - len(valid)
    print(
        f"Dry run: {_records(len(valid))} would be sent in {calls} call{'s' * (calls != 1)}"
        + (f"; {_invalid_rows(invalid)} would be skipped" if invalid else "")
        + ". Nothing was sent."
    )
    if args.report is not None:
        source = Source(
            args.input, file_sha256(args.input), result.source.sheet, result.source.header_row
        )
        report = write_report(
            args.report, validation_outcomes(result, "Not sent: dry run."), source
        )
        print(f"Report written to {report.path}.")
    return EXIT_OK if invalid == 0 else EXIT_SOME_FAILED


def drive(
    journal: Journal, client: Submitter, run_id: str, calls: int, conflict: str
) -> SubmitSummary:
    """Run a held submit run with a progress bar on stderr; Ctrl-C cancels it cleanly."""
    state = RunState()
    bar = ProgressBar()
    state.on_progress(bar.update)
    try:
        with cancel_on_interrupt(state):
            return SubmitRun(
                journal,
                client,
                run_id,
                state,
                concurrency=calls,
                conflict=conflict,
                outage_limit=OUTAGE_LIMIT,
            ).run()
    finally:
        bar.close(state.progress())


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


def finish(journal: Journal, summary: SubmitSummary, report: Path | None) -> int:
    """Print the summary, the first failures and how to go on; write the report."""
    counts = summary.counts
    words = {"done": "finished", "cancelled": "cancelled", "stopped": "stopped"}[summary.status]
    line = (
        f"Run {summary.run_id} {words} after {duration(summary.elapsed)}: "
        f"{counts.ok:,} stored, {counts.failed:,} failed, {counts.skipped:,} skipped"
    )
    if counts.remaining:
        line += f", {counts.remaining:,} not sent yet"
    print(line + ".")
    failed = list(journal.items(summary.run_id, ["failed"]))
    for item in failed[:SHOWN]:
        print(f"  row {item.row} ({item.key}): {item.message}")
    if len(failed) > SHOWN:
        print(f"  ... and {len(failed) - SHOWN} more failed row(s).")
    if report is not None:
        written = write_run_report(report, journal, summary.run_id)
        print(f"Report written to {written.path}.")
        if written.note:
            print(written.note)
    if counts.remaining:
        print(f"Continue with: opus-desktop runs resume {summary.run_id}")
    elif counts.failed:
        print(f"Send the failed rows again with: opus-desktop runs retry-failed {summary.run_id}")
    if summary.error is not None:
        return fail(summary.error.message, summary.exit_code)
    return summary.exit_code


def password_for(profile: Profile) -> str | None:
    """From the profile's variable or the keyring; else typed in, if there is a terminal."""
    from opus_desktop.jobs.connect import password_needed

    password = certificate_password(profile)
    if password is not None or not password_needed(profile):
        return password
    if sys.stdin is not None and sys.stdin.isatty():
        return certificate_password(profile, getpass.getpass)
    certificate = profile.cert_pfx or profile.key_pem
    raise ProfileError(
        f'The certificate {certificate} of profile "{profile.name}" needs its password, but '
        "none is set in the environment variable the profile names or stored in the keyring, "
        "and there is no terminal to type it in."
    )


def _records(count: int) -> str:
    return f"{count:,} record{'s' * (count != 1)}"


def _invalid_rows(count: int) -> str:
    return f"{count:,} invalid row{'s' * (count != 1)}"
