"""The connection template's columns as a read-only table: name, type, required."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
)
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTableView

from opus_desktop.core.schema import Column, ColumnType, Template

Index = QModelIndex | QPersistentModelIndex
ROW_PADDING = 6  # above and below a row's lines together, as a one-line row has
# The widest word of a name the table makes room for; one wider (a template's oddity) may
# be cut rather than make the panel wider than the records beside it.
MAX_WORD = 220

# Type names as a records officer reads them, not as the template spells them.
TYPE_NAMES: dict[ColumnType, str] = {
    ColumnType.SINGLE_TEXT: "Text",
    ColumnType.MULTIPLE_TEXT: "Multi-line text",
    ColumnType.DATE_TIME: "Date and time",
    ColumnType.NUMBER: "Number",
    ColumnType.SINGLE_CHOICE: "Choice",
    ColumnType.MULTIPLE_CHOICE: "Several choices",
    ColumnType.PEOPLE_OR_GROUP: "People",
    ColumnType.TAXONOMY: "Term path",
}


def tr(text: str) -> str:
    return QCoreApplication.translate("ColumnsModel", text)


def type_name(column_type: ColumnType) -> str:
    return QCoreApplication.translate("ColumnsModel", TYPE_NAMES[column_type])


class ColumnsModel(QAbstractTableModel):
    """One row per template column, in template order."""

    NAME, TYPE, REQUIRED = range(3)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._columns: tuple[Column, ...] = ()

    def set_template(self, template: Template | None) -> None:
        self.beginResetModel()
        self._columns = template.columns if template is not None else ()
        self.endResetModel()

    def column_at(self, row: int) -> Column:
        return self._columns[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 3

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return (tr("Column"), tr("Type"), tr("Required"))[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._columns):
            return None
        column = self._columns[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == self.NAME:
                return column.display_name
            if index.column() == self.TYPE:
                return type_name(column.type)
            return tr("yes") if column.required else ""
        if role == Qt.ItemDataRole.ToolTipRole:
            return tr("{name}: sent as {internal} ({type})").format(
                name=column.display_name, internal=column.internal_name, type=column.type.value
            )
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class PaddedRows(QStyledItemDelegate):
    """Rows as tall as their lines and the padding a one-line row has: a name that wraps
    onto two lines otherwise filled its row edge to edge."""

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), size.height() + ROW_PADDING)


def narrowest_width(view: QTableView) -> int:
    """The view's width at which the Name column still holds each name's longest word
    (names wrap at spaces only: a narrower panel cut "Classification" to "Classificatio"),
    beside the Type and Required columns at their own widths."""
    model = view.model()
    metrics = view.fontMetrics()
    words = (
        word
        for row in range(model.rowCount())
        for word in str(model.index(row, ColumnsModel.NAME).data()).split()
    )
    widest = min(max(map(metrics.horizontalAdvance, words), default=0), MAX_WORD)
    margin = view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1
    header = view.horizontalHeader()
    name = max(widest + 2 * margin + 1, header.sectionSizeHint(ColumnsModel.NAME))
    others = sum(
        max(view.sizeHintForColumn(column), header.sectionSizeHint(column))
        for column in (ColumnsModel.TYPE, ColumnsModel.REQUIRED)
    )
    bar = view.verticalScrollBar().sizeHint().width()
    return name + others + bar + 2 * view.frameWidth()
