"""The editor's rows kept in the journal as a draft, so a close, a crash or a kill loses nothing.

    keeper = DraftKeeper(model, runner)
    keeper.set_profile("Sandbox")           # a draft per profile
    ...edits, imports and run results are written a second after they stop...
    keeper.close(drop=everything_stored)    # a clean close: the last changes, or no draft

Only rows that changed since the last write are written (a new sheet replaces them all),
by one worker thread, a write at a time and in order; the GUI thread only notes which rows
changed. What a draft holds, and what the next start finds (find_unsent), is in
usecases/drafts.py.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QModelIndex, QObject, QTimer, Signal, Slot

from opus_desktop.gui.editor.model import RecordsModel
from opus_desktop.gui.workers import Task, TaskRunner
from opus_desktop.jobs.state import RunState
from opus_desktop.usecases.drafts import VERSION, DraftStore
from opus_desktop.usecases.rows import (
    Row,
)

log = logging.getLogger(__name__)

QUIET_MS = 1000  # write once changes have stopped this long...
LONGEST_WAIT_MS = 5000  # ...or this long after the first unwritten change
RETRY_MS = 30_000  # after a failed write, the next try
_IDLE_POLL = 0.1  # seconds the writer waits for work before looking at cancel
_IDLE_END = 1.0  # seconds without work after which the writing thread ends

Job = Callable[[DraftStore], None]


def tr(text: str) -> str:
    return QCoreApplication.translate("DraftKeeper", text)


# -- writing ------------------------------------------------------------------------------------


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
        journal: DraftStore | None = None
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
                        journal = DraftStore(self._path())
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
        self._submit(lambda store: store.clear(profile))

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
                self._submit(lambda store: store.save_meta(profile, meta))
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
        self._submit(lambda store: store.write(profile, changed, removed, order, meta, replace))

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
