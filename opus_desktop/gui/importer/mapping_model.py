"""The mapping being edited in the import dialog: per template column, the sheet header
that feeds it or a constant, and for choice columns a table from sheet labels to options.

A header feeds one column at most: choosing it for a second column takes it from the
first. A column has a header or a constant, never both. Required columns left with
neither are highlighted; so are the headers nothing uses (listed by `unmatched()`).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont

from opus_desktop.core.mapping import Constant, Mapping, apply, label_key
from opus_desktop.core.schema import ROW_KEY, Column, ColumnType, Template
from opus_desktop.gui.editor import icons
from opus_desktop.usecases.rows import ColumnSet

AnyIndex = QModelIndex | QPersistentModelIndex
MISSING_COLOUR = QColor(229, 57, 53, 72)
CHOICES = (ColumnType.SINGLE_CHOICE, ColumnType.MULTIPLE_CHOICE)


def tr(text: str) -> str:
    return QCoreApplication.translate("MappingModel", text)


class MappingModel(QAbstractTableModel):
    """Signals: changed(): any source, constant or value translation changed."""

    changed = Signal()
    COLUMN, SOURCE, CONSTANT, VALUES = range(4)
    NONE = ""  # no header feeds the column

    def __init__(self, columns: ColumnSet, parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = columns
        self.template: Template = columns.template
        self.headers: list[str] = []
        self.sources: dict[str, str] = {}  # internal name -> header
        self.constants: dict[str, str] = {}  # internal name -> text for every row
        self.values: dict[str, dict[str, int]] = {}  # internal name -> sheet label -> option
        self.row_key_pattern: str | None = None
        self.date_order: str | None = None  # DMY, MDY, YMD; None: decided per column
        self.stale: list[str] = []  # sentences about saved entries that no longer fit
        self._bold = QFont()
        self._bold.setBold(True)

    # -- the mapping as a whole ---------------------------------------------------------

    def set_mapping(self, mapping: Mapping, headers: list[str]) -> None:
        """Show `mapping` resolved against these headers (entries that do not fit are
        dropped and described in `stale`)."""
        self.beginResetModel()
        self.headers = [h for h in headers if h]
        plan = apply(mapping, headers, self.template)
        self.sources = {internal: headers[index] for internal, index in plan.sources.items()}
        self.constants = {k: _constant_text(v) for k, v in plan.constants.items()}
        self.values = {
            internal: dict(labels)
            for internal, labels in mapping.values.items()
            if internal in self.template.internal_names
        }
        self.row_key_pattern = mapping.row_key_pattern if plan.row_key else None
        self.date_order = mapping.date_order
        self.stale = list(plan.stale)
        self.endResetModel()
        self.changed.emit()

    def mapping(self) -> Mapping:
        columns = {header: internal for internal, header in self.sources.items()}
        constants: dict[str, Constant] = {k: v for k, v in self.constants.items() if v.strip()}
        values = {k: dict(v) for k, v in self.values.items() if v}
        return Mapping(columns, constants, values, self.row_key_pattern, self.date_order)

    def unmatched(self) -> list[str]:
        """Sheet headers nothing uses, in sheet order."""
        used = set(self.sources.values())
        return [h for h in self.headers if h not in used]

    def missing(self) -> list[Column]:
        """Required columns with neither a header nor a constant."""
        return [c for c in self.template if c.required and not self._fed(c.internal_name)]

    def column(self, row: int) -> Column:
        return self.template.columns[row]

    def row_of(self, internal_name: str) -> int:
        return self.template.internal_names.index(internal_name)

    def set_source(self, internal_name: str, header: str) -> None:
        self.setData(self.index(self.row_of(internal_name), self.SOURCE), header)

    def set_constant(self, internal_name: str, text: str) -> None:
        self.setData(self.index(self.row_of(internal_name), self.CONSTANT), text)

    def set_value(self, internal_name: str, label: str, option: int | None) -> None:
        """Translate a sheet label to an option number (None: read it as it is)."""
        table = self.values.setdefault(internal_name, {})
        for known in list(table):
            if label_key(known) == label_key(label):
                del table[known]
        if option is not None:
            table[label] = option
        if not table:
            del self.values[internal_name]
        row = self.row_of(internal_name)
        self.dataChanged.emit(self.index(row, self.VALUES), self.index(row, self.VALUES))
        self.changed.emit()

    def _fed(self, internal_name: str) -> bool:
        if internal_name in self.sources or self.constants.get(internal_name, "").strip():
            return True
        return internal_name == ROW_KEY and self.row_key_pattern is not None

    # -- Qt's table interface -------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.template.columns)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 4

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() in (self.SOURCE, self.CONSTANT):
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        column = self.template.columns[index.row()]
        name = column.internal_name
        part = index.column()
        missing = column.required and not self._fed(name)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if part == self.COLUMN:
                return column.display_name
            if part == self.SOURCE:
                if name == ROW_KEY and self.row_key_pattern and name not in self.sources:
                    return tr("composed: {0}").format(self.row_key_pattern)
                found = self.sources.get(name, self.NONE)
                if role == Qt.ItemDataRole.DisplayRole and not found:
                    return tr("(none)")
                return found
            if part == self.CONSTANT:
                return self.constants.get(name, "")
            if part == self.VALUES and column.type in CHOICES:
                count = len(self.values.get(name, {}))
                if count == 0:
                    return tr("as in the sheet")
                return (
                    tr("1 label translated")
                    if count == 1
                    else tr("{0} labels translated").format(count)
                )
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            kind = column.type.value + (tr(", required") if column.required else "")
            if missing:
                return tr(
                    "{0} is required: choose the header that holds it, or give a constant."
                ).format(column.display_name)
            if part == self.COLUMN:
                return f"{column.internal_name} ({kind})"
            if part == self.VALUES and column.type in CHOICES:
                return tr("Select this row to translate the sheet's labels into options.")
            return None
        if role == Qt.ItemDataRole.BackgroundRole and missing:
            return MISSING_COLOUR
        if role == Qt.ItemDataRole.DecorationRole and missing and part == self.COLUMN:
            return icons.problem()
        if role == Qt.ItemDataRole.FontRole and part == self.COLUMN and column.required:
            return self._bold
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        return {
            self.COLUMN: tr("Column in Opus"),
            self.SOURCE: tr("Header in the sheet"),
            self.CONSTANT: tr("Or a value for every row"),
            self.VALUES: tr("Option labels"),
        }.get(section)

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        name = self.template.columns[index.row()].internal_name
        text = "" if value is None else str(value)
        touched = [index.row()]
        if index.column() == self.SOURCE:
            if text and text not in self.headers:
                return False
            if text:
                for other, header in list(self.sources.items()):
                    if header == text and other != name:
                        del self.sources[other]  # a header feeds one column
                        touched.append(self.row_of(other))
                self.sources[name] = text
                self.constants.pop(name, None)
                if name == ROW_KEY:
                    self.row_key_pattern = None
            else:
                self.sources.pop(name, None)
        elif index.column() == self.CONSTANT:
            if text.strip():
                self.constants[name] = text
                self.sources.pop(name, None)
                if name == ROW_KEY:
                    self.row_key_pattern = None
            else:
                self.constants.pop(name, None)
        else:
            return False
        last = self.columnCount() - 1
        for row in touched:
            self.dataChanged.emit(self.index(row, 0), self.index(row, last))
        self.changed.emit()
        return True


def _constant_text(value: Constant) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class ValueMapModel(QAbstractTableModel):
    """The labels one choice column's header holds in the sheet, and the option each
    is sent as. Editing it edits the MappingModel's `values`."""

    LABEL, OPTION, NOTE = range(3)
    AS_GIVEN = ""

    def __init__(self, mapping: MappingModel, parent: Any = None) -> None:
        super().__init__(parent)
        self.mapping = mapping
        self.internal_name: str | None = None
        self.labels: list[str] = []
        self.options: dict[str, int] = {}  # option label -> number

    def show_column(self, internal_name: str | None, sheet_labels: list[str]) -> None:
        self.beginResetModel()
        self.internal_name = internal_name
        self.options = {}
        self.labels = []
        if internal_name is not None:
            self.options = dict(self.mapping.columns.settings.choices.get(internal_name, {}))
            seen: dict[str, str] = {}
            for label in [*sheet_labels, *self.mapping.values.get(internal_name, {})]:
                seen.setdefault(label_key(label), label)
            self.labels = sorted(seen.values(), key=str.casefold)
        self.endResetModel()

    def option_labels(self) -> list[str]:
        return [label for label, _ in sorted(self.options.items(), key=lambda i: i[1])]

    def _translated(self, label: str) -> int | None:
        table = self.mapping.values.get(self.internal_name or "", {})
        for known, number in table.items():
            if label_key(known) == label_key(label):
                return number
        return None

    def _is_option(self, label: str) -> bool:
        return any(label_key(option) == label_key(label) for option in self.options)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.labels)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 3

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return base | Qt.ItemFlag.ItemIsEditable if index.column() == self.OPTION else base

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        label = self.labels[index.row()]
        number = self._translated(label)
        unknown = number is None and not self._is_option(label)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if index.column() == self.LABEL:
                return label
            if index.column() == self.OPTION:
                if number is None:
                    return (
                        self.AS_GIVEN
                        if role == Qt.ItemDataRole.EditRole
                        else tr("(as in the sheet)")
                    )
                names = [o for o, n in self.options.items() if n == number]
                return names[0] if names else str(number)
            if number is not None:
                return tr("sent as {0}").format(number)
            return tr("not an option") if unknown else tr("already an option")
        if role == Qt.ItemDataRole.ToolTipRole and unknown:
            return tr("Opus would refuse '{0}': choose the option it stands for.").format(label)
        if role == Qt.ItemDataRole.BackgroundRole and unknown:
            return MISSING_COLOUR
        if role == Qt.ItemDataRole.DecorationRole and unknown and index.column() == self.LABEL:
            return icons.problem()
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        return {
            self.LABEL: tr("In the sheet"),
            self.OPTION: tr("Sent as"),
            self.NOTE: "",
        }.get(section)

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (
            role != Qt.ItemDataRole.EditRole
            or not index.isValid()
            or index.column() != self.OPTION
            or self.internal_name is None
        ):
            return False
        text = "" if value is None else str(value)
        if text and text not in self.options:
            return False
        label = self.labels[index.row()]
        self.mapping.set_value(self.internal_name, label, self.options.get(text))
        self.dataChanged.emit(self.index(index.row(), 0), self.index(index.row(), 2))
        return True
