"""The journal's runs as the front ends show them: the list, one run, its report.

runs = list_runs(20)
shown = show_run("last")            # RunInfo, its failed items, first ones only
written = run_report(path, run_id)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opus_desktop.core.reports import ReportError
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.journal_types import Item, RunInfo
from opus_desktop.jobs.report import ReportSummary, write_run_report


@dataclass(frozen=True)
class ShownRun:
    info: RunInfo
    failed: list[Item]  # the first `limit` failed items, in order
    more_failed: int  # failed items beyond those


def list_runs(limit: int, journal_path: Path | None = None) -> list[RunInfo]:
    """The newest runs, newest first."""
    with Journal(journal_path) as journal:
        return journal.runs(limit)


def read_runs(path: Path, limit: int = 1000) -> list[RunInfo]:
    """Every run in the journal at `path`, newest first; none when there is no journal yet."""
    if not path.exists():
        return []
    with Journal(path) as journal:
        return journal.runs(limit=limit)


def read_items(path: Path, run_id: str) -> tuple[RunInfo, list[Item]]:
    """A run and every one of its items, in order."""
    with Journal(path) as journal:
        return journal.run(run_id), list(journal.items(run_id))


def run_info(run: str, journal_path: Path | None = None) -> RunInfo:
    """One run by id, unique start of an id, or "last"; RunNotFound otherwise."""
    with Journal(journal_path) as journal:
        return journal.run(run)


def show_run(
    run: str,
    limit: int,
    *,
    report: Path | None = None,
    journal_path: Path | None = None,
) -> tuple[ShownRun, ReportSummary | None]:
    """A run with its first `limit` failed items, and its report written to `report`."""
    with Journal(journal_path) as journal:
        info = journal.run(run)
        failed: list[Item] = []
        more = 0
        for item in journal.items(info.id, ["failed"]):
            if len(failed) < limit:
                failed.append(item)
            else:
                more += 1
        written = write_run_report(report, journal, info.id) if report is not None else None
    return ShownRun(info, failed, more), written


def run_report(path: Path, run_id: str, journal_path: Path | None = None) -> ReportSummary:
    with Journal(journal_path) as journal:
        return write_run_report(path, journal, run_id)


def check_report_path(path: Path | None) -> None:
    """Refuse a report name that cannot work before any work is done."""
    if path is None:
        return
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".csv"):
        raise ReportError(f"{path.name}: a report must be an .xlsx or a .csv file.")
    if not path.resolve().parent.is_dir():
        raise ReportError(f"Cannot write {path}: the folder {path.parent} does not exist.")
