"""The records grid: a QTableView with the spreadsheet gestures.

The view shows the model through one of two proxies (filters.py): all rows, or the
rows one filter keeps. Copy, paste, clear, fill down and the row commands work on what
the user sees (the proxy's rows, in its order) and reach the model as one undo step
each. An empty grid says what to do next instead of showing nothing.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QCoreApplication,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFontMetrics, QGuiApplication, QPainter, QPaintEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from opus_desktop.gui.editor import clipboard
from opus_desktop.gui.editor.filters import AllRows, RecordsFilter, RowFilter
from opus_desktop.gui.editor.model import STATUS_COLUMN, RecordsModel
from opus_desktop.gui.editor.words import count
from opus_desktop.usecases.rows import Row


def tr(text: str, n: int = -1) -> str:
    return QCoreApplication.translate("RecordsView", text, None, n)


class RecordsView(QTableView):
    """Signals:
    message(str): a sentence for the status bar (what a paste did, why a copy refused).
    current_moved(object): the current cell's row position in the model, or None.
    selection_moved(): the selection changed (the Edit actions follow it).
    """

    message = Signal(str)
    current_moved = Signal(object)
    selection_moved = Signal()

    def __init__(self, model: RecordsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.records = model
        self.all_rows = AllRows(model, self)
        self.filtered = RecordsFilter(model, self)
        self.placeholder = ""
        self.setModel(self.all_rows)
        self._follow_selection()
        self.setObjectName("records-view")
        self.setAccessibleName(tr("Records"))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        # Sideways by whole columns, as in a spreadsheet: a column cut at the left edge
        # showed only its last characters beside the row numbers ("41" read as a row).
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        rows = self.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        rows.setDefaultAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        header = self.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setHighlightSections(True)
        header.setStretchLastSection(False)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        header.setSortIndicatorShown(True)
        header.setResizeContentsPrecision(100)  # double-clicking an edge measures 100 rows
        self.setSortingEnabled(True)
        model.modelReset.connect(self._after_reset)

    # -- which rows ------------------------------------------------------------------------

    @property
    def proxy(self) -> AllRows | RecordsFilter:
        """The proxy shown now: its rows and their order are what the user sees."""
        return self.filtered if self.model() is self.filtered else self.all_rows

    @property
    def row_filter(self) -> RowFilter:
        return RowFilter.ALL if self.proxy is self.all_rows else self.filtered.mode

    def set_filter(self, mode: RowFilter) -> None:
        """Show these rows; the current cell stays if its row is still shown."""
        if mode is self.row_filter:
            return
        current = self.current_source()
        if mode is RowFilter.ALL:
            self.setModel(self.all_rows)
            self.filtered.detach()
        else:
            self.filtered.show(mode)
            if self.model() is not self.filtered:
                self.setModel(self.filtered)
        self._follow_selection()
        if current.isValid():
            self.go_to(current.row(), current.column())
        else:
            self.current_moved.emit(None)

    def _follow_selection(self) -> None:
        selection = self.selectionModel()
        selection.currentChanged.connect(self._current_changed)
        selection.selectionChanged.connect(lambda *_: self.selection_moved.emit())

    def _current_changed(self, current: QModelIndex, _: QModelIndex) -> None:
        source = self.proxy.mapToSource(current) if current.isValid() else QModelIndex()
        self.current_moved.emit(source.row() if source.isValid() else None)

    # -- looks --------------------------------------------------------------------------------

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self.viewport().update()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self._start_at_a_column()

    def updateGeometries(self) -> None:
        super().updateGeometries()
        self._start_at_a_column()

    def _start_at_a_column(self) -> None:
        """Scrolled to the end, Qt lines the last column up with the right edge, which
        cuts the column at the left; start at a whole column there too, with blank
        space after the last one, as a spreadsheet has."""
        bar = self.horizontalScrollBar()
        if bar.maximum() <= 0 or bar.value() != bar.maximum():
            return
        header = self.horizontalHeader()
        before = header.offset()
        header.setOffsetToSectionPosition(bar.value())
        if header.offset() != before:
            self.viewport().update()
            self.updateEditorGeometries()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.proxy.rowCount() or not self.placeholder:
            return
        painter = QPainter(self.viewport())
        colour = self.palette().placeholderText().color()
        painter.setPen(colour)
        area = self.viewport().rect().adjusted(24, 24, -24, -24)
        painter.drawText(
            area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder
        )
        painter.end()

    def fit_columns(self, sample: int = 60) -> None:
        """Widths from the header and the first rows, capped so one long name cannot
        push every other column off screen. Measured here rather than by Qt's
        resizeColumnsToContents, which would ask the delegate about 1,000 rows."""
        header = self.horizontalHeader()
        plain = self.fontMetrics()
        bold_font = self.font()
        bold_font.setBold(True)
        bold = QFontMetrics(bold_font)
        rows = min(self.proxy.rowCount(), sample)
        limit = max(160, self.viewport().width() // 3)
        icon = self.iconSize().width() if self.iconSize().width() > 0 else 16
        for column in range(self.proxy.columnCount()):
            title = str(self.proxy.headerData(column, Qt.Orientation.Horizontal) or "")
            widest = bold.horizontalAdvance(title) + 28  # room for the sort arrow
            texts = [self.proxy.index(row, column).data() or "" for row in range(rows)]
            # Measuring text is slow; the widest is among the longest few.
            for text in sorted(texts, key=len)[-3:]:
                widest = max(widest, plain.horizontalAdvance(text) + icon + 16)
            header.resizeSection(column, min(max(widest, 70), limit))

    def _after_reset(self) -> None:
        header = self.horizontalHeader()
        header.blockSignals(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        header.blockSignals(False)
        header.viewport().update()

    # -- where the user is --------------------------------------------------------------------

    def source_row(self, proxy_row: int) -> int:
        return self.proxy.mapToSource(self.proxy.index(proxy_row, 0)).row()

    def selected_source_rows(self) -> list[int]:
        """Source positions of every row with a selected cell (or the current row)."""
        indexes = self.selectionModel().selectedIndexes()
        if not indexes and self.currentIndex().isValid():
            indexes = [self.currentIndex()]
        rows = {self.proxy.mapToSource(index).row() for index in indexes}
        return sorted(rows)

    def selection_rectangle(self) -> tuple[int, int, int, int] | None:
        """(top, left, bottom, right) in view rows and columns if the selection is one
        rectangle; the current cell alone when nothing is selected."""
        indexes = self.selectionModel().selectedIndexes()
        if not indexes:
            current = self.currentIndex()
            if not current.isValid():
                return None
            return current.row(), current.column(), current.row(), current.column()
        rows = [i.row() for i in indexes]
        columns = [i.column() for i in indexes]
        top, bottom, left, right = min(rows), max(rows), min(columns), max(columns)
        if (bottom - top + 1) * (right - left + 1) != len(indexes):
            return None
        return top, left, bottom, right

    # -- clipboard ----------------------------------------------------------------------------

    def copy(self) -> bool:
        rectangle = self.selection_rectangle()
        if rectangle is None:
            self.message.emit(tr("Copy works on one rectangular block of cells."))
            return False
        top, left, bottom, right = rectangle
        block = [
            [self.records.text(self.source_row(r), c) for c in range(left, right + 1)]
            for r in range(top, bottom + 1)
        ]
        QGuiApplication.clipboard().setText(clipboard.to_text(block))
        cells = (bottom - top + 1) * (right - left + 1)
        self.message.emit(count(cells, tr("Copied 1 cell."), tr("Copied {0} cells.")))
        return True

    def cut(self) -> None:
        if self.copy():
            self.clear_cells(tr("Cut"))

    def paste(self) -> int:
        return self.paste_text(QGuiApplication.clipboard().text())

    def paste_text(self, text: str) -> int:
        """Paste a tab-separated block at the selection; rows beyond the last are added.

        One value pasted over several selected cells fills them all; a block pasted over
        a selection that is a whole number of blocks tall and wide is repeated, as in Excel.
        """
        if self.records.columns is None:
            return 0
        block = clipboard.from_text(text)
        if not block:
            return 0
        rectangle = self.selection_rectangle() or (self.proxy.rowCount(), 1, -1, 0)
        top, left, bottom, right = rectangle
        left = max(left, STATUS_COLUMN + 1)  # the Status column is not the user's to paste into
        height, width = len(block), len(block[0])
        rows_wanted, columns_wanted = height, width
        selected_height, selected_width = bottom - top + 1, right - left + 1
        if (
            selected_height >= height
            and selected_width >= width
            and (selected_height % height == 0 and selected_width % width == 0)
        ):
            rows_wanted, columns_wanted = selected_height, selected_width
        last_column = self.proxy.columnCount() - 1
        dropped = max(0, left + columns_wanted - 1 - last_column)
        edits: list[tuple[int, int, str | None]] = []
        appended: list[dict[int, str]] = []
        visible = self.proxy.rowCount()
        for i in range(rows_wanted):
            cells = {
                left + j: block[i % height][j % width]
                for j in range(columns_wanted)
                if left + j <= last_column
            }
            if top + i < visible:
                source = self.source_row(top + i)
                edits.extend((source, column, text) for column, text in cells.items())
            else:
                appended.append(cells)
        label = tr("Paste")
        self.records.apply_block(edits, appended, label)
        changed = len(edits) + sum(len(cells) for cells in appended)
        note = count(changed, tr("Pasted 1 cell"), tr("Pasted {0} cells"))
        if appended:
            note += count(len(appended), tr(", adding a row"), tr(", adding {0} rows"))
        if dropped:
            note += count(
                dropped,
                tr("; 1 column beyond the last was left out"),
                tr("; {0} columns beyond the last were left out"),
            )
        self.message.emit(note + ".")
        self._select(top, left, top + rows_wanted - 1, min(left + columns_wanted - 1, last_column))
        return changed

    # -- cell commands ------------------------------------------------------------------------

    def clear_cells(self, label: str | None = None) -> int:
        indexes = self.selectionModel().selectedIndexes() or [self.currentIndex()]
        edits = [
            (self.proxy.mapToSource(i).row(), i.column(), "")
            for i in indexes
            if i.isValid() and i.column() != STATUS_COLUMN
        ]
        return self.records.apply_block(edits, [], label or tr("Clear cells"))

    def fill_down(self) -> int:
        """Each selected column takes the value of its top selected cell; a single selected
        row takes the row above it (Ctrl+D in Excel)."""
        indexes = [
            i for i in self.selectionModel().selectedIndexes() if i.column() != STATUS_COLUMN
        ]
        if not indexes and self.currentIndex().isValid():
            indexes = [self.currentIndex()]
        by_column: dict[int, list[int]] = {}
        for index in indexes:
            by_column.setdefault(index.column(), []).append(index.row())
        edits: list[tuple[int, int, str | None]] = []
        for column, rows in by_column.items():
            rows.sort()
            if len(rows) == 1:
                if rows[0] == 0:
                    continue
                rows = [rows[0] - 1, rows[0]]
            text = self.records.text(self.source_row(rows[0]), column)
            edits.extend((self.source_row(r), column, text) for r in rows[1:])
        if not edits:
            self.message.emit(tr("Select the cells to fill, under the value to copy."))
            return 0
        return self.records.apply_block(edits, [], tr("Fill down"))

    # -- row commands -------------------------------------------------------------------------

    def add_row(self) -> None:
        current = self.currentIndex()
        position = self.source_row(current.row()) + 1 if current.isValid() else None
        if position is None:
            position = self.records.rowCount()
        rows = self.records.insert_rows(position, [{}])
        if rows:
            self.go_to_row(rows[0], max(current.column(), STATUS_COLUMN + 1))

    def duplicate_rows(self) -> None:
        copies = self.records.duplicate_rows(self.selected_source_rows())
        if copies:
            self.go_to_row(copies[0], max(self.currentIndex().column(), STATUS_COLUMN + 1))
            self.message.emit(
                count(
                    len(copies),
                    tr("Added a copy; give it its own row key."),
                    tr("Added {0} copies; give each its own row key."),
                )
            )

    def delete_rows(self) -> None:
        n = self.records.remove_rows(self.selected_source_rows())
        if n:
            self.message.emit(count(n, tr("Deleted 1 row."), tr("Deleted {0} rows.")))

    # -- moving -------------------------------------------------------------------------------

    def go_to(self, source_row: int, column: int) -> bool:
        """Select the cell and scroll to it; False if the filter hides its row."""
        index = self.proxy.mapFromSource(self.records.index(source_row, column))
        if not index.isValid():
            return False
        self.setCurrentIndex(index)
        # Centred top to bottom; sideways only as far as needed (by whole columns), and
        # back to the first column when the cell fits beside it, so the columns on the
        # left (Status, Row key) stay in sight when they can.
        sideways = self.horizontalScrollBar()
        across = sideways.value()
        self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        sideways.setValue(across)
        self.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)
        header = self.horizontalHeader()
        right = header.sectionPosition(index.column()) + header.sectionSize(index.column())
        if right <= self.viewport().width():
            sideways.setValue(0)
        return True

    def go_to_row(self, row: Row, column: int) -> bool:
        position = self.records.position_of(row)
        return position is not None and self.go_to(position, column)

    def _select(self, top: int, left: int, bottom: int, right: int) -> None:
        bottom = min(bottom, self.proxy.rowCount() - 1)
        if bottom < top:
            return
        model = self.selectionModel()
        first = self.proxy.index(top, left)
        selection = QItemSelection(first, self.proxy.index(bottom, right))
        model.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        model.setCurrentIndex(first, QItemSelectionModel.SelectionFlag.NoUpdate)

    def current_source(self) -> QModelIndex:
        current = self.currentIndex()
        return self.proxy.mapToSource(current) if current.isValid() else QModelIndex()
