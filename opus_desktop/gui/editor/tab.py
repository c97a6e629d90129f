"""The Records tab: the grid, its find bar, the preview of what will be sent and the
problems panel, with the Edit and File actions the main window puts in its menus.

    tab = RecordsTab(runner)
    tab.set_profile(profile)              # the template gives the columns
    tab.open_sheet(path)                  # import with the profile's mapping, no dialog
    tab.restore_or_open(path)             # at start: offer the unsent work of last time first
    edit_menu.addActions(tab.edit_actions())

Reading a sheet, checking the rows again when the profile's settings change, and
exporting run as Tasks: the window stays responsive and Cancel stops them. The submit
panel (gui/submit/) sends the rows; the rows are kept in the journal as a draft as they
change (drafts.py), so closing the window or a crash loses nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from opus_desktop.core.gcpause import collector_paused
from opus_desktop.core.mapping import Mapping
from opus_desktop.errors import AppError
from opus_desktop.gui.editor.actions import EditActions
from opus_desktop.gui.editor.delegates import RecordsDelegate
from opus_desktop.gui.editor.drafts import DraftKeeper
from opus_desktop.gui.editor.exporting import ExportCancelled, export_rows
from opus_desktop.gui.editor.filters import AllRows, RecordsFilter, RowFilter
from opus_desktop.gui.editor.find import FindBar
from opus_desktop.gui.editor.model import RecordsModel
from opus_desktop.gui.editor.preview import PreviewPane
from opus_desktop.gui.editor.problems import ProblemsPanel
from opus_desktop.gui.editor.progress import TaskStrip
from opus_desktop.gui.editor.view import RecordsView
from opus_desktop.gui.editor.words import count as count_of
from opus_desktop.gui.submit.driver import SubmitDriver
from opus_desktop.gui.submit.panel import SubmitPanel
from opus_desktop.gui.submit.restore import RestoreOffer
from opus_desktop.gui.workers import Task, TaskRunner
from opus_desktop.jobs.state import RunState
from opus_desktop.profiles import Profile
from opus_desktop.usecases.importing import ImportRequest, LoadedSheet, load_records
from opus_desktop.usecases.rows import (
    STORED,
    ColumnSet,
    KeyIndex,
    Row,
    Tally,
    recheck_rows,
    tally,
)

if TYPE_CHECKING:
    from opus_desktop.gui.importer.dialog import ImportDialog

EXPORT_FILTER = "Excel workbook (*.xlsx);;CSV file (*.csv)"
MAPPING_FILTER = "Mapping (*.json)"


def tr(text: str, n: int = -1) -> str:
    return QCoreApplication.translate("RecordsTab", text, None, n)


class RecordsTab(QWidget):
    """Signals: status_message(str): a sentence for the window's status bar."""

    status_message = Signal(str)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("records-tab")
        self.runner = runner
        self.profile: Profile | None = None
        self.loaded: LoadedSheet | None = None  # the last import: its file and mapping

        self.model = RecordsModel(self)
        self.view = RecordsView(self.model)
        self.delegate = RecordsDelegate(self.model, self.view)
        self.view.setItemDelegate(self.delegate)
        self.find_bar = FindBar(self.view)
        self.problems = ProblemsPanel(self.model)
        self.preview = PreviewPane(self.model)
        self.tasks = TaskStrip(runner)
        self.drafts = DraftKeeper(self.model, runner, self)
        self.driver = SubmitDriver(runner, self)
        self.submit_panel = SubmitPanel(self, self.driver, self)
        self.driver.grid = self.submit_panel
        self.restore_offer = RestoreOffer(self, self)
        self.closing = False  # the window is closing: no more dialogs
        self._sending = False
        self._busy = False
        self._hinting = False  # the last status message is the editor's hint
        self.commands = EditActions(self.model, self.view, self.find_bar, self)
        grid_only = self.commands.grid_only()
        self.view.addActions(grid_only)
        self.addActions([a for a in self.commands.all() if a not in grid_only])
        self.save_mapping_action = QAction(tr("Save &mapping…"), self)
        self.save_mapping_action.setStatusTip(tr("Save how the sheet's headers were mapped"))
        self.save_mapping_action.triggered.connect(lambda _=False: self.save_mapping())
        self.export_action = QAction(tr("&Export…"), self)
        self.export_action.setStatusTip(tr("Write the grid to an Excel or CSV file"))
        self.export_action.triggered.connect(lambda _=False: self.export())

        self.open_button = QPushButton(tr("Open sheet…"))
        self.open_button.setToolTip(tr("Import rows from an Excel or CSV file (Ctrl+O)"))
        self.open_button.clicked.connect(lambda: self.open_sheet())
        self.filter_combo = QComboBox()
        self.filter_combo.setObjectName("records-filter")
        for mode in RowFilter:
            self.filter_combo.addItem(mode.label, mode)
        self.filter_combo.currentIndexChanged.connect(self._filter_changed)
        self.counts = QLabel()
        self.counts.setObjectName("records-counts")
        top = QHBoxLayout()
        top.addWidget(self.open_button)
        top.addSpacing(12)
        top.addWidget(QLabel(tr("Show:")))
        top.addWidget(self.filter_combo)
        top.addSpacing(12)
        top.addWidget(self.counts)
        top.addStretch()
        top.addWidget(self.tasks)

        grid = QWidget()
        grid_layout = QVBoxLayout(grid)
        grid_layout.setContentsMargins(0, 0, 0, 0)
        grid_layout.addWidget(self.view)
        grid_layout.addWidget(self.find_bar)
        # Not a splitter: the panel keeps the height its wrapped sentences need.
        self.right = QWidget()
        right_layout = QVBoxLayout(self.right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.submit_panel)
        right_layout.addWidget(self.preview, 1)
        self.side = QSplitter(Qt.Orientation.Horizontal)
        self.side.addWidget(grid)
        self.side.addWidget(self.right)
        self.side.setStretchFactor(0, 3)
        self.side.setStretchFactor(1, 1)
        self.side.setSizes([900, 340])
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(self.side)
        self.split.addWidget(self.problems)
        self.split.setStretchFactor(0, 4)
        self.split.setStretchFactor(1, 1)
        self.split.setSizes([560, 170])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.split, 1)

        self.status_message.connect(self._said)
        self.view.message.connect(self.status_message)
        self.delegate.hint.connect(self._hint)
        self.problems.jump.connect(self.jump_to)
        self.tasks.failed.connect(self._task_failed)
        self.tasks.busy_changed.connect(lambda busy: self.open_button.setEnabled(not busy))
        self.view.current_moved.connect(self.preview.show_row)
        self.view.selection_moved.connect(self.commands.update)
        self.driver.message.connect(self.status_message)
        self.drafts.failed.connect(
            lambda why: self.status_message.emit(
                tr("The rows could not be kept in the journal: {0}").format(why)
            )
        )
        for signal in (self.model.counts_changed, self.model.modelReset):
            signal.connect(self._update_counts)
        self.model.undo_stack.indexChanged.connect(self._edited)
        self._update_counts()

    # -- the interface the main window uses --------------------------------------------

    def set_profile(self, profile: Profile | None) -> None:
        """Take the profile's template and settings. Rows stay when the template is the
        same (checked again if the settings changed); another template empties the grid."""
        self.profile = profile
        self.drafts.set_profile(profile.name if profile is not None else None)
        if profile is None:
            self._show_columns(None)
            self.submit_panel.set_profile(None)
            return
        try:
            columns = ColumnSet(profile.template(), profile.value_settings())
        except (AppError, ValueError) as exc:
            self.status_message.emit(str(exc))
            self._show_columns(None)
            self.submit_panel.set_profile(None)
            return
        current = self.model.columns
        if current is not None and columns.same_columns(current) and self.model.rowCount():
            if columns.settings != current.settings:
                self._recheck(current, columns)
            self.submit_panel.set_profile(profile)
            return
        self._show_columns(columns)
        self.submit_panel.set_profile(profile)

    def open_sheet(self, path: Path | None = None) -> None:
        """Import a sheet. Without a path, ask for one in the import dialog; with one,
        import it with the profile's saved mapping (or headers matched by name), asking
        nothing unless required columns are left without a source."""
        if self.profile is None or self.model.columns is None:
            self.status_message.emit(
                tr("Choose a profile first: its connection template gives the grid its columns.")
            )
            return
        if not self._may_replace():
            return
        if path is None:
            self.show_import_dialog()
            return
        columns = self.model.columns
        request = ImportRequest(
            Path(path),
            columns.template,
            columns.settings,
            mapping=self.saved_mapping(),
            require_complete=True,
        )
        self.tasks.run(
            Task(lambda state: load_records(request, state), name="import"),
            tr("Reading {0}…").format(Path(path).name),
            lambda loaded: self._imported(loaded, columns),
        )

    def edit_actions(self) -> list[QAction]:
        return self.commands.all()

    def file_actions(self) -> list[QAction]:
        return [self.save_mapping_action, self.export_action]

    def can_close(self) -> bool:
        """True when the window may close. A run under way is cancelled, after asking (the
        calls under way finish; the run resumes next time). The rows stay in the journal
        as a draft unless every one is stored."""
        if self.driver.busy:
            answer = QMessageBox.question(
                self,
                tr("Stop sending?"),
                tr(
                    "Records are being sent to Opus. Stop after the calls under way and "
                    "close? Nothing is lost: the next start offers to resume the run."
                ),
                QMessageBox.StandardButton.Close | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Close:
                return False
            self.driver.cancel()
        elif not self.drafts.healthy and not self.model.undo_stack.isClean():
            answer = QMessageBox.question(
                self,
                tr("Close the records?"),
                tr(
                    "The grid has changes that were neither sent nor exported. "
                    "Close it and lose them?"
                ),
                QMessageBox.StandardButton.Close | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Close:
                return False
        self.closing = True
        self.tasks.cancel()
        self.drafts.close(all_stored=all(row.status == STORED for row in self.model.rows()))
        return True

    def restore_or_open(self, sheet: Path | None = None) -> None:
        """At start: offer to restore what the last session left unsent (the draft, a run
        to resume); when there is nothing, or it is discarded, open `sheet` if given."""
        self.restore_offer.look(sheet)

    @property
    def restore_prompt(self) -> QMessageBox | None:
        return self.restore_offer.prompt

    def forget_input(self) -> None:
        """The grid no longer holds an imported sheet's rows (a draft replaced them)."""
        self.loaded = None

    def fit_status_column(self) -> None:
        self.submit_panel.fit_status_column()

    def resume_run(self, run_id: str, profile_name: str) -> bool:
        """Resume a run of the journal in this tab's driver (see SubmitDriver.resume)."""
        return self.driver.resume(run_id, profile_name)

    def set_sending(self, sending: bool) -> None:
        """The grid is read-only while its rows are being sent."""
        self._sending = sending
        self._lock(self._busy)

    def input_info(self) -> tuple[Path | None, int | None, bool, dict[str, Any] | None]:
        """The input the rows came from: path, header row, whether the grid still holds
        its rows as read (no edits since), and the mapping (as JSON)."""
        if self.loaded is not None:
            source = self.loaded.source
            mapping = json.loads(self.loaded.mapping.to_json())
            unchanged = self.model.undo_stack.index() == 0
            return source.path, source.header_row, unchanged, mapping
        meta = self.drafts.meta
        path, header, mapping = meta.get("source"), meta.get("header_row"), meta.get("mapping")
        return (
            Path(path) if isinstance(path, str) else None,
            header if isinstance(header, int) else None,
            False,
            mapping if isinstance(mapping, dict) else None,
        )

    def connect_runs(self, runs: Any, journal_path: Path | None) -> None:
        """Share the run driver with the window's Runs tab, on the window's journal."""
        self.driver.journal_path = journal_path
        self.drafts.journal_path = journal_path
        runs.attach(self.driver)

    # -- more for the window and the tests ------------------------------------------------

    def load(self, loaded: LoadedSheet) -> None:
        """Show an import's rows (from open_sheet or the import dialog)."""
        if loaded.cancelled:
            self.status_message.emit(tr("Import cancelled; the grid is unchanged."))
            return
        self.loaded = loaded
        source = loaded.source
        self.drafts.update_meta(
            sheet=source.sheet,
            source=str(source.path),
            header_row=source.header_row,
            mapping=json.loads(loaded.mapping.to_json()),
            runs=[],
            sending=None,
            edited=False,  # as read: not work of the user's until edited or sent
        )
        self.set_filter(RowFilter.ALL)  # first: a filter would check all the new rows
        self.model.load(
            loaded.columns, loaded.rows, loaded.keys, loaded.source.sheet, loaded.counts
        )
        self.view.fit_columns()
        if loaded.rows:
            self.view.go_to(0, 1)
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)  # the keyboard goes on in the grid
        note = loaded.summary()
        if loaded.sheet_problems:
            note += " " + " ".join(p.message for p in loaded.sheet_problems)
        self.status_message.emit(note)

    def show_import_dialog(
        self, path: Path | None = None, mapping: Mapping | None = None, sheet: str | None = None
    ) -> ImportDialog | None:
        """Open the import dialog (window-modal); without a path it asks for a file first."""
        if self.profile is None or self.model.columns is None:
            return None
        from opus_desktop.gui.importer.dialog import ImportDialog  # its readers, when asked

        dialog = ImportDialog(self.runner, self.profile, self.model.columns, self)
        dialog.loaded.connect(self.load)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        if path is None:
            dialog.browse()
        else:
            dialog.choose_file(path, mapping=mapping, sheet=sheet)
        return dialog

    def saved_mapping(self) -> Mapping | None:
        """The profile's saved mapping, or None (headers then match by name)."""
        if self.profile is None or not self.profile.mapping:
            return None
        try:
            return Mapping.from_json(json.dumps(self.profile.mapping), "The profile's mapping")
        except AppError as exc:
            self.status_message.emit(f"{exc} " + tr("Headers are matched by name instead."))
            return None

    def jump_to(self, row: Row, at: int) -> None:
        """Go to a cell (template column index), showing all rows if the filter hides it."""
        if not self.view.go_to_row(row, at + 1):
            self.set_filter(RowFilter.ALL)
            self.view.go_to_row(row, at + 1)
        self.view.setFocus()

    def set_filter(self, mode: RowFilter) -> None:
        self.filter_combo.setCurrentIndex(self.filter_combo.findData(mode))

    @property
    def proxy(self) -> AllRows | RecordsFilter:
        """The rows the grid shows now, in its order."""
        return self.view.proxy

    def save_mapping(self, path: Path | None = None) -> bool:
        if self.loaded is None:
            self.status_message.emit(tr("Import a sheet first: its mapping is what gets saved."))
            return False
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, tr("Save the mapping"), "mapping.json", MAPPING_FILTER
            )
            if not chosen:
                return False
            path = Path(chosen)
        try:
            self.loaded.mapping.save(path)
        except (AppError, OSError) as exc:
            QMessageBox.warning(self, tr("Save the mapping"), str(exc))
            return False
        self.status_message.emit(tr("Mapping saved to {0}.").format(path))
        return True

    def export(self, path: Path | None = None) -> None:
        """Write the grid (every row, as shown, with its problems) to .xlsx or .csv."""
        columns = self.model.columns
        if columns is None or not self.model.rowCount():
            self.status_message.emit(tr("There are no rows to export."))
            return
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, tr("Export the grid"), "records.xlsx", EXPORT_FILTER
            )
            if not chosen:
                return
            path = Path(chosen)
        target = path
        rows = list(self.model.rows())
        self._lock(True)

        def done(n: int) -> None:
            self.model.undo_stack.setClean()
            self.status_message.emit(
                count_of(n, tr("1 row"), tr("{0} rows")) + tr(" exported to {0}.").format(target)
            )

        self.tasks.run(
            Task(lambda state: export_rows(target, rows, columns, state), name="export"),
            tr("Exporting to {0}…").format(target.name),
            done,
            lambda: self._lock(False),
        )

    # -- inside ----------------------------------------------------------------------------

    def _edited(self, index: int) -> None:
        if index and self.drafts.meta.get("edited") is False:
            self.drafts.update_meta(edited=True)

    def _show_columns(self, columns: ColumnSet | None) -> None:
        self.loaded = None
        self.model.set_columns(columns)
        if columns is not None:
            self.view.fit_columns()

    def _may_replace(self) -> bool:
        if self.model.undo_stack.isClean() or not self.model.rowCount():
            return True
        answer = QMessageBox.question(
            self,
            tr("Replace the rows?"),
            tr("The grid has changes that were neither sent nor exported. Replace them?"),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _imported(self, loaded: LoadedSheet, columns: ColumnSet) -> None:
        if self.model.columns is not columns:
            self.status_message.emit(tr("The profile changed while the sheet was read."))
            return
        if loaded.incomplete:
            missing = ", ".join(c.display_name for c in loaded.plan.missing)
            self.status_message.emit(
                tr("Nothing in the sheet feeds {0}: choose a source for it.").format(missing)
            )
            self.show_import_dialog(loaded.source.path, loaded.mapping, loaded.source.sheet)
            return
        self.load(loaded)

    def _recheck(self, old: ColumnSet, new: ColumnSet) -> None:
        """Check every row again under new settings (choice options, date format...)."""
        rows = list(self.model.rows())
        self._lock(True)

        def work(state: RunState) -> tuple[list[Row], KeyIndex, Tally] | None:
            state.set_status(tr("Checking {0} rows again…").format(f"{len(rows):,}"))
            with collector_paused(freeze=True):
                fresh = recheck_rows(rows, old, new, lambda: state.cancel_requested)
                if fresh is None:
                    return None
                keys = KeyIndex(new.key_index)
                keys.build(sorted(fresh, key=lambda r: r.seq))
                return fresh, keys, tally(fresh)

        def done(result: tuple[list[Row], KeyIndex, Tally] | None) -> None:
            if result is None or self.model.columns is not old:
                return
            self._lock(False)
            self.model.load(new, result[0], result[1], self.model.sheet_name, result[2])
            invalid = self.model.invalid_rows
            self.status_message.emit(
                tr("Rows checked again with the profile's settings: {0} invalid.").format(
                    f"{invalid:,}"
                )
            )

        self.tasks.run(
            Task(work, name="recheck"),
            tr("Checking the rows again…"),
            done,
            lambda: self._lock(False),
        )

    def _lock(self, locked: bool) -> None:
        self._busy = locked
        self.model.locked = locked or self._sending
        self.commands.update()
        self.view.viewport().update()

    def _filter_changed(self, _: int) -> None:
        mode = self.filter_combo.currentData()
        if isinstance(mode, RowFilter):
            self.view.set_filter(mode)
            self._update_counts()

    def _said(self, _: str) -> None:
        self._hinting = False

    def _hint(self, text: str) -> None:
        """The editor's sentence about the text being typed, in the status bar while it
        applies: cleared once the text is fine or the editor closes, unless another
        message has taken its place."""
        if text:
            self.status_message.emit(text)
            self._hinting = True
        elif self._hinting:
            self.status_message.emit("")

    def _task_failed(self, exc: BaseException) -> None:
        if isinstance(exc, ExportCancelled):
            self.status_message.emit(exc.message)
            return
        message = (
            exc.message
            if isinstance(exc, AppError)
            else tr("Something went wrong: {0}").format(exc)
        )
        self.status_message.emit(message)
        QMessageBox.warning(self, tr("Records"), message)

    def _update_counts(self) -> None:
        model = self.model
        if model.columns is None:
            self.counts.setText("")
            self.view.set_placeholder(
                tr(
                    "No profile yet — choose or add one in the connection panel: its template "
                    "gives the grid its columns."
                )
            )
        else:
            rows = model.rowCount()
            text = count_of(rows, tr("1 row"), tr("{0} rows"))
            if rows:
                text += " · " + tr("{0} invalid").format(f"{model.invalid_rows:,}")
                shown = self.proxy.rowCount()
                if shown != rows:
                    text += " · " + tr("{0} shown").format(f"{shown:,}")
            self.counts.setText(text)
            if rows:
                self.view.set_placeholder(tr("No rows match this filter."))
            else:
                self.view.set_placeholder(
                    tr("No sheet yet — Open a sheet (Ctrl+O) or paste rows (Ctrl+V).")
                )
        self.commands.update()
        self.save_mapping_action.setEnabled(self.loaded is not None)
        self.export_action.setEnabled(model.rowCount() > 0)
