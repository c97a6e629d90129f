"""What would be sent for the selected row: the JSON object itself, pretty-printed.

For a row with problems the pane says which cells block it before showing the cells
that would go; choice columns get a line saying which label each number stands for.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QCoreApplication, QModelIndex
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from opus_desktop.gui.editor.model import RecordsModel
from opus_desktop.gui.editor.words import count
from opus_desktop.usecases.rows import Row


def tr(text: str, n: int = -1) -> str:
    return QCoreApplication.translate("PreviewPane", text, None, n)


def payload_json(payload: dict[str, object]) -> str:
    """The object as JSON, one key per line with lists kept on their line: easier to
    read than indent=2, and the same JSON."""
    if not payload:
        return "{}"
    lines = [
        f"  {json.dumps(key, ensure_ascii=False)}: {json.dumps(value, ensure_ascii=False)}"
        for key, value in payload.items()
    ]
    return "{\n" + ",\n".join(lines) + "\n}"


def preview_text(model: RecordsModel, position: int | None) -> str:
    columns = model.columns
    if columns is None or position is None or not 0 <= position < model.rowCount():
        return tr("Select a row to see exactly what would be sent to Opus for it.")
    row = model.row_at(position)
    where = tr("row {0}").format(row.source) if row.source is not None else tr("this new row")
    payload = columns.payload(row)
    body = payload_json(payload)
    lines: list[str] = []
    problems = columns.row_problems(row)
    if problems:
        refused = count(
            len(problems),
            tr("Opus would refuse a cell of {where}; fix it first:"),
            tr("Opus would refuse {0} cells of {where}; fix them first:"),
        )
        lines.append(refused.replace("{where}", where))
        lines.extend(f"  • {columns.columns[at].display_name}: {text}" for at, text in problems)
        lines += ["", tr("The other cells would be sent as:")]
    else:
        lines.append(tr("Sent for {0}:").format(where))
    lines.append(body)
    refused_at = {at for at, _ in problems}
    for at, column in enumerate(columns.columns):
        warning = columns.cell_warning(row, at)
        if warning is not None and at not in refused_at:
            sentence = tr("Warning on {0}: {1}; the record is still sent.")
            lines += ["", sentence.format(column.display_name, warning.rstrip(". "))]
    notes = []
    for at, column in enumerate(columns.columns):
        if column.internal_name in payload and columns.sent_as(at, payload[column.internal_name]):
            value = payload[column.internal_name]
            numbers = value if isinstance(value, list) else [value]
            labels = [columns.text(at, number) for number in numbers]
            pairs = ", ".join(f"{n} = {label}" for n, label in zip(numbers, labels, strict=True))
            notes.append(f"  {column.display_name}: {pairs}")
    if notes:
        lines += ["", tr("Options are sent as numbers:"), *notes]
    return "\n".join(lines)


class PreviewPane(QWidget):
    """Follows one row (not a position), so sorting or inserting rows keeps it in view."""

    def __init__(self, model: RecordsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.row: Row | None = None
        self._where: int | None = None  # the row's last known position
        self.title = QLabel(tr("What will be sent"))
        self.text = QPlainTextEdit()
        self.text.setObjectName("preview-text")
        self.text.setAccessibleName(tr("What will be sent"))
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        model.dataChanged.connect(self._data_changed)
        model.modelReset.connect(lambda: self.show_row(None))
        model.rowsRemoved.connect(self.refresh)
        self.show_row(None)

    def show_row(self, position: int | None) -> None:
        valid = position is not None and 0 <= position < self.model.rowCount()
        self.row = self.model.row_at(position) if valid and position is not None else None
        self._where = position if self.row is not None else None
        self.refresh()

    def refresh(self) -> None:
        position = None
        if self.row is not None:
            position = self.model.position_of(self.row, self._where)
        if position is None:
            self.row = None
        self._where = position
        scroll = self.text.verticalScrollBar().value()
        self.text.setPlainText(preview_text(self.model, position))
        self.text.verticalScrollBar().setValue(scroll)

    def _data_changed(self, top: QModelIndex, bottom: QModelIndex) -> None:
        if self.row is None:
            return
        position = self.model.position_of(self.row, self._where)
        if position is not None and top.row() <= position <= bottom.row():
            self.refresh()
