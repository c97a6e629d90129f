"""The import dialog: a file and sheet, its first rows, and how its headers feed the
connection's columns, before anything is read in full.

    dialog = ImportDialog(runner, profile, columns, parent)
    dialog.loaded.connect(records_tab.load)
    dialog.open()
    dialog.choose_file(path)

Reading the first rows and the whole import both run as Tasks, with a progress bar and
Cancel; the dialog (and the window behind it) stays responsive. Cancel during an import
stops it and leaves the dialog open; a second Cancel closes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QItemSelection,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from opus_desktop.core.errors import MappingError
from opus_desktop.core.mapping import Mapping, auto_match
from opus_desktop.core.schema import ColumnType
from opus_desktop.core.sheet_kinds import SHEET_PATTERNS
from opus_desktop.errors import AppError
from opus_desktop.gui.fit import fit_to_screen
from opus_desktop.gui.importer.combo import ComboDelegate, enter_edits
from opus_desktop.gui.importer.date_order import DateOrderBox, decisions
from opus_desktop.gui.importer.mapping_model import CHOICES, MappingModel, ValueMapModel
from opus_desktop.gui.importer.preview_model import SheetPreviewModel
from opus_desktop.gui.workers import Task, TaskRunner
from opus_desktop.jobs.state import Progress
from opus_desktop.profiles import Profile, save_profile
from opus_desktop.usecases.importing import (
    PREVIEW_ROWS,
    ImportRequest,
    Inspection,
    LoadedSheet,
    inspect_sheet,
    load_records,
)
from opus_desktop.usecases.rows import ColumnSet

AnyIndex = QModelIndex | QPersistentModelIndex
MISSING_STYLE = "background: rgba(229, 57, 53, 0.28); padding: 4px; border-radius: 3px;"
PROBLEM_STYLE = (
    "background: rgba(229, 57, 53, 0.28); padding: 8px; border-radius: 3px; font-weight: bold;"
)
SHEET_FILTER = f"Sheets ({SHEET_PATTERNS});;All files (*)"


def tr(text: str) -> str:
    return QCoreApplication.translate("ImportDialog", text)


class ImportDialog(QDialog):
    """Signals: loaded(LoadedSheet): the rows are read; the dialog then closes."""

    loaded = Signal(object)

    def __init__(
        self,
        runner: TaskRunner,
        profile: Profile,
        columns: ColumnSet,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("import-dialog")
        self.setWindowTitle(tr("Import a sheet"))
        fit_to_screen(self, 1120, 800)
        self.runner = runner
        self.profile = profile
        self.columns = columns
        self.path: Path | None = None
        self.inspection: Inspection | None = None
        self.task: Task | None = None
        self.refused = False  # the last file or sheet read was refused
        self._wanted: Mapping | None = None  # the mapping to show once the sheet is read

        self.file_edit = QLineEdit()
        self.file_edit.setAccessibleName(tr("File"))
        self.file_edit.setReadOnly(True)
        self.file_edit.setPlaceholderText(tr("No file chosen yet"))
        browse = QPushButton(tr("Choose file…"))
        browse.clicked.connect(self.browse)
        self.sheet_combo = QComboBox()
        self.sheet_combo.setAccessibleName(tr("Sheet"))
        self.sheet_combo.setMinimumWidth(180)
        self.sheet_combo.currentTextChanged.connect(self._sheet_chosen)
        self.header_spin = QSpinBox()
        self.header_spin.setAccessibleName(tr("Header row"))
        self.header_spin.setRange(1, 1000)
        self.header_spin.setToolTip(tr("The row that names the columns"))
        self.header_note = QLabel()
        self._header_timer = QTimer(self)
        self._header_timer.setSingleShot(True)
        self._header_timer.setInterval(400)
        self._header_timer.timeout.connect(self._header_chosen)
        self.header_spin.valueChanged.connect(lambda _: self._header_timer.start())

        file_row = QHBoxLayout()
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(browse)
        sheet_row = QHBoxLayout()
        sheet_row.addWidget(self.sheet_combo)
        sheet_row.addSpacing(16)
        sheet_row.addWidget(QLabel(tr("Header row:")))
        sheet_row.addWidget(self.header_spin)
        sheet_row.addWidget(self.header_note)
        sheet_row.addStretch()
        form = QFormLayout()
        form.addRow(tr("File:"), file_row)
        form.addRow(tr("Sheet:"), sheet_row)
        self.date_order = DateOrderBox()
        self.date_order.changed.connect(self._date_order_chosen)
        form.addRow(tr("Date order:"), self.date_order)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # What stops the import, in words: a file refused, a mapping that cannot be read.
        self.problem = QLabel()
        self.problem.setObjectName("import-problem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(PROBLEM_STYLE)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem.hide()

        self.preview = SheetPreviewModel(self)
        self.preview_view = QTableView()
        self.preview_view.setObjectName("sheet-preview")
        self.preview_view.setAccessibleName(tr("First rows of the sheet"))
        self.preview_view.setModel(self.preview)
        self.preview_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview_view.setWordWrap(False)
        self.preview_view.horizontalHeader().setDefaultAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        )
        self.preview_view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        preview_box = QGroupBox(tr("First rows of the sheet"))
        QVBoxLayout(preview_box).addWidget(self.preview_view)

        self.mapping = MappingModel(columns, self)
        self.mapping_view = QTableView()
        self.mapping_view.setObjectName("mapping-view")
        self.mapping_view.setAccessibleName(tr("Which header feeds each column"))
        self.mapping_view.setModel(self.mapping)
        self.mapping_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.mapping_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.mapping_view.setEditTriggers(
            QAbstractItemView.EditTrigger.AllEditTriggers
            & ~QAbstractItemView.EditTrigger.CurrentChanged
        )
        self.mapping_view.verticalHeader().hide()
        self.mapping_view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.source_delegate = ComboDelegate(self._source_choices, self.mapping_view)
        self.mapping_view.setItemDelegateForColumn(MappingModel.SOURCE, self.source_delegate)
        header = self.mapping_view.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for part in (MappingModel.COLUMN, MappingModel.VALUES):
            header.setSectionResizeMode(part, QHeaderView.ResizeMode.ResizeToContents)
        rematch = QPushButton(tr("Match headers by name"))
        rematch.setToolTip(tr("Forget the choices above and pair headers with columns by name"))
        rematch.clicked.connect(self.match_by_name)
        self.unmatched_label = QLabel()
        self.unmatched_label.setWordWrap(True)
        self.missing_label = QLabel()
        self.missing_label.setWordWrap(True)
        self.missing_label.setObjectName("missing-label")
        self.stale_label = QLabel()
        self.stale_label.setWordWrap(True)

        self.values = ValueMapModel(self.mapping, self)
        self.values_view = QTableView()
        self.values_view.setObjectName("value-map-view")
        self.values_view.setAccessibleName(tr("Option labels"))
        self.values_view.setModel(self.values)
        self.values_view.verticalHeader().hide()
        self.values_view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        values_header = self.values_view.horizontalHeader()
        values_header.setDefaultAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        )
        values_header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        values_header.setSectionResizeMode(
            ValueMapModel.NOTE, QHeaderView.ResizeMode.ResizeToContents
        )
        self.values_view.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        self.option_delegate = ComboDelegate(self._option_choices, self.values_view)
        self.values_view.setItemDelegateForColumn(ValueMapModel.OPTION, self.option_delegate)
        self.values_box = QGroupBox(tr("Option labels"))
        values_layout = QVBoxLayout(self.values_box)
        self.values_note = QLabel()
        self.values_note.setWordWrap(True)
        values_layout.addWidget(self.values_note)
        values_layout.addWidget(self.values_view)

        mapping_box = QGroupBox(tr("Which header feeds each column"))
        mapping_layout = QVBoxLayout(mapping_box)
        top = QHBoxLayout()
        top.addWidget(QLabel(tr("Pick a header for each column, or type a value every row gets.")))
        top.addStretch()
        top.addWidget(rematch)
        mapping_layout.addLayout(top)
        sides = QSplitter(Qt.Orientation.Horizontal)
        sides.addWidget(self.mapping_view)
        sides.addWidget(self.values_box)
        sides.setStretchFactor(0, 3)
        sides.setStretchFactor(1, 2)
        mapping_layout.addWidget(sides, 1)
        mapping_layout.addWidget(self.missing_label)
        mapping_layout.addWidget(self.unmatched_label)
        mapping_layout.addWidget(self.stale_label)

        self.save_check = QCheckBox(
            tr('Save this mapping with the profile "{0}"').format(profile.name)
        )
        self.save_check.setChecked(False)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(240)
        self.progress.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.clicked.connect(self.cancel)
        self.import_button = QPushButton(tr("Import"))
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.start_import)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(self.import_button)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(preview_box)
        splitter.addWidget(mapping_box)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.save_check)
        layout.addLayout(bottom)

        self.mapping.changed.connect(self._mapping_changed)
        self.mapping_view.selectionModel().selectionChanged.connect(self._mapping_selected)
        self._mapping_changed()
        self._mapping_selected(QItemSelection(), QItemSelection())
        self._update_buttons()

    # -- choosing ------------------------------------------------------------------------

    def browse(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, tr("Open a sheet"), "", SHEET_FILTER)
        if chosen:
            self.choose_file(Path(chosen))
        elif self.path is None:
            self.reject()

    def choose_file(
        self, path: Path, *, mapping: Mapping | None = None, sheet: str | None = None
    ) -> None:
        """Read the file's first rows; show `mapping`, else the profile's, else a match."""
        self.path = Path(path)
        self.file_edit.setText(str(self.path))
        self._wanted = mapping or self._profile_mapping()
        self._inspect(sheet, None)

    def match_by_name(self) -> None:
        if self.inspection is not None:
            self.mapping.set_mapping(
                auto_match(self.inspection.data.headers, self.columns.template),
                self.inspection.data.headers,
            )

    def request(self) -> ImportRequest:
        """What Import would read, with the mapping as it stands."""
        if self.path is None or self.inspection is None:
            raise AppError("Choose a sheet to import first.")
        mapping = self.mapping.mapping()
        mapping.check("The mapping")
        return ImportRequest(
            self.path,
            self.columns.template,
            self.columns.settings,
            mapping=mapping,
            sheet=self.inspection.data.sheet,
            header_row=self.inspection.data.header_row,
        )

    # -- importing -----------------------------------------------------------------------

    def start_import(self) -> None:
        try:
            request = self.request()
        except (AppError, MappingError) as exc:
            self.show_problem(str(exc))
            return
        missing = self.mapping.missing()
        if missing:
            names = ", ".join(c.display_name for c in missing)
            answer = QMessageBox.question(
                self,
                tr("Import anyway?"),
                tr(
                    "Nothing feeds {0}, which every record needs. Import anyway and fill "
                    "them in the grid?"
                ).format(names),
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        task = Task(lambda state: load_records(request, state), name="import")
        self._run(task, tr("Reading the rows…"), self._imported)

    def show_problem(self, text: str) -> None:
        """Say in the red bar what stops the import; an empty text hides it."""
        self.problem.setText(text)
        self.problem.setVisible(bool(text))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Import is the default button only outside the tables (see enter_edits).
        if not enter_edits(event, (self.mapping_view, self.values_view)):
            super().keyPressEvent(event)

    def cancel(self) -> None:
        """Stop a running import (the dialog stays); with nothing running, close."""
        if self.task is not None:
            self.task.cancel()
            self.status.setText(tr("Stopping…"))
            return
        self.reject()

    def _imported(self, loaded: LoadedSheet) -> None:
        if loaded.cancelled:
            self.status.setText(tr("Import cancelled: nothing was changed."))
            return
        if self.save_check.isChecked():
            try:
                self.profile.mapping = json.loads(loaded.mapping.to_json())
                save_profile(self.profile)
            except AppError as exc:
                QMessageBox.warning(self, tr("Save the mapping"), exc.message)
        self.loaded.emit(loaded)
        self.accept()

    # -- reading the first rows --------------------------------------------------------------

    def _inspect(self, sheet: str | None, header_row: int | None) -> None:
        if self.path is None:
            return
        path = self.path
        task = Task(lambda state: inspect_sheet(path, sheet, header_row), name="inspect")
        self._run(task, tr("Reading {0}…").format(path.name), self._inspected)

    def _inspected(self, inspection: Inspection) -> None:
        previous = self.inspection
        self.inspection = inspection
        self.refused = False
        self.show_problem("")
        data = inspection.data
        self.sheet_combo.blockSignals(True)
        self.sheet_combo.clear()
        self.sheet_combo.addItems(inspection.sheets)
        self.sheet_combo.setCurrentText(data.sheet)
        self.sheet_combo.blockSignals(False)
        self.header_spin.blockSignals(True)
        self.header_spin.setValue(data.header_row)
        self.header_spin.blockSignals(False)
        self.header_note.setText(
            tr("(columns {0} to {1})").format(
                data.column_letter(0), data.column_letter(len(data.headers) - 1)
            )
        )
        self.preview.set_sheet(data)
        self.preview_view.resizeColumnsToContents()
        for section in range(self.preview.columnCount()):
            width = self.preview_view.columnWidth(section)
            self.preview_view.setColumnWidth(section, min(width, 260))
        if self._wanted is not None:
            mapping, self._wanted = self._wanted, None
        elif previous is not None and previous.data.headers == data.headers:
            mapping = self.mapping.mapping()
        else:
            mapping = auto_match(data.headers, self.columns.template)
        self.mapping.set_mapping(mapping, data.headers)
        said = tr("{0}: header on row {1}; the first {2} rows are shown.").format(
            data.source, data.header_row, len(data.rows)
        )
        self.status.setText(" ".join([said, *data.notes]))  # e.g. a file misnamed

    def _sheet_chosen(self, name: str) -> None:
        if name and self.inspection is not None and name != self.inspection.data.sheet:
            self._inspect(name, None)

    def _header_chosen(self) -> None:
        if self.inspection is None:
            return
        row = self.header_spin.value()
        if row != self.inspection.data.header_row:
            self._inspect(self.inspection.data.sheet, row)

    # -- tasks -------------------------------------------------------------------------------

    def _run(self, task: Task, label: str, on_result: Callable[[Any], None]) -> None:
        if self.task is not None:
            self.task.cancel()
        self.task = task
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.setText(label)

        def succeeded(result: object) -> None:
            if self.task is task:
                on_result(result)

        def failed(exc: BaseException) -> None:
            if self.task is task:
                text = (
                    exc.message
                    if isinstance(exc, AppError)
                    else tr("Something went wrong: {0}").format(exc)
                )
                self.status.setText("")
                if task.name == "inspect":  # refused: nothing to import until another is read
                    self.refused = True
                    self.preview.set_sheet(None)
                    text = tr("This file cannot be imported. {0}").format(text)
                self.show_problem(text)
                self._mapping_changed()

        def finished() -> None:
            if self.task is task:
                self.task = None
                self.progress.hide()
                self._update_buttons()

        task.progress.connect(lambda progress: self._progress(task, progress))
        task.succeeded.connect(succeeded)
        task.failed.connect(failed)
        task.finished.connect(finished)
        self.runner.start(task)
        self._update_buttons()

    def _progress(self, task: Task, progress: Progress) -> None:
        if task is self.task and progress.status:
            rate = f" ({progress.rate:,.0f} a second)" if progress.rate else ""
            self.status.setText(progress.status + rate)

    def _update_buttons(self) -> None:
        running = self.task is not None
        self.import_button.setEnabled(
            not running and self.inspection is not None and not self.refused
        )
        self.cancel_button.setText(tr("Stop") if running else tr("Cancel"))

    def reject(self) -> None:
        if self.task is not None:
            self.task.cancel()
        super().reject()

    # -- the mapping's looks -------------------------------------------------------------------

    def _profile_mapping(self) -> Mapping | None:
        if not self.profile.mapping:
            return None
        try:
            return Mapping.from_json(json.dumps(self.profile.mapping), "The profile's mapping")
        except AppError as exc:
            self.status.setText(exc.message)
            return None

    def _source_choices(self) -> list[tuple[str, str]]:
        return [(tr("(none)"), MappingModel.NONE), *((h, h) for h in self.mapping.headers)]

    def _option_choices(self) -> list[tuple[str, str]]:
        labels = self.values.option_labels()
        return [(tr("(as in the sheet)"), ValueMapModel.AS_GIVEN), *((o, o) for o in labels)]

    def _mapping_changed(self) -> None:
        unmatched = self.mapping.unmatched()
        missing = self.mapping.missing()
        if self.inspection is None or self.refused:
            self.unmatched_label.setText("")
        elif unmatched:
            self.unmatched_label.setText(
                tr("Not used from the sheet: {0}.").format(", ".join(unmatched))
            )
        else:
            self.unmatched_label.setText(tr("Every header of the sheet is used."))
        if missing and self.inspection is not None and not self.refused:
            self.missing_label.setText(
                tr(
                    "Every record needs {0}, but no header or value feeds it yet: pick a "
                    "header or type a value for it."
                ).format(", ".join(c.display_name for c in missing))
            )
            self.missing_label.setStyleSheet(MISSING_STYLE)
        else:
            self.missing_label.setText("")
            self.missing_label.setStyleSheet("")
        self.stale_label.setText(" ".join(self.mapping.stale))
        self.stale_label.setVisible(bool(self.mapping.stale))
        self.preview.set_used(set(self.mapping.sources.values()))
        self._show_date_orders()
        if self.values_view.state() != QAbstractItemView.State.EditingState:
            # An option chosen in the labels' table leaves its labels as they are; showing
            # them afresh would close the editor that is committing.
            self._mapping_selected(QItemSelection(), QItemSelection())

    def _date_order_chosen(self, order: str | None) -> None:
        self.mapping.date_order = order
        self._show_date_orders()

    def _show_date_orders(self) -> None:
        self.date_order.set_order(self.mapping.date_order)
        if self.inspection is None:
            self.date_order.told.setText("")
            return
        data = self.inspection.data
        told = decisions(
            data,
            self.mapping.sources,
            self.columns.template,
            self.columns.settings.date_format,
            self.mapping.date_order,
        )
        self.date_order.show_decisions(told, len(data.rows) >= PREVIEW_ROWS)

    def _mapping_selected(self, _: QItemSelection, __: QItemSelection) -> None:
        rows = self.mapping_view.selectionModel().selectedRows()
        column = self.mapping.column(rows[0].row()) if rows else None
        if column is None or column.type not in CHOICES:
            self.values.show_column(None, [])
            self.values_box.setTitle(tr("Option labels"))
            self.values_note.setText(
                tr(
                    "Select a choice column (such as a level or a department) to translate "
                    "the labels the sheet uses into its options."
                )
            )
            return
        header = self.mapping.sources.get(column.internal_name)
        labels = self._sheet_labels(header, column.type) if header else []
        self.values.show_column(column.internal_name, labels)
        self.values_box.setTitle(tr("Option labels of {0}").format(column.display_name))
        if header:
            self.values_note.setText(
                tr('Labels in "{0}" (first rows), and the option each is sent as.').format(header)
            )
        else:
            self.values_note.setText(tr("No header feeds this column yet."))

    def _sheet_labels(self, header: str, kind: ColumnType) -> list[str]:
        labels: list[str] = []
        for value in self.preview.column_values(header):
            if value is None:
                continue
            text = str(value)
            if kind is ColumnType.MULTIPLE_CHOICE:
                labels.extend(p.strip() for p in text.replace(",", ";").split(";") if p.strip())
            else:
                labels.append(text.strip())
        return labels
