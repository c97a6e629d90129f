"""The first rows of the sheet as read, for the import dialog: the header row's names as
column headers and Excel's row numbers down the side, so the user sees what was taken
for the header and can change it."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QFont

from opus_desktop.core.sheets import CellValue, SheetData, SheetRow

AnyIndex = QModelIndex | QPersistentModelIndex


def tr(text: str) -> str:
    return QCoreApplication.translate("SheetPreview", text)


def cell_text(value: CellValue) -> str:
    """A cell as Excel would show it, near enough: dates without a time at midnight."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d") if value.time() == time() else value.isoformat(" ")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


class SheetPreviewModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.headers: list[str] = []
        self.rows: list[SheetRow] = []
        self.used: set[str] = set()  # headers the mapping uses, shown in bold
        self._bold = QFont()
        self._bold.setBold(True)

    def set_sheet(self, sheet: SheetData | None) -> None:
        self.beginResetModel()
        self.headers = list(sheet.headers) if sheet is not None else []
        self.rows = list(sheet.rows) if sheet is not None else []
        self.endResetModel()

    def set_used(self, used: set[str]) -> None:
        self.used = used
        if self.headers:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.headers) - 1)

    def column_values(self, header: str) -> list[CellValue]:
        if header not in self.headers:
            return []
        at = self.headers.index(header)
        return [row.cells[at] for row in self.rows]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = cell_text(self.rows[index.row()].cells[index.column()])
            if role == Qt.ItemDataRole.DisplayRole:
                return text.replace("\n", " ↵ ")
            return text if len(text) > 30 or "\n" in text else None
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Vertical:
            if role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self.rows):
                return str(self.rows[section].number)
            return None
        if not 0 <= section < len(self.headers):
            return None
        header = self.headers[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return header or tr("(no header)")
        if role == Qt.ItemDataRole.ToolTipRole:
            if not header:
                return tr("This column has no header, so it is not read.")
            if header in self.used:
                return tr("Used by the mapping")
            return tr("Not used by the mapping")
        if role == Qt.ItemDataRole.FontRole and header in self.used:
            return self._bold
        return None
