"""The due records as a table: a tick column, every template column by display name, and
the disposal due date.

    model = DueModel()
    model.set_template(profile.template())   # columns; empties the list
    model.append(page.records)               # a page arrives: rows inserted at the end
    model.set_checked(keys, True)            # ticks, keyed by row key
    model.remove_keys(destroyed)             # destroyed records leave the list

The ticked set is a set of row keys, not of row numbers, so it survives paging (rows
appended), sorting and filtering (proxies above this model) and removals. It only ever
holds keys of rows in the list. Rows change only through methods that emit the
begin/end signals; `checked_changed` follows every change of the ticked set.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)

from opus_desktop.core.schema import BUILT_INS, ROW_KEY, Template, decode_internal_name
from opus_desktop.jobs.due_fields import CLASSIFICATION, DUE_DATE, DUE_DATE_HEADER, NAME

if TYPE_CHECKING:
    from opus_desktop.jobs.due import DueRecord

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
KEY_ROLE = Qt.ItemDataRole.UserRole + 2
CHECK_COLUMN = 0
CHECKED, UNCHECKED = Qt.CheckState.Checked, Qt.CheckState.Unchecked


def tr(text: str) -> str:
    return QCoreApplication.translate("DueModel", text)


def template_columns(template: Template | None) -> list[tuple[str, str]]:
    """(internal name, display name) of the shown columns: the row key first, then the
    template's columns in order, with the disposal due date after the classification."""
    if template is None:
        names = [ROW_KEY, NAME, CLASSIFICATION]
        display = {name: BUILT_INS[name].display_name for name in names}
    else:
        names = list(template.internal_names)
        display = {column.internal_name: column.display_name for column in template}
    if ROW_KEY in names:
        names.remove(ROW_KEY)
    names.insert(0, ROW_KEY)
    shown = [(name, display.get(name) or decode_internal_name(name)) for name in names]
    # The due date is what is reviewed: beside the key, name and classification, not at
    # the far right (the sign-off sheet keeps it last, as `due --out` writes it).
    after = max(i for i, (name, _) in enumerate(shown) if name in (ROW_KEY, NAME, CLASSIFICATION))
    shown.insert(after + 1, (DUE_DATE, DUE_DATE_HEADER))
    return shown


class DueModel(QAbstractTableModel):
    """Signals:
    checked_changed(): the ticked set changed (count it with `checked_count`).
    """

    checked_changed = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._columns = template_columns(None)
        self._records: list[DueRecord] = []
        self._rows: dict[str, int] = {}  # row key -> row
        self._checked: set[str] = set()

    # -- contents ----------------------------------------------------------------------

    def set_template(self, template: Template | None) -> None:
        """Show the columns of `template` (None: row key, name and classification); the
        list and its ticks are emptied."""
        self.beginResetModel()
        self._columns = template_columns(template)
        self._records = []
        self._rows = {}
        had_ticks = bool(self._checked)
        self._checked = set()
        self.endResetModel()
        if had_ticks:
            self.checked_changed.emit()

    def clear(self) -> None:
        """Empty the list (and its ticks), keeping the columns."""
        if not self._records:
            return
        self.beginRemoveRows(QModelIndex(), 0, len(self._records) - 1)
        self._records = []
        self._rows = {}
        had_ticks = bool(self._checked)
        self._checked = set()
        self.endRemoveRows()
        if had_ticks:
            self.checked_changed.emit()

    def append(self, records: Iterable[DueRecord]) -> int:
        """Add records at the end; a row key already listed is skipped. Returns how many
        were added."""
        fresh: list[DueRecord] = []
        seen: set[str] = set()
        for record in records:
            if record.row_key in self._rows or record.row_key in seen:
                continue
            seen.add(record.row_key)
            fresh.append(record)
        if not fresh:
            return 0
        first = len(self._records)
        self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
        self._records.extend(fresh)
        for offset, record in enumerate(fresh):
            self._rows[record.row_key] = first + offset
        self.endInsertRows()
        return len(fresh)

    def remove_keys(self, keys: Iterable[str]) -> int:
        """Take the records with these row keys out of the list (and out of the ticks).
        Returns how many were removed."""
        doomed = sorted({self._rows[key] for key in keys if key in self._rows})
        if not doomed:
            return 0
        unticked = False
        # Contiguous runs, from the bottom up, so the rows above keep their numbers.
        runs: list[tuple[int, int]] = []
        for row in doomed:
            if runs and runs[-1][1] == row - 1:
                runs[-1] = (runs[-1][0], row)
            else:
                runs.append((row, row))
        for first, last in reversed(runs):
            self.beginRemoveRows(QModelIndex(), first, last)
            for record in self._records[first : last + 1]:
                unticked = record.row_key in self._checked or unticked
                self._checked.discard(record.row_key)
            del self._records[first : last + 1]
            self.endRemoveRows()
        self._rows = {record.row_key: row for row, record in enumerate(self._records)}
        if unticked:
            self.checked_changed.emit()
        return len(doomed)

    def records(self) -> list[DueRecord]:
        return list(self._records)

    def record_at(self, row: int) -> DueRecord:
        return self._records[row]

    def row_of(self, key: str) -> int | None:
        return self._rows.get(key)

    def row_keys(self) -> list[str]:
        return [record.row_key for record in self._records]

    def column_of(self, internal: str) -> int:
        """The column showing `internal` (DUE_DATE for the due date); -1 if none."""
        names = [name for name, _ in self._columns]
        return names.index(internal) + 1 if internal in names else -1

    # -- ticks ---------------------------------------------------------------------------

    def is_checked(self, key: str) -> bool:
        return key in self._checked

    @property
    def checked_count(self) -> int:
        return len(self._checked)

    def checked_keys(self) -> set[str]:
        return set(self._checked)

    def checked_records(self) -> list[DueRecord]:
        """The ticked records, in list order."""
        return [record for record in self._records if record.row_key in self._checked]

    def set_checked(self, keys: Iterable[str], checked: bool = True) -> int:
        """Tick (or untick) the listed records among `keys`; keys not in the list are
        ignored. Returns how many ticks changed."""
        changed = [key for key in keys if key in self._rows and (key in self._checked) != checked]
        if not changed:
            return 0
        if checked:
            self._checked.update(changed)
        else:
            self._checked.difference_update(changed)
        rows = [self._rows[key] for key in changed]
        self._check_cells_changed(min(rows), max(rows))
        self.checked_changed.emit()
        return len(set(changed))

    def set_only_checked(self, keys: Iterable[str]) -> int:
        """Tick exactly the listed records among `keys`, untick every other one. Returns
        how many are ticked."""
        wanted = {key for key in keys if key in self._rows}
        if wanted != self._checked:
            self._checked = wanted
            if self._records:
                self._check_cells_changed(0, len(self._records) - 1)
            self.checked_changed.emit()
        return len(wanted)

    def clear_checks(self) -> None:
        self.set_only_checked(())

    def _check_cells_changed(self, first: int, last: int) -> None:
        self.dataChanged.emit(
            self.index(first, CHECK_COLUMN),
            self.index(last, CHECK_COLUMN),
            [Qt.ItemDataRole.CheckStateRole, SORT_ROLE],
        )

    # -- the Qt model interface ----------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns) + 1

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < self.columnCount():
            return None
        if section == CHECK_COLUMN:
            if role == Qt.ItemDataRole.ToolTipRole:
                return tr("Ticked records are the ones Mark destroyed... acts on.")
            if role == Qt.ItemDataRole.DisplayRole:
                return ""
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._columns[section - 1][1]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index):
            return None
        record = self._records[index.row()]
        column = index.column()
        if role == KEY_ROLE:
            return record.row_key
        if column == CHECK_COLUMN:
            checked = record.row_key in self._checked
            if role == Qt.ItemDataRole.CheckStateRole:
                return CHECKED if checked else UNCHECKED
            if role == SORT_ROLE:
                return 1 if checked else 0
            if role == Qt.ItemDataRole.ToolTipRole:
                return tr("Ticked: to be marked destroyed") if checked else None
            return None
        internal = self._columns[column - 1][0]
        if role == Qt.ItemDataRole.DisplayRole:
            return _text(record, internal)
        if role == SORT_ROLE:
            if internal == DUE_DATE and record.due_at is not None:
                return record.due_at.isoformat()
            return _text(record, internal).casefold()
        if role == Qt.ItemDataRole.ToolTipRole:
            text = _text(record, internal)
            return text if len(text) > 40 else None
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (
            not self._valid(index)
            or index.column() != CHECK_COLUMN
            or role != Qt.ItemDataRole.CheckStateRole
        ):
            return False
        checked = _as_check_state(value) == CHECKED
        self.set_checked([self._records[index.row()].row_key], checked)
        return True

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not self._valid(index):
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == CHECK_COLUMN:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def _valid(self, index: Index) -> bool:
        return (
            index.isValid()
            and index.model() is self
            and 0 <= index.row() < len(self._records)
            and 0 <= index.column() <= len(self._columns)
        )


def _text(record: DueRecord, internal: str) -> str:
    if internal == DUE_DATE:
        return record.due
    if internal in record.values:
        return record.values[internal]
    # The built-ins the record carries on its own (a record described by its fields only).
    return {ROW_KEY: record.row_key, NAME: record.name, CLASSIFICATION: record.classification}.get(
        internal, ""
    )


def _as_check_state(value: Any) -> Qt.CheckState:
    if isinstance(value, Qt.CheckState):
        return value
    try:
        return Qt.CheckState(int(value))
    except (TypeError, ValueError):
        return UNCHECKED


class DueFilter(QSortFilterProxyModel):
    """Sorts on SORT_ROLE (due dates as times, text without case) and keeps the rows
    with the filter text in any column."""

    def __init__(self, model: DueModel, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSourceModel(model)
        self.setSortRole(SORT_ROLE)
        self.setFilterKeyColumn(-1)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setDynamicSortFilter(True)

    @property
    def due(self) -> DueModel:
        model = self.sourceModel()
        assert isinstance(model, DueModel)
        return model

    def set_text(self, text: str) -> None:
        self.setFilterFixedString(text.strip())

    def shown_keys(self) -> list[str]:
        """Row keys of the rows shown, in the order shown."""
        return [
            self.due.record_at(self.mapToSource(self.index(row, 0)).row()).row_key
            for row in range(self.rowCount())
        ]
