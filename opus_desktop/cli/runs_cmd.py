"""`opus-desktop runs`: list the journal's runs, show one, resume it, send its failures again.

RUN is the 8-character id printed when a run started, a unique start of it, or `last`.
`resume` sends what is pending and, again, what was in flight when the run stopped (the
same row key and payload, so that is safe); stored records are never sent again.
`retry-failed` sends the records that failed again, after they were fixed in Opus or the
cause went away.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from opus_desktop.cli.exits import EXIT_OK
from opus_desktop.cli.inputs import terminal_prompt
from opus_desktop.cli.submit_cmd import (
    add_outage_argument,
    add_parallel_argument,
    drive,
    finish,
    print_failures,
)
from opus_desktop.jobs.journal_types import RunInfo
from opus_desktop.jobs.state import RunState
from opus_desktop.jobs.submit import SubmitSummary
from opus_desktop.usecases.connection import Access
from opus_desktop.usecases.runs import check_report_path, list_runs, run_info, show_run
from opus_desktop.usecases.submitting import Announce, Continue, RunStart, continue_run

SHOWN = 10
LISTED = 20


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("runs", help="list, show, resume or retry submit runs")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    actions.add_parser("list", help=f"the newest {LISTED} runs").set_defaults(func=run_list)

    show = actions.add_parser("show", help="one run's counts, state and failures")
    show.add_argument("run", metavar="RUN", help="a run id, or 'last'")
    show.add_argument(
        "--report",
        type=Path,
        metavar="OUT.xlsx",
        help="write every row's outcome and the failed rows, ready to fix and send again",
    )
    show.set_defaults(func=run_show)

    resume = actions.add_parser("resume", help="continue a run that stopped or was interrupted")
    resume.add_argument("run", metavar="RUN", help="a run id, or 'last'")
    add_outage_argument(resume)
    add_parallel_argument(resume)
    resume.set_defaults(func=run_resume, failed=False)

    retry = actions.add_parser("retry-failed", help="send a run's failed records again")
    retry.add_argument("run", metavar="RUN", help="a run id, or 'last'")
    add_outage_argument(retry)
    add_parallel_argument(retry)
    retry.set_defaults(func=run_resume, failed=True)


def run_list(args: argparse.Namespace) -> int:
    runs = list_runs(LISTED)
    if not runs:
        print("No runs yet: `opus-desktop submit` starts one.")
        return EXIT_OK
    header = (
        f"{'Run':<8}  {'Kind':<7}  {'Status':<11}  {'Started':<16}  "
        f"{'Stored':>7}  {'Failed':>6}  {'Skipped':>7}  {'Left':>6}  Profile / input"
    )
    print(header)
    for info in runs:
        counts = info.counts
        source = f" / {Path(info.input_path).name}" if info.input_path else ""
        print(
            f"{info.id:<8}  {info.kind:<7}  {info.status:<11}  {_when(info):<16}  "
            f"{counts.ok:>7,}  {counts.failed:>6,}  {counts.skipped:>7,}  "
            f"{counts.remaining:>6,}  {info.profile}{source}"
        )
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    check_report_path(args.report)
    shown, written = show_run(args.run, SHOWN, report=args.report)
    info = shown.info
    counts = info.counts
    rows = [
        ("Run", info.id),
        ("Kind", info.kind),
        ("Status", info.status + (" (resumable)" if info.resumable else "")),
        ("Profile", info.profile),
        ("Input", info.input_path or "-"),
        ("Started", _when(info)),
        ("Ended", info.ended.astimezone().strftime("%Y-%m-%d %H:%M") if info.ended else "-"),
        ("Conflict", str(info.options.get("conflict", "-"))),
        (
            "Records",
            f"{counts.total:,}: {counts.ok:,} stored, {counts.failed:,} failed, "
            f"{counts.skipped:,} skipped, {counts.remaining:,} not sent yet",
        ),
    ]
    dates = info.options.get("dates")
    if isinstance(dates, list):
        rows.extend(("Dates", f"{sentence}.") for sentence in dates)
    if info.note:
        rows.append(("Note", info.note))
    for label, value in rows:
        print(f"{label + ':':<10}{value}")
    if shown.failed:
        print("Failed:")
    print_failures(shown, written, "more (--report OUT.xlsx lists them all).")
    return EXIT_OK


def run_resume(args: argparse.Namespace) -> int:
    info = run_info(args.run)
    if info.kind == "destroy":
        from opus_desktop.cli import disposal_cmd

        return disposal_cmd.resume(info.id, failed=args.failed, outage_limit=args.outage_limit)
    request = Continue(
        info.id,
        Access(ask=terminal_prompt()),
        args.failed,
        args.outage_limit,
        allow_parallel=args.allow_parallel,
    )

    def send(state: RunState, announce: Announce) -> SubmitSummary:
        def told(start: RunStart) -> None:
            if start.input_changed:  # the sheet changed or went: said before it goes on
                print(f"Note: {start.input_changed}", flush=True)
            announce(start)

        return continue_run(request, state, told)

    return finish(drive(send, None), None)


def _when(info: RunInfo) -> str:
    return info.started.astimezone().strftime("%Y-%m-%d %H:%M")
