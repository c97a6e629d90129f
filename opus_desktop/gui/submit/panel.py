"""The Records tab's "Send to Opus" panel: options, Submit, live progress and what failed.

    panel = SubmitPanel(tab, driver)     # tab: the RecordsTab whose rows it sends
    panel.submit()                       # what the Submit button does
    panel.submit(failed_only=True)       # "Submit failed rows again"

Submit sends every row of the grid that is not stored yet as one journalled run (the
same use case as `opus-desktop submit`), refused while any cell is invalid unless "Send
the valid rows only" is ticked: the invalid rows are then skipped and listed in the
run's report, as the command line does. The grid is
read-only while its rows are sent; each batch's outcome lands on its rows (stored,
failed with the service's message on the cell it names, ...), and a summary follows.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from opus_desktop.errors import AppError
from opus_desktop.gui.editor.filters import RowFilter
from opus_desktop.gui.editor.looks import status_text
from opus_desktop.gui.editor.model import STATUS_COLUMN
from opus_desktop.gui.editor.words import count
from opus_desktop.gui.errors import show_error
from opus_desktop.gui.submit.driver import RunEnd, SubmitDriver
from opus_desktop.gui.submit.grid import GridTab
from opus_desktop.gui.submit.results import ColumnNames, progress_text, status_changes
from opus_desktop.gui.submit.summary import counts_text, outcome_text, summary_box
from opus_desktop.gui.workers import Task
from opus_desktop.jobs.state import BatchResult, Progress
from opus_desktop.jobs.submit import MAX_CONCURRENCY
from opus_desktop.profiles import Profile
from opus_desktop.usecases.connection import Access
from opus_desktop.usecases.editor_runs import SendRequest
from opus_desktop.usecases.rows import FAILED, PENDING, SKIPPED, STATUSES, STORED, Row
from opus_desktop.usecases.submitting import RunOptions, export_failed

if TYPE_CHECKING:
    from opus_desktop.usecases.submitting import RunStart

log = logging.getLogger(__name__)

REPORT_FILTER = "Excel workbook (*.xlsx)"
COUNT_DELAY_MS = 150  # counts of failed and unsent rows follow a burst of results once


def tr(text: str) -> str:
    return QCoreApplication.translate("SubmitPanel", text)


def _note(text: str) -> QLabel:
    """A sentence under an option, indented to its text, in the palette's quieter colour."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setIndent(22)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 0.92)
    label.setFont(font)
    # A role, not a colour taken now: the note follows a switch to the dark palette.
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


class SubmitPanel(QWidget):
    """Signals: finished(RunEnd): a run of the grid ended and its summary was shown."""

    finished = Signal(object)

    def __init__(self, tab: GridTab, driver: SubmitDriver, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("submit-panel")
        self.tab = tab
        self.model = tab.model
        self.driver = driver
        self.names: ColumnNames | None = None
        self.summary: QMessageBox | None = None
        self.last_end: RunEnd | None = None
        self.failed_count = 0
        self.unsent_count = 0
        self._start: RunStart | None = None
        self._sending_rows: list[Row] = []
        self._running: bool | None = None

        title = QLabel(tr("Send to Opus"))
        font = title.font()
        font.setBold(True)
        title.setFont(font)

        self.overwrite = QRadioButton(tr("Overwrite"))
        self.skip = QRadioButton(tr("Skip"))
        self.overwrite.setChecked(True)
        self.conflict = QButtonGroup(self)
        self.conflict.addButton(self.overwrite)
        self.conflict.addButton(self.skip)
        conflict_title = QLabel(tr("When a row key is in Opus already:"))
        overwrite_note = _note(tr("The record in Opus is replaced by the row."))
        skip_note = _note(tr("The record in Opus is left as it is; only new row keys are added."))

        self.concurrency = QSpinBox()
        self.concurrency.setAccessibleName(tr("Calls at a time"))
        self.concurrency.setRange(1, MAX_CONCURRENCY)
        self.concurrency.setValue(4)
        self.concurrency.setToolTip(
            tr(
                "How many calls of up to 15 records are under way at once. The run uses "
                "fewer while the service says it is busy."
            )
        )
        self.dry_run = QCheckBox(tr("Dry run: check and count, send nothing"))

        self.submit_button = QPushButton(tr("Submit"))
        self.submit_button.setObjectName("submit-button")
        self.submit_button.setDefault(True)
        self.submit_button.setToolTip(tr("Send the rows to Opus (Ctrl+Enter)"))
        # An action, not the button's shortcut: the button's text changes, and with it
        # Qt resets a button's shortcut. Active while the panel shows (the Records tab).
        send = QAction(tr("Submit"), self)
        send.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        send.triggered.connect(self._send_key)
        self.addAction(send)
        first = QAction(tr("Go to first"), self)
        first.setShortcut(QKeySequence("F8"))
        first.triggered.connect(lambda _=False: self.go_to_first_invalid())
        self.addAction(first)
        self.submit_button.clicked.connect(lambda: self.submit())
        self.blocked = QLabel()
        self.blocked.setWordWrap(True)
        self.blocked.setObjectName("submit-blocked")
        self.go_first = QPushButton(tr("Go to first"))
        self.go_first.setToolTip(tr("Go to the first refused cell, else the first warning (F8)"))
        self.go_first.setAccessibleDescription(self.go_first.toolTip())
        self.go_first.clicked.connect(self.go_to_first_invalid)
        self.valid_only = QCheckBox(tr("Send the &valid rows only"))
        self.valid_only.setObjectName("submit-valid-only")
        self.valid_only.setToolTip(
            tr(
                "The rows with cells Opus would refuse are skipped, not sent, and listed "
                "with their problems in the run's report."
            )
        )
        self.valid_only.toggled.connect(lambda _checked: self.update_state())
        self.resume_button = QPushButton(tr("Resume"))
        self.resume_button.setToolTip(
            tr("Send what the run did not send yet; stored records are never sent again.")
        )
        self.resume_button.clicked.connect(self.resume)

        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.progress_label = QLabel()
        self.progress_label.setWordWrap(True)
        self.progress_label.setObjectName("submit-progress")
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.setToolTip(tr("Stop after the calls under way; resume it later."))
        self.cancel_button.clicked.connect(self.cancel)
        self.outcome = QLabel()
        self.outcome.setWordWrap(True)
        self.outcome.setObjectName("submit-outcome")
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.select_failed_button = QPushButton(tr("Select failed rows"))
        self.select_failed_button.clicked.connect(self.select_failed)
        self.retry_button = QPushButton(tr("Submit failed rows again"))
        self.retry_button.clicked.connect(lambda: self.submit(failed_only=True))
        self.export_button = QPushButton(tr("Export failed rows…"))
        self.export_button.setToolTip(
            tr("An Excel sheet of the failed rows with the service's reasons, ready to fix")
        )
        self.export_button.clicked.connect(lambda: self.export_failed())

        options = QGridLayout()
        options.setContentsMargins(0, 0, 0, 0)
        options.setVerticalSpacing(2)
        options.addWidget(conflict_title, 0, 0, 1, 2)
        options.addWidget(self.overwrite, 1, 0, 1, 2)
        options.addWidget(overwrite_note, 2, 0, 1, 2)
        options.addWidget(self.skip, 3, 0, 1, 2)
        options.addWidget(skip_note, 4, 0, 1, 2)
        options.setRowMinimumHeight(5, 6)
        options.addWidget(QLabel(tr("Calls at a time:")), 6, 0)
        options.addWidget(self.concurrency, 6, 1, Qt.AlignmentFlag.AlignLeft)
        options.addWidget(self.dry_run, 7, 0, 1, 2)
        options.setColumnStretch(1, 1)

        buttons = QHBoxLayout()
        buttons.addWidget(self.submit_button, 1)
        buttons.addWidget(self.resume_button)
        blocked = QHBoxLayout()
        blocked.addWidget(self.blocked, 1)
        blocked.addWidget(self.go_first, 0, Qt.AlignmentFlag.AlignTop)
        running = QHBoxLayout()
        running.addWidget(self.bar, 1)
        running.addWidget(self.cancel_button)
        after = QVBoxLayout()
        after.setSpacing(4)
        after.addWidget(self.select_failed_button)
        after.addWidget(self.retry_button)
        after.addWidget(self.export_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 6)
        layout.addWidget(title)
        layout.addLayout(options)
        layout.addSpacing(4)
        layout.addLayout(buttons)
        layout.addLayout(blocked)
        layout.addWidget(self.valid_only)
        layout.addLayout(running)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.outcome)
        layout.addLayout(after)

        self._counts = QTimer(self)
        self._counts.setSingleShot(True)
        self._counts.setInterval(COUNT_DELAY_MS)
        self._counts.timeout.connect(self.update_state)
        self.model.counts_changed.connect(self._counts.start)
        self.model.modelReset.connect(self._counts.start)
        driver.started.connect(self._started)
        driver.progress.connect(self._progress)
        driver.batch.connect(self._batch)
        driver.ended.connect(self._ended)
        driver.busy_changed.connect(lambda _busy: self.update_state())
        self._show_running(False)
        self.update_state()

    # -- the profile ------------------------------------------------------------------------

    def set_profile(self, profile: Profile | None) -> None:
        """The profile's defaults: its conflict option and calls at a time."""
        if profile is not None:
            (self.skip if profile.conflict_option == "Skip" else self.overwrite).setChecked(True)
            self.concurrency.setValue(max(1, min(profile.concurrency, MAX_CONCURRENCY)))
        columns = self.model.columns
        self.names = ColumnNames(columns) if columns is not None else None
        self.update_state()

    # -- submitting -------------------------------------------------------------------------

    @property
    def sending(self) -> bool:
        """A run of the grid's rows is under way (the grid is read-only meanwhile)."""
        return self.driver.busy and self.driver.for_grid

    def submit(self, failed_only: bool = False) -> bool:
        """Send the rows not yet stored (or only the failed ones); False if refused."""
        tab, model = self.tab, self.model
        profile, columns = tab.profile, model.columns
        if profile is None or columns is None:
            return self._refuse(tr("Choose a profile first."))
        if self.driver.busy:
            return self._refuse(tr("A run is under way; wait for it or cancel it."))
        wanted = FAILED if failed_only else None
        rows = [r for r in model.rows() if (r.status == wanted if wanted else r.status != STORED)]
        if not rows:
            return self._refuse(
                tr("No row has failed.")
                if failed_only
                else tr("Every row is stored in Opus already: there is nothing to send.")
            )
        invalid = sum(1 for row in rows if row.invalid)
        if invalid and not self.valid_only.isChecked():
            self.update_state()
            return self._refuse(
                count(
                    invalid,
                    tr("1 row has cells Opus would refuse: fix it before sending."),
                    tr("{0} rows have cells Opus would refuse: fix them before sending."),
                )
            )
        if invalid == len(rows):
            return self._refuse(tr("No row is valid: there is nothing to send."))
        self.outcome.setText("")
        if self.dry_run.isChecked():
            return self.driver.dry_run(rows, columns, model.sheet_name)
        conflict = "Skip" if self.skip.isChecked() else "Overwrite"
        calls = self.concurrency.value()
        path, header_row, unchanged, mapping = tab.input_info()

        def request(access: Access) -> SendRequest:
            self._sending_rows = rows
            tab.set_sending(True)
            return SendRequest(
                profile,
                access,
                rows,
                columns,
                RunOptions(conflict, calls),
                sheet=model.sheet_name,
                input_path=path,
                header_row=header_row,
                input_unchanged=unchanged,
                mapping=mapping,
                journal_path=self.driver.journal_path,
            )

        return self.driver.send(profile, request)

    def resume(self) -> bool:
        """Resume the grid's last run, when it did not finish."""
        run = self.resumable_run()
        profile = self.tab.profile
        if run is None or profile is None or self.driver.busy:
            return False
        return self.driver.resume(run, self.tab.drafts.meta.get("profile") or profile.name)

    def resumable_run(self) -> str | None:
        end = self.last_end
        if end is None or end.run_id is None or not end.for_grid:
            return None
        summary = end.summary
        if summary is not None and summary.counts.remaining == 0:
            return None
        if summary is None and end.error is None:
            return None
        return end.run_id

    def cancel(self) -> None:
        if self.driver.busy:
            self.driver.cancel()
            self.progress_label.setText(
                tr("Stopping: the calls under way finish first, then the run stops.")
            )
            self.cancel_button.setEnabled(False)

    def rows_for_run(self, run_id: str) -> tuple[list[Row], int] | None:
        """The grid's rows when it shows run `run_id` (the driver's GridLink), None when
        it does not. The run is about to resume: the grid is read-only until it ends."""
        columns = self.model.columns
        runs = self.tab.drafts.meta.get("runs") or []
        if columns is None or run_id not in runs:
            return None
        rows = list(self.model.rows())
        self._sending_rows = []
        self.tab.set_sending(True)
        return rows, columns.key_index

    # -- live results -----------------------------------------------------------------------

    @Slot(object)
    def _started(self, start: RunStart) -> None:
        self._start = start
        if not self.driver.for_grid:
            return
        drafts = self.tab.drafts
        drafts.hold(True)
        runs = [r for r in drafts.meta.get("runs") or [] if r != start.run_id]
        drafts.update_meta(runs=[*runs, start.run_id], sending=start.run_id, profile=start.profile)
        self.fit_status_column()
        if self._sending_rows:
            sending = self._sending_rows
            skipped = [row for row in sending if row.invalid] if start.skipped else []
            self.model.reset_statuses([row for row in sending if not row.invalid], PENDING)
            if skipped:  # sent with "valid rows only": journalled as skipped, not sent
                self.model.reset_statuses(skipped, SKIPPED, tr("Not sent: the row is not valid."))
            self._sending_rows = []
        if start.states:
            self.model.set_row_statuses(
                (key, status, message, self._column(status, message))
                for key, (status, message) in start.states.items()
            )
        what = tr("Run {0} resumed") if start.resumed else tr("Run {0} started")
        # The sheet changed or went since the run started: it sends what it read then.
        said = [what.format(start.run_id), start.input_changed]
        self.tab.status_message.emit(" ".join(part for part in said if part))

    def fit_status_column(self) -> None:
        """Room in the Status column for its longest word and icon: it was sized while
        every status was still empty."""
        view = self.tab.view
        metrics = view.fontMetrics()
        wanted = max(metrics.horizontalAdvance(status_text(s)) for s in STATUSES) + 44
        header = view.horizontalHeader()
        if header.sectionSize(STATUS_COLUMN) < wanted:
            header.resizeSection(STATUS_COLUMN, wanted)

    def _column(self, status: str, message: str) -> int | None:
        return self.names.find(message) if status == FAILED and self.names is not None else None

    @Slot(object)
    def _progress(self, progress: Progress) -> None:
        if progress.total:
            self.bar.setRange(0, progress.total)
            self.bar.setValue(progress.done)
        if self.driver.kind == "dry run":
            self.progress_label.setText(progress.status)
            return
        text = progress_text(progress)
        if progress.status and progress.remaining:
            text += "\n" + progress.status
        if progress.cancel_requested:
            text += "\n" + tr("Stopping: the calls under way finish first.")
        self.progress_label.setText(text)

    @Slot(object)
    def _batch(self, result: BatchResult) -> None:
        if self.driver.for_grid:
            self.model.set_row_statuses(status_changes(result, self.names))

    @Slot(object)
    def _ended(self, end: RunEnd) -> None:
        self._sending_rows = []
        if not end.for_grid:
            return
        self.last_end = end
        self.tab.set_sending(False)
        # The rows first, then the meta: a crash between them still restores right.
        self.tab.drafts.hold(False)
        if end.run_id is not None and end.kind != "dry run":
            self.tab.drafts.update_meta(sending=None)
        self.update_state()
        text = self.outcome_text(end)
        self.outcome.setText(text)
        if counts_text(end):  # in the status bar, instead of "Run … started"
            self.tab.status_message.emit(counts_text(end))
        if not self.tab.closing:  # a run stopped by closing the window: no dialog after it
            if end.error is not None and not isinstance(end.error, AppError):
                show_error(self, end.error)
            else:
                self._show_summary(end, text)
        self.finished.emit(end)

    def outcome_text(self, end: RunEnd) -> str:
        return outcome_text(end, self._start)

    def _show_summary(self, end: RunEnd, text: str) -> None:
        box = summary_box(self, end, text)
        self.summary = box
        box.finished.connect(self._summary_closed)
        box.open()

    @Slot()
    def _summary_closed(self) -> None:
        self.summary = None

    # -- after a run --------------------------------------------------------------------------

    def select_failed(self) -> int:
        """Show only the failed rows and select them all; returns how many."""
        self.tab.set_filter(RowFilter.FAILED)
        view = self.tab.view
        shown = view.proxy.rowCount()
        if shown:
            view.selectAll()
            view.go_to(view.proxy.mapToSource(view.proxy.index(0, 0)).row(), 1)
            view.selectAll()
            view.setFocus()
        return shown

    def export_failed(self, path: Path | None = None) -> bool:
        columns = self.model.columns
        keys = (
            [str(r.values[columns.key_index]) for r in self.model.rows() if r.status == FAILED]
            if columns is not None
            else []
        )
        runs = list(self.tab.drafts.meta.get("runs") or [])
        if not keys or not runs:
            self.tab.status_message.emit(tr("No row has failed."))
            return False
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, tr("Export the failed rows"), "failed-rows.xlsx", REPORT_FILTER
            )
            if not chosen:
                return False
            path = Path(chosen)
        target, journal_path = path, self.driver.journal_path

        def done(written: int) -> None:
            self.tab.status_message.emit(
                count(written, tr("1 failed row"), tr("{0} failed rows"))
                + tr(" written to {0} (sheet \u201cFailed rows\u201d).").format(target)
            )

        self.tab.tasks.run(
            Task(lambda state: export_failed(target, runs, keys, journal_path), "export failed"),
            tr("Exporting the failed rows…"),
            done,
        )
        return True

    def _send_key(self, _: bool = False) -> None:
        if self.submit_button.isEnabled():
            self.submit_button.animateClick()

    def go_to_first_invalid(self) -> bool:
        model = self.model
        for position, row in enumerate(model.rows()):
            if row.invalid:
                problems = model.row_problems(position)
                self.tab.jump_to(row, problems[0][0] if problems else 0)
                return True
        columns = model.columns  # none refused: the first cell warned of (still sent)
        for row in model.rows() if columns is not None else ():
            for at in range(len(columns.columns)):  # type: ignore[union-attr]
                if columns.cell_warning(row, at) is not None:  # type: ignore[union-attr]
                    self.tab.jump_to(row, at)
                    return True
        return False

    # -- how it looks --------------------------------------------------------------------------

    @Slot()
    def update_state(self) -> None:
        """Enable what makes sense now; say why Submit cannot send, if it cannot."""
        model = self.model
        rows = model.rows()
        failed = unsent = 0
        for row in rows:
            status = row.status
            if status == FAILED:
                failed += 1
            if status != STORED:
                unsent += 1
        self.failed_count, self.unsent_count = failed, unsent
        busy = self.driver.busy
        invalid = model.invalid_rows
        ready = model.columns is not None and self.tab.profile is not None
        skipping = bool(invalid) and self.valid_only.isChecked()
        if skipping:
            self.blocked.setText(
                count(
                    invalid,
                    tr("1 row has a cell Opus would refuse: it is skipped, not sent."),
                    tr("{0} rows have cells Opus would refuse: they are skipped, not sent."),
                )
            )
            unsent = max(unsent - invalid, 0)
        elif invalid:
            self.blocked.setText(
                count(
                    invalid,
                    tr("1 row has a cell Opus would refuse: fix it before sending."),
                    tr("{0} rows have cells Opus would refuse: fix them before sending."),
                )
            )
        self.blocked.setVisible(bool(invalid))
        self.go_first.setVisible(bool(invalid))
        self.valid_only.setVisible(bool(invalid))
        self.valid_only.setEnabled(not busy)
        dry = self.dry_run.isChecked()
        if unsent:
            label = tr("Dry run ({0})") if dry else tr("Submit {0}")
            self.submit_button.setText(label.format(count(unsent, tr("1 row"), tr("{0} rows"))))
        else:
            self.submit_button.setText(tr("Dry run") if dry else tr("Submit"))
        self.submit_button.setEnabled(
            ready and not busy and unsent > 0 and (not invalid or skipping)
        )
        self.resume_button.setVisible(self.resumable_run() is not None)
        self.resume_button.setEnabled(not busy)
        for button in (self.select_failed_button, self.export_button):
            button.setEnabled(failed > 0 and not self.sending)
        self.retry_button.setEnabled(failed > 0 and ready and not busy)
        self.retry_button.setText(
            tr("Submit failed rows again ({0})").format(f"{failed:,}")
            if failed
            else tr("Submit failed rows again")
        )
        self.dry_run.setEnabled(not busy)
        self._show_running(busy)

    def _show_running(self, running: bool) -> None:
        if running == self._running:
            return
        self._running = running
        self.bar.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.progress_label.setVisible(running)
        if running:
            self.bar.setRange(0, 0)
            self.progress_label.setText(tr("Starting…"))

    def _refuse(self, why: str) -> bool:
        self.outcome.setText(why)
        self.tab.status_message.emit(why)
        return False
