"""`opus-desktop runs`: list the journal's runs, show one, resume it, send its failures again.

RUN is the 8-character id printed when a run started, a unique start of it, or `last`.
`resume` sends what is pending and, again, what was in flight when the run stopped (the
same row key and payload, so that is safe); stored records are never sent again.
`retry-failed` sends the records that failed again, after they were fixed in Opus or the
cause went away. `prune` drops the stored payloads of finished runs to make the journal
smaller; their outcomes stay.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from opus_desktop.cli.argtypes import int_between
from opus_desktop.cli.exits import EXIT_OK
from opus_desktop.cli.inputs import terminal_prompt
from opus_desktop.cli.submit_cmd import (
    REPORT_HELP,
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
from opus_desktop.usecases.runs import (
    check_report_path,
    list_runs,
    prune_runs,
    run_info,
    show_run,
)
from opus_desktop.usecases.submitting import Announce, Continue, RunStart, continue_run

SHOWN = 10
LISTED = 20
PRUNE_DAYS = 30


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "runs",
        help="list, show, resume, retry or prune runs",
        description="The runs in the journal: list them, show one with its failures, resume "
        "one that stopped, send a run's failed records again, or prune finished runs.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    actions.add_parser(
        "list",
        help=f"the newest {LISTED} runs",
        description=f"The newest {LISTED} runs, newest first: their counts, status and input.",
    ).set_defaults(func=run_list)

    show = actions.add_parser(
        "show",
        help="one run's counts, state and failures",
        description="One run's counts, status, settings and first failed rows; --report "
        "writes every row's outcome.",
    )
    show.add_argument("run", metavar="RUN", help="a run id, or 'last'")
    show.add_argument(
        "--report",
        type=Path,
        metavar="OUT.xlsx",
        help=REPORT_HELP,
    )
    show.set_defaults(func=run_show)

    resume = actions.add_parser(
        "resume",
        help="continue a run that stopped or was interrupted",
        description="Send what a run has not sent yet, and again what was in flight when it "
        "stopped (the same row key and payload: safe); stored records are never sent again.",
    )
    resume.add_argument("run", metavar="RUN", help="a run id, or 'last'")
    add_outage_argument(resume)
    add_parallel_argument(resume)
    resume.set_defaults(func=run_resume, failed=False)

    retry = actions.add_parser(
        "retry-failed",
        help="send a run's failed records again",
        description="Send a run's failed records again, as they were journalled, once they "
        "were fixed in Opus or the cause went away.",
    )
    retry.add_argument("run", metavar="RUN", help="a run id, or 'last'")
    add_outage_argument(retry)
    add_parallel_argument(retry)
    retry.set_defaults(func=run_resume, failed=True)

    prune = actions.add_parser(
        "prune",
        help="drop finished runs' stored payloads, keeping their outcomes and reports",
        description="Make the journal smaller: for each submit run that has nothing left to "
        "send and ended long enough ago, drop the payloads of its stored records (what was "
        "sent). Every record's row, key, state and message stays, so its report can still be "
        "written; failed and skipped records keep their payloads, to fix and send again. "
        "Runs interrupted while their sheet was read in (nothing of them sent) go whole.",
    )
    prune.add_argument(
        "--older-than",
        type=int_between(0, 36500),
        default=PRUNE_DAYS,
        metavar="DAYS",
        help=f"only runs that ended at least this many days ago (default {PRUNE_DAYS})",
    )
    prune.set_defaults(func=run_prune)


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


def run_prune(args: argparse.Namespace) -> int:
    done = prune_runs(args.older_than)
    days = f"{args.older_than} day{'s' * (args.older_than != 1)}"
    if done.pruned:
        print(
            f"Dropped the stored payloads of {done.records:,} stored record"
            f"{'s' * (done.records != 1)} in {_runs(done.pruned)}: {', '.join(done.pruned)}."
        )
        print(
            "Kept: every record's row, key, state and message (their reports can still be "
            "written), and the payloads of failed and skipped records (to fix and send again)."
        )
    if done.dropped:
        print(
            f"Dropped {_runs(done.dropped)} interrupted while the sheet was read in, of which "
            f"nothing was sent: {', '.join(done.dropped)}."
        )
    reasons: dict[str, list[str]] = {}
    for run_id, why in done.kept.items():
        reasons.setdefault(why, []).append(run_id)
    said = {
        "newer": f"ended less than {days} ago",
        "not finished": "not finished (resume them first)",
        "being sent": "being sent right now",
        "being read in": "being read in right now",
        "a disposal run": "disposal runs (their payloads are the audit's)",
        "nothing to drop": "no stored record's payload left to drop",
    }
    for why, ids in reasons.items():
        listed = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        print(f"Kept as they are, {said.get(why, why)}: {_runs(ids)} ({listed}).")
    if not done.pruned and not done.dropped:
        print(f"Nothing to prune: no finished submit run ended {days} ago or more.")
    else:
        print(f"The journal: {_mb(done.size_before)} before, {_mb(done.size_after)} now.")
    return EXIT_OK


def _runs(ids: Sequence[str]) -> str:
    return f"{len(ids):,} run{'s' * (len(ids) != 1)}"


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB" if size >= 1e6 else f"{size / 1e3:,.0f} KB"


def _when(info: RunInfo) -> str:
    return info.started.astimezone().strftime("%Y-%m-%d %H:%M")
