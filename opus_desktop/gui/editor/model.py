"""The records table: one row per record, a Status column, then the template's columns.

Every change goes through the undo stack (commands.py) and lands in a handful of
methods here that emit the matching begin/end signals, keep the row-key index and the
counts of invalid rows and problems up to date, and touch only the rows concerned.
Cells are drawn from the rows' values on demand (rows.ColumnSet.text), never stored
as strings, so 100,000 rows scroll as smoothly as 100.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QUndoCommand, QUndoStack

from opus_desktop.core.records import Record
from opus_desktop.core.schema import ColumnType
from opus_desktop.gui.editor import icons
from opus_desktop.gui.editor.commands import CellState, EditCells, InsertRows, RemoveRows
from opus_desktop.gui.editor.looks import (
    INVALID_COLOUR,
    column_header,
    refused_data,
    row_header,
    status_data,
    status_header,
    status_text,
    warning_data,
)
from opus_desktop.gui.editor.words import count
from opus_desktop.usecases.rows import (
    FAILED,
    PENDING,
    SKIPPED,
    STATUSES,
    STORED,
    Change,
    ColumnSet,
    KeyIndex,
    Row,
    SortKey,
    Tally,
    position_runs,
    tally,
)

STATUS_COLUMN = 0
PROBLEM_ROLE = Qt.ItemDataRole.UserRole + 2  # the cell's problem sentence, or None

AnyIndex = QModelIndex | QPersistentModelIndex
# row, template column, value, problem, status, message
# row key, status, message, the template column the message names (or None)
StatusChange = tuple[str, str, str, "int | None"]

_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_DECORATION = int(Qt.ItemDataRole.DecorationRole.value)
_EDIT = int(Qt.ItemDataRole.EditRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole.value)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole.value)
_PROBLEM = int(PROBLEM_ROLE)
_ROLES = frozenset((_DISPLAY, _DECORATION, _EDIT, _TOOLTIP, _ALIGNMENT, _BACKGROUND, _PROBLEM))

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_EDITABLE = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable
_READ_ONLY = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_CHANGED_AFTER_SENDING = (STORED, FAILED, SKIPPED)


def tr(text: str, n: int = -1) -> str:
    return QCoreApplication.translate("RecordsModel", text, None, n)


class RecordsModel(QAbstractTableModel):
    """Signals:
    counts_changed(): the number of rows, invalid rows or problems may have changed.
    problems_changed(): some cell's problem changed or rows moved (the panel refreshes).
    sort_changed(int, Qt.SortOrder): the rows were sorted by that column.
    """

    counts_changed = Signal()
    problems_changed = Signal()
    sort_changed = Signal(int, Qt.SortOrder)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.sheet_name: str | None = None
        # While a worker reads the rows (checking them again, exporting), nothing may change.
        self.locked = False
        self._columns: ColumnSet | None = None
        self._numbers: frozenset[int] = frozenset()  # template indexes of Number columns
        self._rows: list[Row] = []
        self._keys = KeyIndex(0)
        self._positions: dict[int, int] | None = None
        self._sorted: tuple[int, Qt.SortOrder] | None = None  # until the next change
        self._next_seq = 0
        self._invalid_rows = 0
        self._problem_count = 0
        # The cell a failed row's message names; shown while the row's status is failed.
        self._refused: dict[Row, int] = {}
        self._bold = QFont()
        self._bold.setBold(True)

    # -- contents -----------------------------------------------------------------------------

    @property
    def columns(self) -> ColumnSet | None:
        return self._columns

    def set_columns(self, columns: ColumnSet | None) -> None:
        """A new template (or none): the grid starts empty."""
        self.load(columns, [], None)

    def load(
        self,
        columns: ColumnSet | None,
        rows: list[Row],
        keys: KeyIndex | None = None,
        sheet: str | None = None,
        counts: Tally | None = None,
    ) -> None:
        """Show these rows (a fresh import). `keys` and `counts` may come from the worker
        that made the rows, so the GUI thread does not walk 100,000 rows again."""
        self.beginResetModel()
        self._columns = columns
        kinds = [c.type for c in columns.columns] if columns else []
        self._numbers = frozenset(i for i, k in enumerate(kinds) if k is ColumnType.NUMBER)
        self._rows = rows
        self.sheet_name = sheet
        if keys is None:
            keys = KeyIndex(columns.key_index if columns else 0)
            keys.build(rows)
        self._keys = keys
        self._positions = None
        self._sorted = None
        self._refused = {}
        self._invalid_rows, self._problem_count, self._next_seq = counts or tally(rows)
        self.endResetModel()
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)
        self.counts_changed.emit()
        self.problems_changed.emit()

    def rows(self) -> list[Row]:
        """The rows in their current order (the list itself: do not change it)."""
        return self._rows

    def row_at(self, position: int) -> Row:
        return self._rows[position]

    def position_of(self, row: Row, hint: int | None = None) -> int | None:
        """Where the row is now (None if it is not in the grid). A `hint` (where it was)
        saves building the position index after rows were inserted or removed."""
        if hint is not None and 0 <= hint < len(self._rows) and self._rows[hint] is row:
            return hint
        if self._positions is None:
            self._positions = {id(r): i for i, r in enumerate(self._rows)}
        return self._positions.get(id(row))

    @property
    def invalid_rows(self) -> int:
        return self._invalid_rows

    @property
    def problem_count(self) -> int:
        return self._problem_count

    def payload(self, position: int) -> dict[str, object]:
        assert self._columns is not None
        return self._columns.payload(self._rows[position])

    def row_problems(self, position: int) -> list[tuple[int, str]]:
        """(template column index, sentence) for each problem of the row."""
        assert self._columns is not None
        return self._columns.row_problems(self._rows[position])

    def records(self, *, valid_only: bool = False) -> list[Record]:
        """The rows as core Records, in the grid's order, for a submit run."""
        if self._columns is None:
            return []
        record = self._columns.record
        return [record(r, self.sheet_name) for r in self._rows if not (valid_only and r.invalid)]

    def row_texts(self, position: int) -> list[str]:
        """Every cell of a row as shown, the Status column first (for find)."""
        row = self._rows[position]
        assert self._columns is not None
        text = self._columns.text
        texts = [v if type(v) is str else text(i, v) for i, v in enumerate(row.values)]
        texts.insert(0, status_text(row.status))
        return texts

    def text(self, position: int, column: int) -> str:
        """A cell's editor text (`column` counts the Status column)."""
        row = self._rows[position]
        if column == STATUS_COLUMN:
            return status_text(row.status)
        assert self._columns is not None
        return self._columns.text(column - 1, row.values[column - 1])

    # -- Qt's table interface -----------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() or self._columns is None:
            return 0
        return len(self._columns) + 1

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self.locked or index.column() == STATUS_COLUMN:
            return _READ_ONLY
        return _EDITABLE

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called seven times per visible cell per paint: plain ints, cheapest roles first.
        if role not in _ROLES or self._columns is None or not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if column == STATUS_COLUMN:
            return status_data(row, role)
        columns = self._columns
        at = column - 1
        if role == _DISPLAY:
            text = columns.text(at, row.values[at])
            return text.replace("\n", " ↵ ") if "\n" in text else text
        if role == _ALIGNMENT:
            return _RIGHT if at in self._numbers else None
        if role == _EDIT:
            return columns.text(at, row.values[at])
        problem = columns.cell_problem(row, at) if row.invalid else None
        if role == _PROBLEM:
            return problem
        if problem is None and row.status == FAILED and self._refused.get(row) == at:
            return refused_data(row, role)
        if problem is None and row.order is not None and columns.cell_warning(row, at):
            return warning_data(row.order, role)
        if role == _BACKGROUND:
            return INVALID_COLOUR if problem is not None else None
        if role == _DECORATION:
            return icons.problem() if problem is not None else None
        # The tooltip: the problem, how a choice is sent, or a long text in full.
        if problem is not None:
            return problem
        value = row.values[at]
        sent_as = columns.sent_as(at, value)
        if sent_as is not None:
            return sent_as
        text = columns.text(at, value)
        return text if len(text) > 40 or "\n" in text else None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Vertical:
            if not 0 <= section < len(self._rows):
                return None
            return row_header(self._rows[section].source, role)
        if self._columns is None or not 0 <= section < self.columnCount():
            return None
        if section == STATUS_COLUMN:
            return status_header(role)
        return column_header(self._columns.columns[section - 1], role, self._bold)

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        if index.column() == STATUS_COLUMN:
            return False
        text = "" if value is None else str(value)
        name = self.headerData(index.column(), Qt.Orientation.Horizontal)
        self.set_texts([(index.row(), index.column(), text)], tr("Edit {0}").format(name))
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in place (stable); selections and the current cell follow their rows."""
        if self._columns is None or not 0 <= column < self.columnCount() or not self._rows:
            return
        if self.locked or self._sorted == (column, order):
            return  # a header click asks twice (the view, then the header's signal)
        key: SortKey
        if column == STATUS_COLUMN:
            rank = {status: i for i, status in enumerate(("", *STATUSES))}

            def key(row: Row) -> tuple[Any, ...]:
                return (rank.get(row.status, len(rank)), row.seq)

        else:
            key = self._columns.sort_key(column - 1)
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        held = [(self._rows[i.row()], i.column()) for i in persistent]
        self._rows.sort(key=key, reverse=order == Qt.SortOrder.DescendingOrder)
        self._positions = None
        wanted = {id(row) for row, _ in held}
        found = {id(r): i for i, r in enumerate(self._rows) if id(r) in wanted}
        moved = [self.index(found[id(row)], c) for row, c in held]
        self.changePersistentIndexList(persistent, moved)
        self._sorted = (column, order)
        self.layoutChanged.emit()
        self.sort_changed.emit(column, order)
        self.problems_changed.emit()

    # -- edits (each one undo step) -----------------------------------------------------------

    def set_texts(self, changes: Iterable[tuple[int, int, str | None]], label: str) -> int:
        """Set cells (row position, column counting Status, text); return how many changed."""
        edits, hints = self._cell_edits(changes)
        if edits:
            self.undo_stack.push(EditCells(self, edits, label, hints))
        return len(edits)

    def _cell_edits(
        self, changes: Iterable[tuple[int, int, str | None]]
    ) -> tuple[list[tuple[Row, int, str | None]], dict[int, int]]:
        """The changes that change something, as (row, template column, text), with
        where each row is now."""
        edits: list[tuple[Row, int, str | None]] = []
        hints: dict[int, int] = {}
        if self._columns is None or self.locked:
            return edits, hints
        last = len(self._columns)
        for position, column, text in changes:
            if not 1 <= column <= last or not 0 <= position < len(self._rows):
                continue
            row = self._rows[position]
            if text == self._columns.text(column - 1, row.values[column - 1]):
                continue  # unchanged: no undo step, and no second time-zone shift
            edits.append((row, column - 1, text))
            hints[id(row)] = position
        return edits, hints

    def insert_rows(
        self, position: int, contents: Sequence[dict[int, str]], label: str | None = None
    ) -> list[Row]:
        """Insert rows made from {column counting Status: text}; return them."""
        if self._columns is None or not contents or self.locked:
            return []
        position = max(0, min(position, len(self._rows)))
        rows = [self.new_row(texts) for texts in contents]
        label = label or count(len(rows), tr("Add a row"), tr("Add {0} rows"))
        self.undo_stack.push(InsertRows(self, position, rows, label))
        return rows

    def new_row(self, texts: dict[int, str] | None = None) -> Row:
        """A row not yet in the grid; `texts` counts the Status column."""
        assert self._columns is not None
        shifted = {column - 1: text for column, text in (texts or {}).items() if column >= 1}
        row = self._columns.new_row(shifted, self._next_seq)
        self._next_seq += 1
        return row

    def remove_rows(self, positions: Iterable[int], label: str | None = None) -> int:
        if self.locked:
            return 0
        rows = [self._rows[p] for p in sorted(set(positions)) if 0 <= p < len(self._rows)]
        if rows:
            label = label or count(len(rows), tr("Delete a row"), tr("Delete {0} rows"))
            self.undo_stack.push(RemoveRows(self, rows, label))
        return len(rows)

    def duplicate_rows(self, positions: Iterable[int]) -> list[Row]:
        """Copies of the rows, inserted after the last of them, in grid order."""
        chosen = sorted({p for p in positions if 0 <= p < len(self._rows)})
        if not chosen or self._columns is None or self.locked:
            return []
        copies: list[Row] = []
        for position in chosen:
            copies.append(self._rows[position].copy(self._next_seq))
            self._next_seq += 1
        label = count(len(copies), tr("Duplicate a row"), tr("Duplicate {0} rows"))
        self.undo_stack.push(InsertRows(self, chosen[-1] + 1, copies, label))
        return copies

    def apply_block(
        self,
        edits: Sequence[tuple[int, int, str | None]],
        appended: Sequence[dict[int, str]],
        label: str,
    ) -> int:
        """Cells set and rows appended as one undo step (a paste or a fill); nothing
        at all (no empty step) when no cell would change."""
        cells, hints = self._cell_edits(edits)
        if self._columns is None or self.locked or not (cells or appended):
            return 0
        commands: list[QUndoCommand] = []
        if cells:
            commands.append(EditCells(self, cells, label, hints))
        if appended:
            rows = [self.new_row(texts) for texts in appended]
            commands.append(InsertRows(self, len(self._rows), rows, label))
        if len(commands) == 1:
            self.undo_stack.push(commands[0])
        else:
            self.undo_stack.beginMacro(label)
            for command in commands:
                self.undo_stack.push(command)
            self.undo_stack.endMacro()
        return len(cells) + sum(len(texts) for texts in appended)

    def set_row_status(self, row_key: str, status: str, message: str = "") -> int:
        """Record what Opus did with the rows holding `row_key`; not an undo step."""
        return self.set_row_statuses([(row_key, status, message, None)])

    def set_row_statuses(self, changes: Iterable[StatusChange]) -> int:
        """Several rows' statuses at once (one batch of a run), each with the template
        column its message names, if any: that cell shows the message. Returns how many
        rows changed; keys not in the grid are left out."""
        changed: list[Row] = []
        for row_key, status, message, column in changes:
            if status not in STATUSES and status != "":
                raise ValueError(f"unknown row status {status!r}")
            for row in self._keys.rows_with(row_key):
                row.status, row.message = status, message
                if status == FAILED and column is not None:
                    self._refused[row] = column
                else:
                    self._refused.pop(row, None)
                changed.append(row)
        if changed:
            self._emit_rows(changed, problems=False)
        return len(changed)

    def reset_statuses(self, rows: Sequence[Row], status: str, message: str = "") -> None:
        """Give many rows the same status (a run takes them), by the rows themselves:
        no key lookups, so 100,000 rows cost a few milliseconds."""
        if status not in STATUSES and status != "":
            raise ValueError(f"unknown row status {status!r}")
        refused = self._refused
        for row in rows:
            row.status, row.message = status, message
            if refused:
                refused.pop(row, None)
        if len(rows) * 2 > len(self._rows):  # most of the grid: one signal, no positions
            last = self.columnCount() - 1
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, last))
            self.counts_changed.emit()
        elif rows:
            self._emit_rows(rows, problems=False)

    def refused_column(self, position: int) -> int | None:
        """The template column a failed row's message names, if any."""
        row = self._rows[position]
        return self._refused.get(row) if row.status == FAILED else None

    # -- the only places rows and cells change (called by the commands) -----------------------

    def capture(
        self, edits: Sequence[tuple[Row, int, str | None]]
    ) -> tuple[list[CellState], list[CellState]]:
        """The cells' states before and after the edits, for a command to apply and revert."""
        assert self._columns is not None
        before: list[CellState] = []
        after: list[CellState] = []
        for row, at, text in edits:
            old_problem = self._columns.own_problem(row, at)  # the time order is checked again
            before.append((row, at, row.values[at], old_problem, row.status, row.message))
            value, problem = self._columns.convert(at, text)
            status, message = row.status, row.message
            if status in _CHANGED_AFTER_SENDING:
                status, message = PENDING, tr("Changed after it was sent: it will be sent again.")
            after.append((row, at, value, problem, status, message))
        return before, after

    def apply_cells(self, states: Sequence[CellState], hints: dict[int, int] | None = None) -> None:
        """Set cells to these states; `hints` (id of a row -> where it was) save building
        the position index when the rows have not moved since."""
        self._sorted = None
        key_index = self._keys.key_index
        timed = {self._columns.created_at, self._columns.modified_at} if self._columns else ()
        edited = {id(row): row for row, *_ in states}
        for row in edited.values():
            self._tally(row, -1)
        marks: list[Change] = []
        for row, at, value, problem, status, message in states:
            old_key = self._keys.key_of(row) if at == key_index else None
            row.values[at] = value
            if problem is None:
                if row.problems is not None:
                    row.problems.pop(at, None)
                    if not row.problems:
                        row.problems = None
            elif row.problems is None:
                row.problems = {at: problem}
            else:
                row.problems[at] = problem
            row.status, row.message = status, message
            if at == key_index:
                marks += self._keys.remove(row, old_key)
                marks += self._keys.add(row)
        for row in {id(row): row for row, at, *_ in states if at in timed}.values():
            self._columns.mark_order(row)  # type: ignore[union-attr]
        for row in edited.values():
            self._tally(row, 1)
        others = self._retally(marks, edited)
        self._emit_rows([*edited.values(), *others], hints=hints)

    def insert_placed(self, placed: Sequence[tuple[int, Row]]) -> None:
        """Put rows back at positions (ascending), as RemoveRows found them."""
        self._sorted = None
        for wanted, rows in position_runs(placed):
            start = min(wanted, len(self._rows))  # positions come from this grid's own history
            self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
            self._rows[start:start] = rows
            self._positions = None
            self.endInsertRows()
        marks: list[Change] = []
        added = {id(row): row for _, row in placed}
        for row in added.values():
            marks += self._keys.add(row)
        for row in added.values():
            self._tally(row, 1)  # after the index: their own marks are settled
        others = self._retally(marks, added)
        self._emit_rows(others)

    def remove_placed(self, rows: Sequence[Row]) -> list[tuple[int, Row]]:
        """Take rows out; return (position, row) ascending, for putting them back."""
        self._sorted = None
        placed = sorted(
            ((p, row) for row in rows if (p := self.position_of(row)) is not None),
            key=lambda item: item[0],
        )
        removed = {id(row): row for _, row in placed}
        marks: list[Change] = []
        for _, row in placed:
            self._tally(row, -1)
            marks += self._keys.remove(row, self._keys.key_of(row))
        for start, run in reversed(position_runs(placed)):
            self.beginRemoveRows(QModelIndex(), start, start + len(run) - 1)
            del self._rows[start : start + len(run)]
            self._positions = None
            self.endRemoveRows()
        others = self._retally(marks, removed)
        self._emit_rows(others)
        return placed

    # -- inside -------------------------------------------------------------------------------

    def _tally(self, row: Row, sign: int) -> None:
        if row.invalid:
            self._invalid_rows += sign
            self._problem_count += sign * row.problem_count()

    def _retally(self, marks: list[Change], handled: dict[int, Row]) -> list[Row]:
        """Correct the counts for rows whose only change was their duplicate mark."""
        first_seen: dict[int, Change] = {}
        for row, previous in marks:
            if id(row) not in handled:
                first_seen.setdefault(id(row), (row, previous))
        for row, previous in first_seen.values():
            own = len(row.problems) if row.problems is not None else 0
            if row.problems is not None or previous is not None:
                self._invalid_rows -= 1
                self._problem_count -= own + (previous is not None)
            self._tally(row, 1)
        return [row for row, _ in first_seen.values()]

    def _emit_rows(
        self, rows: Iterable[Row], *, problems: bool = True, hints: dict[int, int] | None = None
    ) -> None:
        hints = hints or {}
        positions = sorted(
            {p for row in rows if (p := self.position_of(row, hints.get(id(row)))) is not None}
        )
        last = self.columnCount() - 1
        start = previous = None
        for position in [*positions, None]:
            if position is not None and previous is not None and position == previous + 1:
                previous = position
                continue
            if start is not None and previous is not None:
                self.dataChanged.emit(self.index(start, 0), self.index(previous, last))
            start = previous = position
        self.counts_changed.emit()
        if problems:
            self.problems_changed.emit()
