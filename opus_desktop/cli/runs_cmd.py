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

from opus_desktop.cli import EXIT_OK, submit_cmd
from opus_desktop.cli.submit_cmd import check_report_path, drive, finish, password_for
from opus_desktop.jobs.journal import Journal, RunInfo
from opus_desktop.jobs.report import file_sha256, write_run_report
from opus_desktop.jobs.submit import DEFAULT_CONCURRENCY, conflict_option, take_run
from opus_desktop.profiles import find_profile

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
    resume.set_defaults(func=run_resume, failed=False)

    retry = actions.add_parser("retry-failed", help="send a run's failed records again")
    retry.add_argument("run", metavar="RUN", help="a run id, or 'last'")
    retry.set_defaults(func=run_resume, failed=True)


def run_list(args: argparse.Namespace) -> int:
    with Journal() as journal:
        runs = journal.runs(LISTED)
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
    with Journal() as journal:
        info = journal.run(args.run)
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
        if info.note:
            rows.append(("Note", info.note))
        for label, value in rows:
            print(f"{label + ':':<10}{value}")
        failed = list(journal.items(info.id, ["failed"]))
        if failed:
            print("Failed:")
        for item in failed[:SHOWN]:
            print(f"  row {item.row} ({item.key}): {item.message}")
        if len(failed) > SHOWN:
            print(f"  ... and {len(failed) - SHOWN} more (--report OUT.xlsx lists them all).")
        if args.report is not None:
            written = write_run_report(args.report, journal, info.id)
            print(f"Report written to {written.path}.")
            if written.note:
                print(written.note)
    return EXIT_OK


def run_resume(args: argparse.Namespace) -> int:
    with Journal() as journal:
        info = journal.run(args.run)
        if info.kind == "destroy":
            from opus_desktop.cli import disposal_cmd

            return disposal_cmd.resume(info.id, failed=args.failed)
        profile = find_profile(info.profile)
        password = password_for(profile)
        from opus_desktop.jobs.connect import connect

        with connect(profile, password, retry=submit_cmd.retry_policy()) as connection:
            info = take_run(journal, info.id, failed=args.failed)
            if info.template_sha256 and _changed(profile.template_path, info.template_sha256):
                print(
                    f'Note: the connection template of profile "{profile.name}" has changed '
                    "since this run started; its records are sent as they were prepared."
                )
            counts = info.counts
            what = "failed records" if args.failed else "records"
            print(
                f"Run {info.id} resumed: {counts.remaining:,} {what} to send "
                f"({counts.ok:,} stored already).",
                flush=True,
            )
            concurrency = info.options.get("concurrency", DEFAULT_CONCURRENCY)
            summary = drive(
                journal,
                connection.client,
                info.id,
                concurrency if isinstance(concurrency, int) else DEFAULT_CONCURRENCY,
                conflict_option(str(info.options.get("conflict", "Overwrite"))),
            )
            return finish(journal, summary, None)


def _changed(path: Path, sha256: str) -> bool:
    try:
        return file_sha256(path) != sha256
    except OSError:
        return True


def _when(info: RunInfo) -> str:
    return info.started.astimezone().strftime("%Y-%m-%d %H:%M")
