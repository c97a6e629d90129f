"""The editor's draft in the journal, Qt-free: its rows as JSON, writing the rows that
changed, and at the next start what a previous session left unsent (find_unsent).

One journal draft row per editor row, keyed by the row's `seq` (its creation number,
which survives sorting, inserting and deleting): its values as the grid holds them (the
API value, or the value as given beside its problem), its sheet row, status and message.
Draft row ORDER_INDEX holds the grid's order as runs of seqs. The draft's meta names the
columns, the sheet, the runs sent from the grid and the run being sent, whose results the
journal knows better than a draft written just before a crash. gui/editor/drafts.py
decides when to write, in a worker.
"""

from __future__ import annotations

import logging
import math
import time as time_module
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from opus_desktop import paths
from opus_desktop.core.gcpause import collector_paused
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.journal_types import RunInfo
from opus_desktop.usecases.rows import (
    FAILED,
    GRID_STATUS,
    STORED,
    ColumnSet,
    KeyIndex,
    Row,
    Tally,
    tally,
)

log = logging.getLogger(__name__)

VERSION = 1
ORDER_INDEX = -1  # the draft row holding the grid's order
_YIELD_EVERY = 200  # rows encoded between two moments left to the window's thread


class DraftStore:
    """The journal as the editor's draft sees it: opened by the writing thread, used by it
    alone, closed when it ends."""

    def __init__(self, path: Path | None = None) -> None:
        self._journal = Journal(path)

    def write(
        self,
        profile: str,
        changed: Iterable[Row],
        removed: Iterable[int],
        order: Sequence[int] | None,
        meta: dict[str, Any],
        replace: bool,
    ) -> None:
        """Write the rows that changed and drop the removed ones (`replace`: only these)."""
        rows: dict[int, Any] = {seq: None for seq in removed}
        for number, row in enumerate(changed):
            if number % _YIELD_EVERY == 0:
                time_module.sleep(0)  # let the window's thread have the interpreter now and then
            rows[row.seq] = encode_row(row)
        if order is not None:
            rows[ORDER_INDEX] = order_runs(order)
        self._journal.save_draft(profile, rows, meta, replace=replace)

    def save_meta(self, profile: str, meta: dict[str, Any]) -> None:
        self._journal.save_draft(profile, {}, meta)

    def clear(self, profile: str) -> None:
        self._journal.clear_draft(profile)

    def close(self) -> None:
        self._journal.close()


# -- rows as JSON -------------------------------------------------------------------------------


def plain(value: object) -> object:
    """A cell value as JSON: values as given may be dates or odd numbers from a sheet."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$": "float", "v": repr(value)}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, datetime):
        return {"$": "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {"$": "date", "v": value.isoformat()}
    if isinstance(value, time):
        return {"$": "time", "v": value.isoformat()}
    return str(value)


def unplain(value: object) -> object:
    if isinstance(value, list):
        return [unplain(item) for item in value]
    if isinstance(value, dict):
        kind, text = value.get("$"), str(value.get("v", ""))
        if kind == "datetime":
            return datetime.fromisoformat(text)
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "time":
            return time.fromisoformat(text)
        if kind == "float":
            return float(text)
    return value


def encode_row(row: Row) -> list[object]:
    problems = sorted(row.problems.items()) if row.problems is not None else None
    return [[plain(v) for v in row.values], problems, row.source, row.status, row.message]


def decode_row(seq: int, data: list[Any]) -> Row:
    values, problems, source, status, message = data
    row = Row(
        [unplain(v) for v in values], {int(i): str(t) for i, t in problems or ()}, source, seq
    )
    row.status, row.message = str(status), str(message)
    return row


def order_runs(seqs: Sequence[int]) -> list[list[int]]:
    """[3, 4, 5, 9, 10] -> [[3, 3], [9, 2]]: (first seq, length) of each run."""
    runs: list[list[int]] = []
    for seq in seqs:
        if runs and runs[-1][0] + runs[-1][1] == seq:
            runs[-1][1] += 1
        else:
            runs.append([seq, 1])
    return runs


def in_order(rows: dict[int, Row], runs: object) -> list[Row]:
    """The rows in the stored order; rows it does not name follow by seq."""
    ordered: list[Row] = []
    if isinstance(runs, list):
        for first, length in runs:
            for seq in range(first, first + length):
                row = rows.pop(seq, None)
                if row is not None:
                    ordered.append(row)
    ordered += [rows[seq] for seq in sorted(rows)]
    return ordered


# -- at the next start ---------------------------------------------------------------------------


@dataclass
class Unsent:
    """What a previous session left unsent, for the restore prompt."""

    profile: str
    rows: list[Row] = field(default_factory=list)
    keys: KeyIndex | None = None
    counts: Tally = (0, 0, 0)
    meta: dict[str, Any] = field(default_factory=dict)
    updated: datetime | None = None
    not_stored: int = 0
    unusable: str = ""  # why the draft's rows cannot be shown (another template)
    run: RunInfo | None = None  # the run to resume
    others: list[RunInfo] = field(default_factory=list)  # other interrupted runs

    @property
    def empty(self) -> bool:
        return not self.rows and self.run is None and not self.others

    @property
    def failed_rows(self) -> list[Row]:
        return [row for row in self.rows if row.status == FAILED]


def find_unsent(
    profile: str, columns: ColumnSet | None, journal_path: Path | None = None
) -> Unsent:
    """The profile's draft (its rows decoded, statuses set from the journal for a run
    that was being sent) and the submit runs a previous session left unfinished."""
    found = Unsent(profile)
    path = journal_path if journal_path is not None else paths.journal_path()
    if not path.exists():
        return found
    with Journal(path) as journal:
        draft = journal.load_draft(profile)
        if draft is not None:
            found.meta, found.updated = dict(draft.meta), draft.updated
            _decode(found, draft.rows, columns, journal)
        interrupted = [run for run in journal.find_interrupted() if run.kind == "submit"]
        candidates = [run for run in interrupted if run.profile == profile]
        runs = found.meta.get("runs")
        if isinstance(runs, list) and runs:
            try:
                last = journal.run(str(runs[-1]))
            except Exception:  # the run was removed from the journal: nothing to resume
                log.info("the draft's run %s is not in the journal", runs[-1])
            else:
                if last.resumable and last.kind == "submit":
                    candidates.insert(0, last)
        found.run = candidates[0] if candidates else None
        found.others = [run for run in interrupted if found.run is None or run.id != found.run.id]
    return found


def _decode(
    found: Unsent, stored: dict[int, Any], columns: ColumnSet | None, journal: Journal
) -> None:
    names = found.meta.get("columns")
    if columns is None:
        found.unusable = "No profile gives the grid its columns."
        return
    if names != list(columns.names):
        found.unusable = (
            "They were made for other columns than the profile's connection template has now."
        )
        return
    order = stored.pop(ORDER_INDEX, None)
    with collector_paused(freeze=True):
        rows = in_order({seq: decode_row(seq, data) for seq, data in stored.items()}, order)
        sending = found.meta.get("sending")
        if isinstance(sending, str) and sending:
            # The draft was written while this run sent; the journal has its last word.
            by_key = {
                row.values[columns.key_index]: row
                for row in rows
                if isinstance(row.values[columns.key_index], str)
            }
            for item in journal.items(sending):
                row = by_key.get(item.key)
                if row is not None:
                    row.status = GRID_STATUS[item.state]
                    row.message = item.message if item.state != "ok" else ""
        for row in rows:  # a warning is not stored with the row: the times are compared again
            columns.mark_order(row)
        keys = KeyIndex(columns.key_index)
        keys.build(sorted(rows, key=lambda r: r.seq))
        found.rows, found.keys, found.counts = rows, keys, tally(rows)
    found.not_stored = sum(1 for row in rows if row.status != STORED)
