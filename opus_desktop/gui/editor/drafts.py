"""The editor's rows kept in the journal as a draft, so a close, a crash or a kill loses nothing.

    keeper = DraftKeeper(model, runner)
    keeper.set_profile("Sandbox")           # a draft per profile
    ...edits, imports and run results are written a second after they stop...
    keeper.close(drop=everything_stored)    # a clean close: the last changes, or no draft
    found = find_unsent("Sandbox", columns) # at the next start (in a worker): what to offer

One journal draft row per editor row, keyed by the row's `seq` (its creation number,
which survives sorting, inserting and deleting): its values as the grid holds them (the
API value, or the value as given beside its problem), its sheet row, status and message.
Draft row ORDER_INDEX holds the grid's order as runs of seqs. Only rows that changed
since the last write are written (a new sheet replaces them all), by one worker thread,
a write at a time and in order; the GUI thread only notes which rows changed. The
draft's meta names the columns, the sheet, the runs sent from the grid and the run
being sent, whose results the journal knows better than a draft written just before a
crash.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time as time_module
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QModelIndex, QObject, QTimer, Signal, Slot

from opus_desktop import paths
from opus_desktop.core.gcpause import collector_paused
from opus_desktop.gui.editor.model import RecordsModel
from opus_desktop.gui.editor.rows import (
    FAILED,
    STORED,
    ColumnSet,
    KeyIndex,
    Row,
    Tally,
    tally,
)
from opus_desktop.gui.submit.results import GRID_STATUS
from opus_desktop.gui.workers import Task, TaskRunner
from opus_desktop.jobs.journal import Journal, RunInfo
from opus_desktop.jobs.state import RunState

log = logging.getLogger(__name__)

VERSION = 1
ORDER_INDEX = -1  # the draft row holding the grid's order
QUIET_MS = 1000  # write once changes have stopped this long...
LONGEST_WAIT_MS = 5000  # ...or this long after the first unwritten change
RETRY_MS = 30_000  # after a failed write, the next try
_YIELD_EVERY = 200  # rows encoded between two moments left to the window's thread
_IDLE_POLL = 0.1  # seconds the writer waits for work before looking at cancel
_IDLE_END = 1.0  # seconds without work after which the writing thread ends

Job = Callable[[Journal], None]


def tr(text: str) -> str:
    return QCoreApplication.translate("DraftKeeper", text)


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


# -- writing ------------------------------------------------------------------------------------


def _write(
    journal: Journal,
    profile: str,
    changed: Iterable[Row],
    removed: Iterable[int],
    order: Sequence[int] | None,
    meta: dict[str, Any],
    replace: bool,
) -> None:
    rows: dict[int, Any] = {seq: None for seq in removed}
    for number, row in enumerate(changed):
        if number % _YIELD_EVERY == 0:
            time_module.sleep(0)  # let the window's thread have the interpreter now and then
        rows[row.seq] = encode_row(row)
    if order is not None:
        rows[ORDER_INDEX] = order_runs(order)
    journal.save_draft(profile, rows, meta, replace=replace)


class _Writer:
    """The writing thread's loop: jobs in order, until none came for a while or the
    window joins its threads (cancel), and then only once the queue is empty. A job put
    after the loop decided to end starts a new loop, never two at once."""

    def __init__(self, path: Callable[[], Path | None], report: Callable[[str], None]) -> None:
        self._path = path
        self._report = report
        self._jobs: queue.Queue[Job] = queue.Queue()
        self._lock = threading.Lock()
        self._alive = False

    @property
    def busy(self) -> bool:
        """Jobs are waiting or being written."""
        return self._jobs.unfinished_tasks > 0

    def put(self, job: Job) -> bool:
        """Queue a job; True when no loop is running and the caller must start one."""
        with self._lock:
            self._jobs.put(job)
            if self._alive:
                return False
            self._alive = True
            return True

    def run(self, state: RunState) -> None:
        journal: Journal | None = None
        idle = 0.0
        ended = False
        try:
            while True:
                try:
                    job = self._jobs.get(timeout=_IDLE_POLL)
                except queue.Empty:
                    idle += _IDLE_POLL
                    with self._lock:
                        if self._jobs.empty() and (state.cancel_requested or idle >= _IDLE_END):
                            self._alive, ended = False, True
                            return
                    continue
                idle = 0.0
                try:
                    if journal is None:
                        journal = Journal(self._path())
                    job(journal)
                except Exception as exc:  # the next change tries again; the user is told
                    log.warning("the draft could not be written: %s", exc, exc_info=True)
                    self._report(str(exc))
                finally:
                    self._jobs.task_done()
        finally:
            if not ended:  # an error ended the loop: the next job starts another
                with self._lock:
                    self._alive = False
            if journal is not None:
                journal.close()


class DraftKeeper(QObject):
    """Notes which rows change and writes them, debounced, in a worker thread.

    Signals:
        failed(str): a write failed (the sentence of the error); edits go on being kept.
    """

    failed = Signal(str)

    def __init__(
        self, model: RecordsModel, runner: TaskRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.runner = runner
        self.journal_path: Path | None = None
        self.profile: str | None = None
        self.meta: dict[str, Any] = {}
        self.healthy = True  # False once a write failed
        self.owns = False  # the grid's rows are this profile's draft (written or restored)
        self._dirty: dict[int, Row] = {}
        self._removed: set[int] = set()
        self._order = False
        self._replace = False
        self._meta_changed = False
        self._quiet_reset = False
        self._held = False
        self._writer = _Writer(lambda: self.journal_path, self.failed.emit)
        self._quiet = QTimer(self)
        self._quiet.setSingleShot(True)
        self._quiet.setInterval(QUIET_MS)
        self._quiet.timeout.connect(self.flush)
        self._longest = QTimer(self)
        self._longest.setSingleShot(True)
        self._longest.setInterval(LONGEST_WAIT_MS)
        self._longest.timeout.connect(self.flush)
        self.failed.connect(self._failed)
        model.dataChanged.connect(self._data_changed)
        model.rowsInserted.connect(self._rows_inserted)
        model.rowsAboutToBeRemoved.connect(self._rows_removed)
        model.layoutChanged.connect(self._reordered)
        model.modelReset.connect(self._reset)

    @property
    def writing(self) -> bool:
        """Changes are handed to the writer and not all in the journal yet."""
        return self._writer.busy

    @property
    def pending(self) -> bool:
        return bool(
            self._dirty or self._removed or self._order or self._replace or self._meta_changed
        )

    # -- what the tab tells it ------------------------------------------------------------

    def set_profile(self, name: str | None) -> None:
        """Keep the draft of profile `name` from now on (what is unwritten goes to the old)."""
        if name == self.profile:
            return
        self.flush()
        self.profile = name
        self.owns = False
        if name is not None and self.model.rowCount():
            self._replace = True  # the rows stay in the grid: they are this profile's now
            self._changed()

    def update_meta(self, **values: Any) -> None:
        self.meta.update(values)
        self._meta_changed = True
        if self._held:
            self.flush()  # the meta alone, at once: it names the run being sent
        else:
            self._changed()

    def hold(self, held: bool) -> None:
        """While the grid's rows are sent, only the meta is written: the rows change only
        in status then, which the journal records better (a restore takes the statuses
        of the run being sent from it). Holding writes what is pending first; letting go
        writes what changed meanwhile, a moment later."""
        if held == self._held:
            return
        if held:
            self.flush()
        self._held = held
        if not held and self.pending:
            self._changed()

    def adopt(self, meta: dict[str, Any]) -> None:
        """The grid now shows what the draft holds (a restore): nothing to write."""
        self.meta = dict(meta)
        self.owns = True
        self._dirty.clear()
        self._removed.clear()
        self._order = self._replace = self._meta_changed = False

    def restoring(self) -> None:
        """The next reset of the model loads the draft itself: do not write it back."""
        self._quiet_reset = True

    def discard(self, profile: str) -> None:
        """Forget the draft of `profile` (the user chose not to restore it)."""
        self._submit(lambda journal: journal.clear_draft(profile))

    def close(self, all_stored: bool) -> None:
        """A clean close: write what is left, or drop the draft when every row of the
        grid is stored (an empty grid only if this session emptied it). The writer
        finishes its queue when the window joins its threads."""
        self._quiet.stop()
        self._longest.stop()
        self._held = False
        if self.profile is None:
            return
        if all_stored and (self.owns or self.pending):
            self._dirty.clear()
            self._removed.clear()
            self._order = self._replace = self._meta_changed = False
            self.discard(self.profile)
        else:
            self.flush()

    @Slot()
    def flush(self) -> None:
        """Hand the changes noted so far to the writer (in order after earlier ones)."""
        self._quiet.stop()
        self._longest.stop()
        profile = self.profile
        if profile is None or not self.pending:
            self._dirty.clear()
            self._removed.clear()
            self._order = self._replace = self._meta_changed = False
            return
        if self._held:
            if self._meta_changed:
                self._meta_changed = False
                meta = self._meta_now()
                self._submit(lambda journal: journal.save_draft(profile, {}, meta))
            return
        replace = self._replace
        changed: list[Row] = list(self.model.rows()) if replace else list(self._dirty.values())
        removed = () if replace else tuple(self._removed)
        order = [row.seq for row in self.model.rows()] if (replace or self._order) else None
        meta = self._meta_now()
        self._dirty.clear()
        self._removed.clear()
        self._order = self._replace = self._meta_changed = False
        self.owns = True
        self._submit(
            lambda journal: _write(journal, profile, changed, removed, order, meta, replace)
        )

    def _meta_now(self) -> dict[str, Any]:
        meta = dict(self.meta, version=VERSION, rows=self.model.rowCount())
        if self.model.columns is not None:
            meta["columns"] = list(self.model.columns.names)
        return meta

    # -- the model's signals ----------------------------------------------------------------

    def _data_changed(self, top: QModelIndex, bottom: QModelIndex, *_: object) -> None:
        if self._replace or self.profile is None:
            return
        rows = self.model.rows()
        for position in range(top.row(), min(bottom.row() + 1, len(rows))):
            row = rows[position]
            self._dirty[row.seq] = row
        self._changed()

    def _rows_inserted(self, _: QModelIndex, first: int, last: int) -> None:
        rows = self.model.rows()
        for position in range(first, last + 1):
            row = rows[position]
            self._dirty[row.seq] = row
            self._removed.discard(row.seq)
        self._order = True
        self._changed()

    def _rows_removed(self, _: QModelIndex, first: int, last: int) -> None:
        rows = self.model.rows()
        for position in range(first, last + 1):
            seq = rows[position].seq
            self._dirty.pop(seq, None)
            self._removed.add(seq)
        self._order = True
        self._changed()

    def _reordered(self, *_: object) -> None:
        self._order = True
        self._changed()

    def _reset(self) -> None:
        if self._quiet_reset:
            self._quiet_reset = False
            return
        if self.model.rowCount() == 0:
            return  # an empty grid: a profile or template change, not the user's work
        self._replace = True
        self._dirty.clear()
        self._removed.clear()
        self._changed()

    def _changed(self) -> None:
        if self.profile is None or self._held:
            return
        self._quiet.start()
        if not self._longest.isActive():
            self._longest.start()

    # -- the writer -----------------------------------------------------------------------

    def _submit(self, job: Job) -> None:
        if self._writer.put(job):
            self.runner.start(Task(self._writer.run, "drafts"))

    @Slot(str)
    def _failed(self, why: str) -> None:
        # What that write held is written again, whole, a while later.
        self.healthy = False
        self._replace = True
        QTimer.singleShot(RETRY_MS, self._changed)


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
        found.unusable = tr("No profile gives the grid its columns.")
        return
    if names != list(columns.names):
        found.unusable = tr(
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
        keys = KeyIndex(columns.key_index)
        keys.build(sorted(rows, key=lambda r: r.seq))
        found.rows, found.keys, found.counts = rows, keys, tally(rows)
    found.not_stored = sum(1 for row in rows if row.status != STORED)
