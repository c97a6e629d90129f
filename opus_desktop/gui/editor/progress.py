"""A slim strip showing the tab's one background task: what it does, a bar, and Cancel."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from opus_desktop.errors import AppError
from opus_desktop.gui.workers import Task, TaskRunner
from opus_desktop.jobs.state import Progress

log = logging.getLogger(__name__)


def tr(text: str) -> str:
    return QCoreApplication.translate("TaskStrip", text)


class TaskStrip(QWidget):
    """Runs one task at a time; starting another cancels the first.

    Signals:
        failed(BaseException): the running task raised (its sentence is for the user).
        busy_changed(bool): a task started (True) or ended (False).
    """

    failed = Signal(object)
    busy_changed = Signal(bool)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.task: Task | None = None
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(200)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.clicked.connect(self.cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.hide()

    @property
    def busy(self) -> bool:
        return self.task is not None

    def run(
        self,
        task: Task,
        label: str,
        on_result: Callable[[Any], None],
        on_end: Callable[[], None] | None = None,
    ) -> Task:
        """Start `task`; `on_result` gets its value, `on_end` runs however it ends."""
        self.cancel()
        self.task = task
        self.label.setText(label)
        self.bar.setRange(0, 0)
        self.show()
        self.busy_changed.emit(True)

        def succeeded(result: object) -> None:
            if self.task is task:
                on_result(result)

        def failed(exc: BaseException) -> None:
            if self.task is task:
                if not isinstance(exc, AppError):
                    log.error("%s failed", task.name, exc_info=exc)
                self.failed.emit(exc)

        def finished() -> None:
            if on_end is not None:
                on_end()  # even for a task replaced by another: it may hold a lock
            if self.task is task:
                self.task = None
                self.hide()
                self.busy_changed.emit(False)

        task.progress.connect(lambda progress: self._progress(task, progress))
        task.succeeded.connect(succeeded)
        task.failed.connect(failed)
        task.finished.connect(finished)
        self.runner.start(task)
        return task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.label.setText(tr("Stopping…"))

    def _progress(self, task: Task, progress: Progress) -> None:
        if task is not self.task:
            return
        if progress.total:
            self.bar.setRange(0, progress.total)
            self.bar.setValue(progress.done)
        if progress.status:
            self.label.setText(progress.status)
