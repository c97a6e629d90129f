"""Choice options and term lists per column: what the template leaves out (DESIGN §2).

A choice column (SingleChoice, MultipleChoice) has options, label -> number (1-based); a
term column (Taxonomy) has a list of term paths. The editor shows the columns that take
them on the left and the selected column's table on the right, with Add, Remove and
"Import from sheet...", which reads a sheet with the headers "Column", "Label" and
"Number" (choices) or "Column" and "Term" (terms). Importing replaces the options of
each column the sheet names and leaves the others alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QCoreApplication,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from opus_desktop.core.schema import Column, ColumnType, Template
from opus_desktop.core.sheet_kinds import SHEET_PATTERNS
from opus_desktop.errors import AppError
from opus_desktop.gui.editor.words import count

Index = QModelIndex | QPersistentModelIndex
CHOICE_TYPES = (ColumnType.SINGLE_CHOICE, ColumnType.MULTIPLE_CHOICE)
TERM_TYPES = (ColumnType.TAXONOMY,)


def tr(text: str) -> str:
    return QCoreApplication.translate("OptionsEditor", text)


class OptionsImportError(AppError):
    """A sheet of options that cannot be imported; nothing was changed."""


@dataclass
class ColumnOptions:
    """The editable options of one column: [label, number] rows, or [term] rows."""

    column: Column
    rows: list[list[Any]] = field(default_factory=list)

    @property
    def is_choice(self) -> bool:
        return self.column.type in CHOICE_TYPES


def option_columns(template: Template | None) -> list[Column]:
    if template is None:
        return []
    return [c for c in template if c.type in CHOICE_TYPES or c.type in TERM_TYPES]


class OptionsModel(QAbstractTableModel):
    """The options of one column; editable. Numbers must be whole numbers from 1."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._options: ColumnOptions | None = None

    def set_options(self, options: ColumnOptions | None) -> None:
        self.beginResetModel()
        self._options = options
        self.endResetModel()

    @property
    def options(self) -> ColumnOptions | None:
        return self._options

    def _rows(self) -> list[list[Any]]:
        return self._options.rows if self._options is not None else []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows())

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() or self._options is None:
            return 0
        return 2 if self._options.is_choice else 1

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Vertical:
            return section + 1
        if self._options is None or not 0 <= section < self.columnCount():
            return None
        if self._options.is_choice:
            return (tr("Label"), tr("Number"))[section]
        return tr("Term path")

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        rows = self._rows()
        if not index.isValid() or not 0 <= index.row() < len(rows):
            return None
        if not 0 <= index.column() < self.columnCount():
            return None
        value = rows[index.row()][index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return value
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        rows = self._rows()
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or index.row() >= len(rows):
            return False
        if index.column() == 1:
            number = _whole_number(value)
            if number is None:
                return False
            rows[index.row()][1] = number
        else:
            rows[index.row()][0] = str(value).strip()
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])
        return True

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable

    def add_row(self) -> int:
        """Append an empty option (numbered after the highest); return its row."""
        if self._options is None:
            return -1
        rows = self._rows()
        row = len(rows)
        self.beginInsertRows(QModelIndex(), row, row)
        if self._options.is_choice:
            highest = max((r[1] for r in rows if isinstance(r[1], int)), default=0)
            rows.append(["", highest + 1])
        else:
            rows.append([""])
        self.endInsertRows()
        return row

    def remove_rows(self, rows_to_remove: list[int]) -> None:
        rows = self._rows()
        for row in sorted(set(rows_to_remove), reverse=True):
            if 0 <= row < len(rows):
                self.beginRemoveRows(QModelIndex(), row, row)
                del rows[row]
                self.endRemoveRows()


class OptionColumnsModel(QAbstractListModel):
    """The columns that take options, each with how many it has."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: list[ColumnOptions] = []

    def set_items(self, items: list[ColumnOptions]) -> None:
        self.beginResetModel()
        self._items = items
        self.endResetModel()

    def item(self, row: int) -> ColumnOptions:
        return self._items[row]

    def refresh(self) -> None:
        if self._items:
            self.dataChanged.emit(self.index(0), self.index(len(self._items) - 1))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        number = len(item.rows)
        if role == Qt.ItemDataRole.DisplayRole:
            what = (
                count(number, tr("1 option"), tr("{0} options"))
                if item.is_choice
                else count(number, tr("1 term"), tr("{0} terms"))
            )
            return f"{item.column.display_name}\n{what}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{item.column.internal_name} ({item.column.type.value})"
        return None


class OptionsEditor(QWidget):
    """Edit the choice options and term lists of a template's columns."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._items: list[ColumnOptions] = []
        self.columns_model = OptionColumnsModel(self)
        self.options_model = OptionsModel(self)

        self.columns_view = QListView()
        self.columns_view.setAccessibleName(tr("Choice and term columns"))
        self.columns_view.setModel(self.columns_model)
        self.columns_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.columns_view.setMaximumWidth(220)
        self.columns_view.setSpacing(2)
        self.columns_view.selectionModel().currentChanged.connect(self._column_chosen)

        self.table = QTableView()
        self.table.setAccessibleName(tr("Options of the column"))
        self.table.setModel(self.options_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)

        self.empty_label = QLabel(
            tr(
                "The connection template has no choice or term columns, so there are "
                "no options to set. Choose the template on the Connection page first."
            )
        )
        self.empty_label.setWordWrap(True)
        self.hint_label = QLabel()
        self.hint_label.setWordWrap(True)

        self.add_button = QPushButton(tr("Add"))
        self.remove_button = QPushButton(tr("Remove"))
        self.import_button = QPushButton(tr("Import from sheet..."))
        self.import_button.setToolTip(
            tr(
                'A .xlsx or .csv sheet with the columns "Column", "Label" and "Number" '
                '(choices) or "Column" and "Term" (term paths).'
            )
        )
        self.add_button.clicked.connect(self._add)
        self.remove_button.clicked.connect(self._remove)
        self.import_button.clicked.connect(self._choose_sheet)

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        right = QVBoxLayout()
        right.addWidget(self.hint_label)
        right.addWidget(self.table, 1)
        right.addLayout(buttons)
        body = QHBoxLayout()
        body.addWidget(self.columns_view)
        body.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty_label)
        layout.addLayout(body, 1)

        for signal in (
            self.options_model.dataChanged,
            self.options_model.rowsInserted,
            self.options_model.rowsRemoved,
        ):
            signal.connect(self._edited)
        self._update_state()

    # -- the values -------------------------------------------------------------------

    def set_values(
        self,
        template: Template | None,
        choices: dict[str, dict[str, int]],
        terms: dict[str, list[str]],
    ) -> None:
        """Show the option columns of `template` with the given options (others dropped)."""
        items = []
        for column in option_columns(template):
            if column.type in CHOICE_TYPES:
                found = choices.get(column.internal_name, {})
                rows = [[label, number] for label, number in found.items()]
            else:
                rows = [[term] for term in terms.get(column.internal_name, [])]
            items.append(ColumnOptions(column, rows))
        self._items = items
        self.columns_model.set_items(items)
        self.options_model.set_options(None)
        if items:
            self.columns_view.setCurrentIndex(self.columns_model.index(0))
        self._update_state()

    def choices(self) -> dict[str, dict[str, int]]:
        return {
            item.column.internal_name: {str(r[0]): int(r[1]) for r in item.rows if r[0]}
            for item in self._items
            if item.is_choice and item.rows
        }

    def terms(self) -> dict[str, list[str]]:
        return {
            item.column.internal_name: [str(r[0]) for r in item.rows if r[0]]
            for item in self._items
            if not item.is_choice and item.rows
        }

    def problems(self) -> list[str]:
        """Sentences for options that cannot be saved: empty or repeated labels and terms."""
        found = []
        for item in self._items:
            name = item.column.display_name
            seen: set[str] = set()
            for row in item.rows:
                text = str(row[0]).strip()
                if not text:
                    what = (
                        tr("an option without a label") if item.is_choice else tr("an empty term")
                    )
                    found.append(tr('Column "{name}" has {what}.').format(name=name, what=what))
                    continue
                folded = " ".join(text.casefold().split())
                if folded in seen:
                    found.append(
                        tr('Column "{name}" lists "{text}" twice.').format(name=name, text=text)
                    )
                seen.add(folded)
        return found

    # -- import ---------------------------------------------------------------------------

    def import_sheet(self, path: Path) -> str:
        """Read options from `path`; replace those of the columns it names; return a summary.

        Raises OptionsImportError (or the sheet reader's SheetError) and changes nothing.
        """
        from opus_desktop.core.sheets import read_sheet  # the readers load when first used

        sheet = read_sheet(path)
        headers = {h.strip().casefold(): i for i, h in enumerate(sheet.headers) if h.strip()}
        if "column" not in headers or not ({"label", "term"} & set(headers)):
            raise OptionsImportError(
                tr(
                    '{source} needs a "Column" header and either "Label" and "Number" '
                    '(choice options) or "Term" (term paths); it has: {found}.'
                ).format(source=sheet.source, found=", ".join(sheet.headers) or tr("no headers"))
            )
        by_name: dict[str, ColumnOptions] = {}
        for item in self._items:
            by_name[item.column.display_name.casefold()] = item
            by_name[item.column.internal_name.casefold()] = item
        new_rows: dict[str, list[list[Any]]] = {}
        for row in sheet.rows:

            def cell(header: str, cells: list[Any] = row.cells) -> Any:
                i = headers.get(header)
                return cells[i] if i is not None and i < len(cells) else None

            where = tr("{source}, row {row}").format(source=sheet.source, row=row.number)
            name = cell("column")
            if name is None or not str(name).strip():
                raise OptionsImportError(
                    tr("{where}: the Column cell is empty.").format(where=where)
                )
            named = by_name.get(str(name).strip().casefold())
            if named is None:
                raise OptionsImportError(
                    tr(
                        '{where}: the column "{name}" is not a choice or term column of the '
                        "connection template."
                    ).format(where=where, name=name)
                )
            target = new_rows.setdefault(named.column.internal_name, [])
            if named.is_choice:
                label, raw_number = cell("label"), cell("number")
                if label is None or not str(label).strip():
                    raise OptionsImportError(
                        tr("{where}: the Label cell is empty.").format(where=where)
                    )
                number = _whole_number(raw_number)
                if number is None:
                    raise OptionsImportError(
                        tr(
                            '{where}: the Number "{value}" of "{label}" is not a whole number '
                            "from 1."
                        ).format(where=where, value=raw_number or "", label=label)
                    )
                target.append([str(label).strip(), number])
            else:
                term = cell("term")
                if term is None or not str(term).strip():
                    raise OptionsImportError(
                        tr("{where}: the Term cell is empty.").format(where=where)
                    )
                target.append([str(term).strip()])
        if not new_rows:
            raise OptionsImportError(
                tr("{source} has no options in it.").format(source=sheet.source)
            )
        for item in self._items:
            if item.column.internal_name in new_rows:
                item.rows[:] = new_rows[item.column.internal_name]
        self.options_model.set_options(self.options_model.options)
        self.columns_model.refresh()
        self._edited()
        number = sum(len(rows) for rows in new_rows.values())
        return tr("Imported {options} for {columns}.").format(
            options=count(number, tr("1 option"), tr("{0} options")),
            columns=", ".join(
                f'"{item.column.display_name}"'
                for item in self._items
                if item.column.internal_name in new_rows
            ),
        )

    # -- inside -------------------------------------------------------------------------

    @Slot(QModelIndex, QModelIndex)
    def _column_chosen(self, current: QModelIndex, previous: QModelIndex) -> None:
        options = self.columns_model.item(current.row()) if current.isValid() else None
        self.options_model.set_options(options)
        if options is not None and options.is_choice:
            self.hint_label.setText(
                tr(
                    '"{name}" is a choice column: give each option\'s label as Opus shows '
                    "it and its number (the first option is 1)."
                ).format(name=options.column.display_name)
            )
        elif options is not None:
            self.hint_label.setText(
                tr(
                    '"{name}" is a term column: list the term paths it accepts, '
                    "levels joined as in Opus (Records/Finance/Invoices)."
                ).format(name=options.column.display_name)
            )
        header = self.table.horizontalHeader()
        if self.options_model.columnCount() == 2:
            header.resizeSection(0, 240)
        self._update_state()

    @Slot()
    def _add(self) -> None:
        row = self.options_model.add_row()
        if row >= 0:
            index = self.options_model.index(row, 0)
            self.table.setCurrentIndex(index)
            self.table.edit(index)

    @Slot()
    def _remove(self) -> None:
        rows = [i.row() for i in self.table.selectionModel().selectedRows()]
        if not rows and self.table.currentIndex().isValid():
            rows = [self.table.currentIndex().row()]
        self.options_model.remove_rows(rows)

    @Slot()
    def _choose_sheet(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            tr("Import options from a sheet"),
            "",
            tr("Sheets ({patterns});;All files (*)").format(patterns=SHEET_PATTERNS),
        )
        if not path:
            return
        from opus_desktop.gui.errors import show_error

        try:
            summary = self.import_sheet(Path(path))
        except AppError as exc:
            show_error(self, exc)
            return
        self.hint_label.setText(summary)

    @Slot()
    def _edited(self) -> None:
        self.columns_model.refresh()
        self._update_state()
        self.changed.emit()

    def _update_state(self) -> None:
        has_columns = bool(self._items)
        self.empty_label.setVisible(not has_columns)
        for widget in (self.columns_view, self.table, self.hint_label, self.import_button):
            widget.setVisible(has_columns)
        self.add_button.setVisible(has_columns)
        self.remove_button.setVisible(has_columns)
        has_column = self.options_model.options is not None
        self.add_button.setEnabled(has_column)
        self.remove_button.setEnabled(has_column and self.options_model.rowCount() > 0)

    def select_column(self, internal_name: str) -> bool:
        for row, item in enumerate(self._items):
            if item.column.internal_name == internal_name:
                self.columns_view.selectionModel().setCurrentIndex(
                    self.columns_model.index(row),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect,
                )
                return True
        return False


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text.isdigit():
            return None
        value = int(text)
    if isinstance(value, int) and value >= 1:
        return value
    return None
