"""The Runs tab: every run in the journal, and the records of the one opened.

The journal is read in a worker (another window or a command may hold it for a moment),
when the tab is shown and on Refresh. Double-click a run (or press Enter) to list its
records below, with each one's state, attempts and the service's last message.

With the window's submit driver attached (`attach(driver)`), the selected submit run can
be resumed or its failed records sent again, through the same jobs code as `opus-desktop
runs resume | retry-failed`, with progress here; its report (jobs/report.py) is written
in a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QAbstractItemModel,
    QCoreApplication,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    Slot,
)
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from opus_desktop import paths
from opus_desktop.errors import AppError
from opus_desktop.gui.editor.progress import TaskStrip
from opus_desktop.gui.editor.words import count
from opus_desktop.gui.errors import show_error
from opus_desktop.gui.runs.models import (
    SORT_ROLE,
    ItemsModel,
    RunsModel,
    file_name,
    outcome_words,
)
from opus_desktop.gui.workers import Task, TaskRunner
from opus_desktop.jobs.journal_types import Item, RunInfo
from opus_desktop.jobs.state import Progress
from opus_desktop.usecases.runs import read_items, read_runs, run_report

if TYPE_CHECKING:
    from opus_desktop.gui.submit.driver import RunEnd, SubmitDriver
    from opus_desktop.jobs.report import ReportSummary
    from opus_desktop.usecases.submitting import RunStart

log = logging.getLogger(__name__)

MAX_RUNS = 100_000
REPORT_FILTER = "Excel workbook (*.xlsx)"


def tr(text: str) -> str:
    return QCoreApplication.translate("RunsTab", text)


def _table(model: RunsModel) -> tuple[QTableView, QSortFilterProxyModel]:
    """The runs' view, sorted through a proxy on SORT_ROLE."""
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    return _view(proxy), proxy


def _view(model: QAbstractItemModel) -> QTableView:
    """A read-only sortable table; a run's records (up to a million) sort in their own
    model (ItemsModel.sort), not through a proxy."""
    view = QTableView()
    view.setModel(model)
    view.setSortingEnabled(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    view.horizontalHeader().setHighlightSections(False)
    view.horizontalHeader().setStretchLastSection(True)
    return view


def fit_columns(view: QTableView) -> None:
    """Each column as wide as its widest cell or its title. Qt's own fit keeps room for the
    sort arrow in every title, which in a 1280 px window with the panel docked left the
    Input file column "demo-re…": here only the sorted column has that room."""
    header = view.horizontalHeader()
    columns = range(header.count())
    with_arrow = [header.sectionSizeHint(c) for c in columns]
    header.setSortIndicatorShown(False)
    titles = [header.sectionSizeHint(c) for c in columns]
    header.setSortIndicatorShown(True)
    sorted_column = header.sortIndicatorSection()
    for column in columns:
        title = with_arrow[column] if column == sorted_column else titles[column]
        header.resizeSection(column, max(title, view.sizeHintForColumn(column)))


class RunsTab(QWidget):
    def __init__(
        self, runner: TaskRunner, journal_path: Path | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self._journal_path = journal_path
        self._loading: Task | None = None
        self._again = False
        self._opening: Task | None = None
        self.opened_run: str | None = None
        self.driver: SubmitDriver | None = None

        self.title = QLabel(tr("Runs"))
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.refresh_button = QPushButton(tr("Refresh"))
        self.refresh_button.clicked.connect(self.refresh)

        self.runs_model = RunsModel(self)
        self.runs_view, self.runs_proxy = _table(self.runs_model)
        self.runs_proxy.setParent(self)
        self.runs_view.sortByColumn(4, Qt.SortOrder.DescendingOrder)
        self.runs_view.activated.connect(self._run_activated)
        self.runs_view.selectionModel().currentChanged.connect(lambda *_: self.update_actions())
        # Every column as wide as its text (see fit_columns); the last takes what room is
        # left, and a narrow window scrolls the table sideways.
        header = self.runs_view.horizontalHeader()
        header.sortIndicatorChanged.connect(lambda *_: fit_columns(self.runs_view))

        self.items_model = ItemsModel(self)
        self.items_view = _view(self.items_model)
        self.items_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        items_header = self.items_view.horizontalHeader()
        for column in range(4):
            items_header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.items_title = QLabel(tr("Double-click a run to see its records."))
        self.items_title.setWordWrap(True)

        items_pane = QWidget()
        items_layout = QVBoxLayout(items_pane)
        items_layout.setContentsMargins(0, 6, 0, 0)
        items_layout.addWidget(self.items_title)
        items_layout.addWidget(self.items_view, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.runs_view)
        self.splitter.addWidget(items_pane)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        self._input_note = ""  # the running run's input_changed sentence
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setMargin(24)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.message)
        self.pages.addWidget(self.splitter)

        self.resume_button = QPushButton(tr("Resume"))
        self.resume_button.setToolTip(
            tr("Send what the run did not send yet; stored records are never sent again.")
        )
        self.resume_button.clicked.connect(lambda: self.resume_selected())
        self.retry_button = QPushButton(tr("Retry failed"))
        self.retry_button.setToolTip(tr("Send the run's failed records again, as they were."))
        self.retry_button.clicked.connect(lambda: self.resume_selected(failed_only=True))
        self.report_button = QPushButton(tr("Export report…"))
        self.report_button.setToolTip(
            tr("An Excel workbook: every record's outcome, and the failed rows ready to fix")
        )
        self.report_button.clicked.connect(lambda: self.export_report())
        self.tasks = TaskStrip(runner)
        self.tasks.failed.connect(lambda exc: show_error(self, exc))
        self.run_bar = QProgressBar()
        self.run_bar.setTextVisible(False)
        self.run_bar.setMaximumWidth(220)
        self.run_label = QLabel()
        self.run_label.setObjectName("runs-progress")
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.clicked.connect(self._cancel_run)

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.tasks)
        top.addWidget(self.refresh_button)
        actions = QHBoxLayout()
        actions.addWidget(self.resume_button)
        actions.addWidget(self.retry_button)
        actions.addWidget(self.report_button)
        actions.addSpacing(12)
        actions.addWidget(self.run_label, 1)
        actions.addWidget(self.run_bar)
        actions.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(actions)
        layout.addWidget(self.pages, 1)
        self._show_run(False)
        self.update_actions()
        self._show_message(tr("Reading the journal..."))

    @property
    def journal_path(self) -> Path:
        return self._journal_path if self._journal_path is not None else paths.journal_path()

    # -- acting on a run -----------------------------------------------------------------

    def attach(self, driver: SubmitDriver) -> None:
        """Resume and retry through the window's one submit driver (shared with the
        Records tab, so only one run sends at a time)."""
        self.driver = driver
        driver.started.connect(self._run_started)
        driver.progress.connect(self._run_progress)
        driver.ended.connect(self._run_ended)
        driver.busy_changed.connect(lambda busy: self._show_run(busy))
        self.update_actions()

    def selected_run(self) -> RunInfo | None:
        index = self.runs_proxy.mapToSource(self.runs_view.currentIndex())
        return self.runs_model.row_at(index.row()) if index.isValid() else None

    def select_run(self, run_id: str) -> bool:
        for row in range(self.runs_proxy.rowCount()):
            index = self.runs_proxy.index(row, 0)
            if index.data() == run_id:
                self.runs_view.setCurrentIndex(index)
                return True
        return False

    def resume_selected(self, failed_only: bool = False) -> bool:
        """Resume the selected run (or send its failed records again)."""
        run = self.selected_run()
        if run is None or self.driver is None or not self._may_continue(run, failed_only):
            return False
        return self.driver.resume(run.id, run.profile, failed_only)

    def export_report(self, path: Path | None = None) -> bool:
        run = self.selected_run()
        if run is None or run.kind != "submit":
            return False
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, tr("Export the run's report"), f"run-{run.id}.xlsx", REPORT_FILTER
            )
            if not chosen:
                return False
            path = Path(chosen)
        target, journal = path, self.journal_path

        def written(summary: ReportSummary) -> None:
            text = tr("Report of run {id} written to {path}.").format(id=run.id, path=target)
            if summary.note:
                text += " " + summary.note
            self.run_label.setText(text)
            self.run_label.setToolTip(text)

        self.tasks.run(
            Task(lambda state: run_report(target, run.id, journal), name="run report"),
            tr("Writing the report…"),
            written,
        )
        return True

    def update_actions(self) -> None:
        run = self.selected_run()
        busy = self.driver is None or self.driver.busy
        submit = run is not None and run.kind == "submit"
        self.resume_button.setEnabled(submit and not busy and self._may_continue(run, False))
        self.retry_button.setEnabled(submit and not busy and self._may_continue(run, True))
        self.report_button.setEnabled(submit)
        hint = tr("Disposal runs are resumed from the Disposal tab.") if not submit and run else ""
        for button in (self.resume_button, self.retry_button):
            button.setStatusTip(hint)

    @staticmethod
    def _may_continue(run: RunInfo | None, failed_only: bool) -> bool:
        if run is None or run.kind != "submit" or run.status == "running":
            return False
        return run.counts.failed > 0 if failed_only else run.resumable

    def _show_run(self, running: bool) -> None:
        self.run_bar.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        if running:
            self.run_bar.setRange(0, 0)
            self.run_label.setText(tr("Starting…"))
        self.update_actions()

    @Slot(object)
    def _run_started(self, start: RunStart) -> None:
        what = tr("Run {0} resumed") if start.resumed else tr("Run {0} started")
        # The input sheet changed or went since the run began: said as long as it runs.
        self._input_note = start.input_changed
        text = what.format(start.run_id) + (f". {self._input_note}" if self._input_note else "")
        self.run_label.setText(text)
        self.run_label.setToolTip(text)
        self.refresh()

    @Slot(object)
    def _run_progress(self, progress: Progress) -> None:
        from opus_desktop.gui.submit.results import progress_text

        if self.driver is None or self.driver.kind == "dry run":
            return
        if progress.total:
            self.run_bar.setRange(0, progress.total)
            self.run_bar.setValue(progress.done)
        text = tr("Run {0}: ").format(self.driver.run_id or "…") + progress_text(progress)
        if progress.cancel_requested:
            text += " · " + tr("stopping after the calls under way")
        if self._input_note:
            text += " · " + self._input_note
        self.run_label.setText(text)

    @Slot(object)
    def _run_ended(self, end: RunEnd) -> None:
        if end.kind == "dry run":
            return
        summary = end.summary
        if summary is not None:
            counts = summary.counts
            words = {
                "done": tr("finished"),
                "cancelled": tr("cancelled"),
                "stopped": tr("stopped"),
            }[summary.status]
            text = tr(
                "Run {id} {words}: {ok} stored, {failed} failed, {left} not sent yet."
            ).format(
                id=summary.run_id,
                words=words,
                ok=f"{counts.ok:,}",
                failed=f"{counts.failed:,}",
                left=f"{counts.remaining:,}",
            )
            if summary.error is not None:
                text += " " + summary.error.message
        elif isinstance(end.error, AppError):
            text = end.error.message
        else:
            text = tr("The run could not go on.") if end.error is not None else ""
        if self._input_note and text:
            text += " " + self._input_note
        self._input_note = ""
        self.run_label.setText(text)
        self.run_label.setToolTip(text)
        self.refresh()
        if end.run_id is not None and end.run_id == self.opened_run:
            self.open_run(end.run_id)

    @Slot()
    def _cancel_run(self) -> None:
        if self.driver is not None:
            self.driver.cancel()
            self.cancel_button.setEnabled(False)

    # -- the runs -----------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Read the runs again (in a worker); a refresh asked during one follows it."""
        if self._loading is not None:
            self._again = True
            return
        path = self.journal_path
        task = Task(lambda state: read_runs(path, MAX_RUNS), name="read runs")
        task.succeeded.connect(self._runs_read)
        task.failed.connect(self._read_failed)
        task.finished.connect(self._load_finished)
        self._loading = task
        self.refresh_button.setEnabled(False)
        self.runner.start(task)

    @property
    def loading(self) -> bool:
        return self._loading is not None or self._opening is not None

    @Slot(object)
    def _runs_read(self, runs: list[RunInfo]) -> None:
        selected = self.selected_run()
        self.runs_model.set_rows(runs)
        if selected is not None:
            self.select_run(selected.id)
        self.update_actions()
        self.title.setText(
            tr("Runs ({count})").format(count=f"{len(runs):,}") if runs else tr("Runs")
        )
        if not runs:
            self._show_message(
                tr(
                    "No runs yet.\n\nEach time records are sent to Opus or marked destroyed, "
                    "the run is kept here with every record's outcome, so an interrupted run "
                    "can be resumed."
                )
            )
            return
        self.pages.setCurrentWidget(self.splitter)
        fit_columns(self.runs_view)
        if self.opened_run is not None and self.opened_run not in self.runs_model.run_ids():
            self._clear_items()

    @Slot(object)
    def _read_failed(self, exc: BaseException) -> None:
        if isinstance(exc, AppError):
            log.info("the journal could not be read: %s", exc.message)
            self._show_message(exc.message)
        else:
            self._show_message(
                tr("The journal {path} could not be read.").format(path=self.journal_path)
            )
            show_error(self, exc)

    @Slot()
    def _load_finished(self) -> None:
        self._loading = None
        self.refresh_button.setEnabled(True)
        if self._again:
            self._again = False
            self.refresh()

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.pages.setCurrentWidget(self.message)

    # -- one run's records ---------------------------------------------------------------

    @Slot(QModelIndex)
    def _run_activated(self, index: QModelIndex) -> None:
        source = self.runs_proxy.mapToSource(index)
        if source.isValid():
            self.open_run(self.runs_model.row_at(source.row()).id)

    def open_run(self, run_id: str) -> None:
        """List the records of run `run_id` below the runs (read in a worker)."""
        if self._opening is not None:
            self._opening.cancel()
        path = self.journal_path
        task = Task(lambda state: read_items(path, run_id), name=f"read run {run_id}")
        # Only the run opened last is shown: an earlier read that ends later is dropped.
        task.succeeded.connect(lambda result: self._is_current(task) and self._items_read(result))
        task.failed.connect(lambda exc: self._is_current(task) and self._items_failed(exc))
        task.finished.connect(lambda: self._opening_finished(task))
        self._opening = task
        self.items_title.setText(tr("Reading run {id}...").format(id=run_id))
        self.runner.start(task)

    def _is_current(self, task: Task) -> bool:
        return task is self._opening

    def _opening_finished(self, task: Task) -> None:
        if self._opening is task:
            self._opening = None

    @Slot(object)
    def _items_read(self, result: tuple[RunInfo, Sequence[Item]]) -> None:
        run, items = result
        self.opened_run = run.id
        self.items_model.set_run(run.kind, items)
        source = f" · {file_name(run.input_path)}" if run.input_path else ""
        words = outcome_words(run.kind)
        self.items_title.setText(
            tr("Run {id}{source}: {records}").format(
                id=run.id,
                source=source,
                records=count(len(items), tr("1 record"), tr("{0} records")),
            )
            + tr(" ({ok} {stored}, {failed} {not_stored}, {pending} not sent yet)").format(
                ok=f"{run.counts.ok:,}",
                stored=tr(words["ok"]),
                failed=f"{run.counts.failed:,}",
                not_stored=tr(words["failed"]),
                pending=f"{run.counts.remaining:,}",
            )
        )

    @Slot(object)
    def _items_failed(self, exc: BaseException) -> None:
        self._clear_items()
        if isinstance(exc, AppError):
            self.items_title.setText(exc.message)
        else:
            show_error(self, exc)

    def _clear_items(self) -> None:
        self.opened_run = None
        self.items_model.set_rows([])
        self.items_title.setText(tr("Double-click a run to see its records."))
