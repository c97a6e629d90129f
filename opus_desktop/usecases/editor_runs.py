"""Submit runs from the rows the editor holds: its rows made into records for the use
cases in submitting.py (which the command line calls with a sheet), and the journal's
word about a row turned into the grid's status. The window's Tasks run these in a worker.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from opus_desktop.core.records import Record
from opus_desktop.jobs.state import RunState
from opus_desktop.jobs.submit import SubmitSummary
from opus_desktop.profiles import Profile
from opus_desktop.usecases.connection import Access
from opus_desktop.usecases.rows import GRID_STATUS, ColumnSet, Row
from opus_desktop.usecases.submitting import (
    Announce,
    Continue,
    DryRunCount,
    NewRun,
    Origin,
    RunOptions,
    RunStart,
    continue_run,
    dry_run,
    start_run,
)

YIELD_EVERY = 200  # rows made between two moments left to the window's thread


@dataclass(frozen=True)
class SendRequest:
    """Rows of the grid to send as a new run. The rows are read in the worker; the grid
    stays locked until the run is journalled. Rows with problems are journalled as
    skipped (the panel sends them only when asked to send the valid rows alone)."""

    profile: Profile
    access: Access
    rows: Sequence[Row]
    columns: ColumnSet
    options: RunOptions
    sheet: str | None = None
    input_path: Path | None = None
    header_row: int | None = None
    input_unchanged: bool = False  # the grid holds the input's rows as read (no edits)
    mapping: Mapping[str, Any] | None = None
    journal_path: Path | None = None


def records_of(rows: Iterable[Row], columns: ColumnSet, sheet: str | None) -> list[Record]:
    record = columns.record
    made: list[Record] = []
    for number, row in enumerate(rows):
        if number % YIELD_EVERY == 0:
            time.sleep(0)  # let the window's thread have the interpreter now and then
        made.append(record(row, sheet))
    return made


def send_rows(request: SendRequest, state: RunState, announce: Announce) -> SubmitSummary | None:
    """Journal the rows as a new run and send it; None if cancelled before it began."""
    origin = Origin(
        request.input_path,
        request.sheet,
        request.header_row,
        request.input_unchanged,
        request.mapping,
        editor=True,
    )
    run = NewRun(request.profile, request.access, request.options, origin, request.journal_path)
    return start_run(
        run, lambda: records_of(request.rows, request.columns, request.sheet), state, announce
    )


def continue_rows(
    request: Continue, grid: Sequence[Row], key_index: int, state: RunState, announce: Announce
) -> SubmitSummary:
    """Resume (or retry the failures of) a run; RunStart.states then holds, for the rows
    of `grid`, the grid status and message the journal gives where they differ."""
    shown = {
        key: (row.status, row.message)
        for row in grid
        if isinstance(key := row.values[key_index], str) and key
    }

    def corrected(start: RunStart) -> None:
        found: dict[str, tuple[str, str]] = {}
        for key, (state_name, message) in start.states.items():
            wanted = (GRID_STATUS[state_name], message if state_name != "ok" else "")
            if shown.get(key) != wanted:
                found[key] = wanted
        announce(replace(start, states=found))

    watched = Continue(
        request.run_id,
        request.access,
        request.failed_only,
        request.outage_limit,
        request.journal_path,
        watch=shown.keys(),
    )
    return continue_run(watched, state, corrected)


def dry_run_rows(
    rows: Sequence[Row], columns: ColumnSet, sheet: str | None, state: RunState
) -> DryRunCount:
    """Build and encode every valid row's payload as the client would; nothing is sent."""
    return dry_run(records_of(rows, columns, sheet), state, len(rows))
