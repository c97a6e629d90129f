"""Show all rows, only invalid ones, those not yet sent, or those that failed.

The proxy filters on tokens the model gives for FILTER_ROLE, matched by a regular
expression in C++: with "All" the pattern is empty and Qt accepts every row without
asking the model, so 100,000 rows cost nothing. Sorting is the model's own (a fast
Python sort), so the proxy hands header clicks on to it.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from PySide6.QtCore import QCoreApplication, QRegularExpression, QSortFilterProxyModel, Qt

from opus_desktop.gui.editor.model import FILTER_ROLE, STATUS_COLUMN


class RowFilter(Enum):
    ALL = ""
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


class RecordsFilter(QSortFilterProxyModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setFilterRole(FILTER_ROLE)
        self.setFilterKeyColumn(STATUS_COLUMN)
        self.setDynamicSortFilter(True)
        self._mode = RowFilter.ALL

    @property
    def mode(self) -> RowFilter:
        return self._mode

    def set_mode(self, mode: RowFilter) -> None:
        self._mode = mode
        pattern = "" if mode is RowFilter.ALL else rf" {mode.value} "
        self.setFilterRegularExpression(QRegularExpression(QRegularExpression.escape(pattern)))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self.sourceModel()
        if source is not None and column >= 0:
            source.sort(column, order)
