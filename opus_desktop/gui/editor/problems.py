"""The problems panel: every cell Opus would refuse, with its row, column and sentence,
and the cells warned of (a Modified time earlier than the Created time), marked apart.

The list follows the grid's order. It is rebuilt once per burst of changes (a paste of
a thousand cells refreshes it once) and only the part that changed is replaced, so the
list keeps its scroll position and selection while the user works down it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from opus_desktop.gui.editor import icons
from opus_desktop.gui.editor.model import RecordsModel
from opus_desktop.gui.editor.words import count as count_of
from opus_desktop.gui.icons import status_icon
from opus_desktop.usecases.rows import Row

AnyIndex = QModelIndex | QPersistentModelIndex
Entry = tuple[Row, int, str, bool]  # the row, its template column index, the sentence, a warning


def tr(text: str, n: int = -1) -> str:
    return QCoreApplication.translate("ProblemsPanel", text, None, n)


class ProblemsModel(QAbstractTableModel):
    """Signals: count_changed(int): the number of problems listed."""

    count_changed = Signal(int)
    ROW, COLUMN, PROBLEM = range(3)

    def __init__(self, records: RecordsModel, parent: Any = None) -> None:
        super().__init__(parent)
        self.records = records
        self._entries: list[Entry] = []
        self.warnings = 0  # of the entries, how many are warnings
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refresh)
        records.problems_changed.connect(self._timer.start)
        records.modelReset.connect(self._timer.start)

    def entry(self, row: int) -> Entry:
        return self._entries[row]

    def refresh(self) -> None:
        """Bring the list up to date, replacing only the stretch that differs."""
        self._timer.stop()
        new = self._collect()
        old = self._entries
        shortest = min(len(old), len(new))
        head = 0
        while head < shortest and _same(old[head], new[head]):
            head += 1
        tail = 0
        while tail < shortest - head and _same(old[-1 - tail], new[-1 - tail]):
            tail += 1
        if head + tail < len(old):
            self.beginRemoveRows(QModelIndex(), head, len(old) - tail - 1)
            del old[head : len(old) - tail]
            self.endRemoveRows()
        if head + tail < len(new):
            self.beginInsertRows(QModelIndex(), head, len(new) - tail - 1)
            old[head:head] = new[head : len(new) - tail]
            self.endInsertRows()
        self.warnings = sum(1 for entry in old if entry[3])
        self.count_changed.emit(len(old) - self.warnings)

    def _collect(self) -> list[Entry]:
        columns = self.records.columns
        if columns is None:
            return []
        found: list[Entry] = []
        row_problems, warned = columns.row_problems, columns.cell_warning
        for row in self.records.rows():
            if row.problems is not None or row.duplicate_of is not None:
                found.extend((row, index, text, False) for index, text in row_problems(row))
            if row.order is not None and columns.modified_at is not None:
                warning = warned(row, columns.modified_at)
                if warning is not None:
                    found.append((row, columns.modified_at, warning, True))
        return found

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 3

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, at, text, warning = self._entries[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.PROBLEM and warning:
                return tr("Warning: {0}").format(text)
            if column == self.ROW:
                return str(row.source) if row.source is not None else tr("new")
            if column == self.COLUMN:
                columns = self.records.columns
                return columns.columns[at].display_name if columns is not None else ""
            return text
        if role == Qt.ItemDataRole.ToolTipRole and column == self.PROBLEM:
            return tr("Warning: {0}").format(text) if warning else text
        if role == Qt.ItemDataRole.DecorationRole and column == self.ROW:
            return status_icon("warning") if warning else icons.problem()
        if role == Qt.ItemDataRole.TextAlignmentRole and column == self.ROW:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        return {self.ROW: tr("Row"), self.COLUMN: tr("Column"), self.PROBLEM: tr("Problem")}.get(
            section
        )


def _same(a: Entry, b: Entry) -> bool:
    return a[0] is b[0] and a[1] == b[1] and a[2] == b[2] and a[3] == b[3]


class ProblemsPanel(QWidget):
    """Signals: jump(Row, int): go to this row's cell (template column index)."""

    jump = Signal(object, int)

    def __init__(self, records: RecordsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ProblemsModel(records, self)
        self.title = QLabel()
        self.title.setObjectName("problems-title")
        self.table = QTableView()
        self.table.setObjectName("problems-view")
        self.table.setAccessibleName(tr("Problems"))
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(ProblemsModel.ROW, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(ProblemsModel.PROBLEM, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(ProblemsModel.ROW, 80)
        header.resizeSection(ProblemsModel.COLUMN, 150)
        self.table.clicked.connect(self._activated)
        self.table.activated.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.table)
        self.model.count_changed.connect(self._count_changed)
        self._count_changed(0)

    def _count_changed(self, count: int) -> None:
        records = self.model.records
        warnings = self.model.warnings
        told = count_of(warnings, tr("1 warning"), tr("{0} warnings")) if warnings else ""
        if records.columns is None or records.rowCount() == 0:
            self.title.setText(tr("Problems"))
        elif count == 0 and not warnings:
            self.title.setText(tr("No problems: every row can be sent."))
        elif count == 0:
            self.title.setText(
                tr(
                    "No problems: every row can be sent; {0} to check — click one to go to its cell"
                ).format(told)
            )
        else:
            self.title.setText(
                count_of(count, tr("1 problem"), tr("{0} problems"))
                + count_of(records.invalid_rows, tr(" in 1 row"), tr(" in {0} rows"))
                + (tr(", {0}").format(told) if told else "")
                + tr(" — click one to go to its cell")
            )

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            row, at = self.model.entry(index.row())[:2]
            self.jump.emit(row, at)
