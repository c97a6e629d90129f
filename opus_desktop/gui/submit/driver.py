"""One submit run at a time for the whole window, as a Task: new, resumed or retried.

    driver = SubmitDriver(runner, window)
    driver.batch.connect(grid.show_results)
    driver.send(profile, make_request)         # make_request(access) -> SendRequest
    driver.resume(run_id, profile_name)        # the Runs tab, or the restore prompt
    driver.cancel()                            # the calls under way finish first

The Records tab's submit panel and the Runs tab share one driver, so the window never
sends two runs at once and closing it has one run to stop. The certificate's password
comes from the profile's environment variable or the keyring, else the password dialog
asks (once; it is then remembered for the session).

Signals (GUI thread):
    started(RunStart): the run is journalled; its results follow.
    progress(Progress): counts, rate and time left; at most every SHOW_MS.
    batch(BatchResult): one call's outcome (or records put back to pending); those that
        came in during SHOW_MS are emitted together, in order, so the grid repaints once.
    ended(RunEnd): always last: the summary, the dry run's count, or the error.
    busy_changed(bool): a task began (True) or ended (False).
    message(str): a sentence for the status bar.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QDialog, QWidget

from opus_desktop.errors import AppError
from opus_desktop.gui.connection.password_dialog import PasswordDialog
from opus_desktop.gui.workers import Task, TaskRunner
from opus_desktop.jobs.state import BatchResult, Progress, RunState
from opus_desktop.jobs.submit import SubmitSummary
from opus_desktop.profiles import Profile, find_profile
from opus_desktop.usecases.connection import Access, try_open
from opus_desktop.usecases.editor_runs import SendRequest, continue_rows, dry_run_rows, send_rows
from opus_desktop.usecases.rows import ColumnSet, Row
from opus_desktop.usecases.submitting import Continue, DryRunCount, RunStart

if TYPE_CHECKING:
    from opus_desktop.jobs.connect import Connection

log = logging.getLogger(__name__)


SHOW_MS = 250  # results reach the window in bursts: a repaint of the grid per burst


def tr(text: str) -> str:
    return QCoreApplication.translate("SubmitDriver", text)


@dataclass(frozen=True)
class RunEnd:
    """How a task of the driver ended."""

    kind: str  # "send", "resume", "retry" or "dry run"
    run_id: str | None  # None: nothing reached the journal
    summary: SubmitSummary | None = None
    counted: DryRunCount | None = None
    error: BaseException | None = None
    for_grid: bool = False


class GridLink(Protocol):
    """What the driver asks of the grid when a run it shows is resumed."""

    def rows_for_run(self, run_id: str) -> tuple[Sequence[Row], int] | None: ...


class SubmitDriver(QObject):
    started = Signal(object)
    progress = Signal(object)
    batch = Signal(object)
    ended = Signal(object)
    busy_changed = Signal(bool)
    message = Signal(str)
    _announced = Signal(object)  # emitted in the worker thread; queued to this object

    def __init__(
        self, runner: TaskRunner, parent: QWidget, journal_path: Path | None = None
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.journal_path = journal_path
        self.grid: GridLink | None = None
        self.task: Task | None = None
        self.kind = ""
        self.run_id: str | None = None
        self.for_grid = False
        self.last_progress: Progress | None = None
        self._parent = parent
        self._dialog: PasswordDialog | None = None
        self._opening: Task | None = None
        self._waiting: Callable[[Access], None] | None = None
        self._result: object = None
        self._error: BaseException | None = None
        self._batches: list[BatchResult] = []
        self._progress: Progress | None = None
        self._show = QTimer(self)
        self._show.setInterval(SHOW_MS)
        self._show.timeout.connect(self._show_results)
        self._announced.connect(self._on_announced, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        return self.task is not None or self._waiting is not None

    # -- starting -------------------------------------------------------------------------

    def send(self, profile: Profile, make: Callable[[Access], SendRequest]) -> bool:
        """Send rows as a new run; `make(access)` is called (in the GUI thread) just
        before the run starts, so the rows it takes are the grid's latest."""
        if self.busy:
            return False

        def start(access: Access) -> None:
            request = make(access)
            self._start("send", True, lambda state: send_rows(request, state, self._announce))

        return self._with_access(profile, "send", start)

    def resume(self, run_id: str, profile_name: str, failed_only: bool = False) -> bool:
        """Resume a run of the journal (or send its failed records again)."""
        if self.busy:
            return False
        try:
            profile = find_profile(profile_name)
        except AppError as exc:
            self.message.emit(exc.message)
            self.ended.emit(RunEnd("retry" if failed_only else "resume", run_id, error=exc))
            return False

        def start(access: Access) -> None:
            link = self.grid.rows_for_run(run_id) if self.grid is not None else None
            rows, key_index = link if link is not None else ((), 0)
            request = Continue(run_id, access, failed_only, journal_path=self.journal_path)
            self._start(
                "retry" if failed_only else "resume",
                link is not None,
                lambda state: continue_rows(request, rows, key_index, state, self._announce),
            )

        return self._with_access(profile, "retry" if failed_only else "resume", start)

    def dry_run(self, rows: Sequence[Row], columns: ColumnSet, sheet: str | None) -> bool:
        if self.busy:
            return False
        chosen = list(rows)
        self._start("dry run", True, lambda state: dry_run_rows(chosen, columns, sheet, state))
        return True

    def cancel(self) -> None:
        """Stop after the calls under way (they finish and are journalled); a run not
        started yet (the password dialog open) does not start."""
        if self.task is not None:
            self.task.cancel()
        if self._waiting is not None:  # the connection being opened is closed, not used
            self._waiting = None
            self.busy_changed.emit(False)
        if self._dialog is not None:
            self._dialog.reject()

    # -- the password ---------------------------------------------------------------------

    def _with_access(self, profile: Profile, kind: str, then: Callable[[Access], None]) -> bool:
        """Open the profile's connection in a worker (the key and the keyring each take a
        tenth of a second), then call `then(access)`; when the certificate needs a password
        nothing gave, the password dialog asks first."""
        self._waiting = then
        task = Task(lambda state: try_open(profile), name="open the connection")
        task.succeeded.connect(lambda connection: self._opened(profile, connection))
        task.failed.connect(lambda exc: self._password_failed(kind, exc))
        task.finished.connect(self._opening_finished)
        self._opening = task  # held until it reports: its results would be lost with it
        self.runner.start(task)
        self.busy_changed.emit(True)
        return True

    @Slot()
    def _opening_finished(self) -> None:
        self._opening = None

    def _opened(self, profile: Profile, connection: Connection | None) -> None:
        then, self._waiting = self._waiting, None
        if then is None:  # cancelled meanwhile (the window is closing)
            if connection is not None:
                connection.close()
            return
        if connection is not None:
            then(Access(connection))
            return
        dialog = PasswordDialog(profile, self._parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self._password_given)
        self._dialog = dialog
        self._waiting = then
        dialog.open()

    def _password_failed(self, kind: str, exc: BaseException) -> None:
        self._waiting = None
        self.busy_changed.emit(False)
        self.message.emit(exc.message if isinstance(exc, AppError) else str(exc))
        self.ended.emit(RunEnd(kind, None, error=exc))

    @Slot(int)
    def _password_given(self, result: int) -> None:
        dialog, self._dialog = self._dialog, None
        then, self._waiting = self._waiting, None
        if dialog is None or then is None:
            self.busy_changed.emit(False)
            return
        if result != QDialog.DialogCode.Accepted:
            self.busy_changed.emit(False)
            self.message.emit(tr("Nothing was sent: the certificate's password is needed."))
            return
        then(Access(password=dialog.entered()))

    # -- the task ---------------------------------------------------------------------------

    def _start(self, kind: str, for_grid: bool, fn: Callable[[RunState], object]) -> None:
        task = Task(fn, name=f"submit {kind}")
        self.task, self.kind, self.for_grid = task, kind, for_grid
        self.run_id = None
        self.last_progress = None
        self._result, self._error = None, None
        task.progress.connect(self._on_progress)
        task.batch.connect(self._on_batch)
        task.succeeded.connect(self._on_succeeded)
        task.failed.connect(self._on_failed)
        task.finished.connect(self._on_finished)
        self.runner.start(task)
        self._show.start()
        self.busy_changed.emit(True)

    def _announce(self, start: RunStart) -> None:
        self._announced.emit(start)  # worker thread: Qt queues it to the GUI thread

    @Slot(object)
    def _on_announced(self, start: RunStart) -> None:
        self._show_results()  # what came before (preparing) first
        self.run_id = start.run_id
        self.started.emit(start)

    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        self.last_progress = self._progress = progress

    @Slot(object)
    def _on_batch(self, result: BatchResult) -> None:
        self._batches.append(result)

    @Slot()
    def _show_results(self) -> None:
        batches, self._batches = self._batches, []
        for result in batches:
            self.batch.emit(result)
        progress, self._progress = self._progress, None
        if progress is not None:
            self.progress.emit(progress)

    @Slot(object)
    def _on_succeeded(self, result: object) -> None:
        self._result = result

    @Slot(object)
    def _on_failed(self, exc: BaseException) -> None:
        self._error = exc
        if not isinstance(exc, AppError):
            log.error("the submit task failed", exc_info=exc)

    @Slot()
    def _on_finished(self) -> None:
        self._show.stop()
        self._show_results()
        result, error = self._result, self._error
        end = RunEnd(
            self.kind,
            result.run_id if isinstance(result, SubmitSummary) else self.run_id,
            summary=result if isinstance(result, SubmitSummary) else None,
            counted=result if isinstance(result, DryRunCount) else None,
            error=error,
            for_grid=self.for_grid,
        )
        self.task = None
        self.busy_changed.emit(False)
        self.ended.emit(end)
