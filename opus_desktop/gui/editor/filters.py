"""Show all rows, only invalid ones, those not yet sent, or those that failed.

"All rows" goes through a QIdentityProxyModel: C++ only, so 100,000 rows cost nothing
when a sheet is loaded or sorted. The other views go through RecordsFilter, whose
filterAcceptsRow asks the row itself (about a microsecond a row: a tenth of a second
for 100,000), and which is attached to the records only while it is shown. Sorting is
the model's own fast sort; both proxies hand header clicks on to it.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QIdentityProxyModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from opus_desktop.gui.editor.model import RecordsModel
from opus_desktop.usecases.rows import FAILED, UNSENT


class RowFilter(Enum):
    ALL = "all"
    INVALID = "invalid"
    UNSENT = "unsent"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return {
            RowFilter.ALL: QCoreApplication.translate("RowFilter", "All rows"),
            RowFilter.INVALID: QCoreApplication.translate("RowFilter", "Invalid"),
            RowFilter.UNSENT: QCoreApplication.translate("RowFilter", "Not yet sent"),
            RowFilter.FAILED: QCoreApplication.translate("RowFilter", "Failed"),
        }[self]


class AllRows(QIdentityProxyModel):
    """Every row, as the model has them (QAbstractProxyModel passes sort() on)."""

    def __init__(self, records: RecordsModel, parent: Any = None) -> None:
        super().__init__(parent)
        self.records = records
        self.setSourceModel(records)


class RecordsFilter(QSortFilterProxyModel):
    """The rows one RowFilter shows; `show(mode)` attaches it, `detach()` lets it rest."""

    def __init__(self, records: RecordsModel, parent: Any = None) -> None:
        super().__init__(parent)
        self.records = records
        self.mode = RowFilter.INVALID
        self.setDynamicSortFilter(True)

    def show(self, mode: RowFilter) -> None:
        self.mode = mode
        if self.sourceModel() is None:
            self.setSourceModel(self.records)
        else:
            self.invalidate()

    def detach(self) -> None:
        """While another view shows, follow no changes at all."""
        self.setSourceModel(None)  # type: ignore[arg-type]

    def filterAcceptsRow(
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        row = self.records.row_at(source_row)
        mode = self.mode
        if mode is RowFilter.INVALID:
            return row.problems is not None or row.duplicate_of is not None
        if mode is RowFilter.UNSENT:
            return row.status in UNSENT
        if mode is RowFilter.FAILED:
            return row.status == FAILED
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column >= 0:
            self.records.sort(column, order)
