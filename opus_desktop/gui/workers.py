"""Background work for the window: one worker QObject per task, moved to its own QThread.

    task = Task(lambda state: validate_sheet(path, state), name="validate")
    task.succeeded.connect(self.show_result)
    task.failed.connect(lambda exc: show_error(self, exc))
    self._runner.start(task)          # the runner owns the thread and keeps both alive

The function runs in the worker thread and reports through the jobs RunState it is
given (progress, batches, cancel). The worker only emits signals. They reach the
`Task`, which lives in the GUI thread, through queued connections, and the Task
re-emits them there: so any slot, lambdas included, runs in the GUI thread.
`finished` is emitted in `finally:`, whatever happened.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from opus_desktop.errors import AppError
from opus_desktop.jobs.state import BatchResult, Progress, RunState

log = logging.getLogger(__name__)


class _Worker(QObject):
    """Lives in the worker thread; runs the function once and reports by signals."""

    progress = Signal(object)
    batch = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, fn: Callable[[RunState], Any], state: RunState, name: str) -> None:
        super().__init__()
        self._fn = fn
        self._state = state
        self._name = name
        state.on_progress(self.progress.emit)
        state.on_batch(self.batch.emit)

    @Slot()
    def run(self) -> None:
        try:
            result = self._fn(self._state)
        except BaseException as exc:  # reported to the GUI, never lost in the thread
            log.info("%s failed: %s", self._name, exc, exc_info=not isinstance(exc, AppError))
            self.failed.emit(exc)
        else:
            self.succeeded.emit(result)
        finally:
            self.finished.emit()


class Task(QObject):
    """One run of `fn(state)` in a worker thread, seen from the GUI thread.

    Signals (all emitted in the GUI thread):
        progress(Progress): a snapshot each time the run reports progress.
        batch(BatchResult): one per batch the run finishes.
        succeeded(object): the function's return value.
        failed(BaseException): the exception the function raised.
        finished(): always last, after succeeded or failed.
    """

    progress = Signal(object)
    batch = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, fn: Callable[[RunState], Any], name: str = "task") -> None:
        super().__init__()
        self.name = name
        self.state = RunState()
        self.worker = _Worker(fn, self.state, name)
        # Bound slots of a GUI-thread object: Qt queues these across the threads.
        self.worker.progress.connect(self._on_progress)
        self.worker.batch.connect(self._on_batch)
        self.worker.succeeded.connect(self._on_succeeded)
        self.worker.failed.connect(self._on_failed)
        self.worker.finished.connect(self._on_finished)

    def cancel(self) -> None:
        """Ask the run to stop at its next check; safe from any thread."""
        self.state.cancel()

    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        self.progress.emit(progress)

    @Slot(object)
    def _on_batch(self, result: BatchResult) -> None:
        self.batch.emit(result)

    @Slot(object)
    def _on_succeeded(self, result: object) -> None:
        self.succeeded.emit(result)

    @Slot(object)
    def _on_failed(self, exc: BaseException) -> None:
        self.failed.emit(exc)

    @Slot()
    def _on_finished(self) -> None:
        self.finished.emit()


# Every runner, so that all their threads can be joined before the process ends: Qt
# aborts the process when a QThread object is destroyed while its thread still runs.
_RUNNERS: weakref.WeakSet[TaskRunner] = weakref.WeakSet()


def join_all(timeout_ms: int = 30_000) -> bool:
    """Cancel and join the threads of every runner; True if all stopped in time."""
    return all([runner.join(timeout_ms) for runner in list(_RUNNERS)])


class TaskRunner(QObject):
    """Starts tasks in their own threads, keeps them alive, cancels and joins them on close."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        _RUNNERS.add(self)
        self._running: dict[Task, QThread] = {}
        # A task is held until its `finished` has reached the GUI thread: a thread can end
        # before its queued signals are delivered, and a task dropped then loses them.
        self._held: set[Task] = set()

    def start(self, task: Task) -> Task:
        thread = QThread()
        thread.setObjectName(task.name)
        task.worker.moveToThread(thread)
        thread.started.connect(task.worker.run)
        # quit() is thread-safe; called directly so join() can wait without the event loop.
        task.worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._thread_finished)
        task.finished.connect(self._task_finished)
        self._running[task] = thread
        self._held.add(task)
        thread.start()
        return task

    @Slot()
    def _thread_finished(self) -> None:
        for task, thread in list(self._running.items()):
            if thread.isFinished():
                del self._running[task]
                thread.wait()
                task.worker.deleteLater()
                thread.deleteLater()

    @Slot()
    def _task_finished(self) -> None:
        task = self.sender()
        if isinstance(task, Task):
            self._held.discard(task)

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def tasks(self) -> list[Task]:
        return list(self._running)

    def cancel_all(self) -> None:
        for task in list(self._running):
            task.cancel()

    def join(self, timeout_ms: int = 30_000) -> bool:
        """Cancel every task and wait for the threads; True if all stopped in time."""
        self.cancel_all()
        stopped = True
        for thread in list(self._running.values()):
            stopped = thread.wait(timeout_ms) and stopped
        self._thread_finished()
        return stopped
