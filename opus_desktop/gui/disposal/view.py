"""The due records' table view: rows selected whole, Space ticks or unticks the selected
rows, a context menu does the same, and an empty table says why it is empty."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QModelIndex, QPersistentModelIndex, QPoint, QRectF, Qt
from PySide6.QtGui import QContextMenuEvent, QKeyEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from opus_desktop.gui.disposal.model import CHECK_COLUMN, DueFilter, DueModel
from opus_desktop.gui.editor.words import count
from opus_desktop.gui.icons import is_dark

MAX_COLUMN_WIDTH = 320
SAMPLE_ROWS = 60


def tr(text: str) -> str:
    return QCoreApplication.translate("DueView", text)


class TickDelegate(QStyledItemDelegate):
    """Fusion draws a tick box's frame in a shade of the window colour, which vanishes on
    a dark palette; there, a frame in the placeholder text's colour is drawn over it."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        super().paint(painter, option, index)
        if not is_dark(option.palette):
            return
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        widget = item.widget
        style = widget.style() if widget is not None else QApplication.style()
        box = style.subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, item, widget)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(item.palette.placeholderText().color(), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(QRectF(box).adjusted(1.5, 1.5, -1.5, -1.5), 2, 2)
        painter.restore()


class DueView(QTableView):
    def __init__(self, proxy: DueFilter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("due-view")
        self.proxy = proxy
        self.placeholder = ""
        self.setModel(proxy)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setSortingEnabled(True)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        rows = self.verticalHeader()
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        header.setMinimumSectionSize(28)
        header.setSectionResizeMode(CHECK_COLUMN, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(CHECK_COLUMN, 32)
        self.setItemDelegateForColumn(CHECK_COLUMN, TickDelegate(self))

    @property
    def due(self) -> DueModel:
        return self.proxy.due

    # -- ticking the selection -------------------------------------------------------------

    def selected_keys(self) -> list[str]:
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        return [
            self.due.record_at(self.proxy.mapToSource(self.proxy.index(row, 0)).row()).row_key
            for row in rows
        ]

    def tick_selected(self, checked: bool | None = None) -> int:
        """Tick the selected rows (None: tick them unless all are ticked, then untick)."""
        keys = self.selected_keys()
        if not keys:
            return 0
        if checked is None:
            checked = not all(self.due.is_checked(key) for key in keys)
        return self.due.set_checked(keys, checked)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and self.selected_keys():
            self.tick_selected()
            event.accept()
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        keys = self.selected_keys()
        if not keys:
            return
        menu = QMenu(self)
        n = count(len(keys), tr("1 selected row"), tr("{0} selected rows"))
        menu.addAction(tr("Tick {rows}").format(rows=n), lambda: self.tick_selected(True))
        menu.addAction(tr("Untick {rows}").format(rows=n), lambda: self.tick_selected(False))
        menu.exec(event.globalPos())

    # -- looks -----------------------------------------------------------------------------

    def set_placeholder(self, text: str) -> None:
        if text != self.placeholder:
            self.placeholder = text
            self.viewport().update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.proxy.rowCount() or not self.placeholder:
            return
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().placeholderText().color())
        area = self.viewport().rect().adjusted(24, 24, -24, -24)
        painter.drawText(
            area,
            int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
            self.placeholder,
        )
        painter.end()

    def fit_columns(self) -> None:
        """Size each column to its header and the first rows, within a limit."""
        header = self.horizontalHeader()
        metrics = self.fontMetrics()
        rows = min(self.proxy.rowCount(), SAMPLE_ROWS)
        for column in range(1, self.proxy.columnCount()):
            title = str(self.proxy.headerData(column, Qt.Orientation.Horizontal) or "")
            widest = metrics.horizontalAdvance(title) + 28
            for row in range(rows):
                text = str(self.proxy.index(row, column).data() or "")
                widest = max(widest, metrics.horizontalAdvance(text) + 16)
            header.resizeSection(column, min(widest, MAX_COLUMN_WIDTH))

    def tick_point(self, key: str) -> QPoint | None:
        """Where a record's tick box is on screen (for tests), or None when not shown."""
        row = self.due.row_of(key)
        if row is None:
            return None
        index = self.proxy.mapFromSource(self.due.index(row, CHECK_COLUMN))
        if not index.isValid():
            return None
        return self.visualRect(index).center()
