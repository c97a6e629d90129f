"""How the records table looks: the Status column's words and icons, the marks on a cell
the service refused, the colours of problems, and the header texts. The model
(model.py) asks these for every role but the hot ones it answers itself.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor, QFont, QIcon

from opus_desktop.core.schema import Column
from opus_desktop.gui.editor import icons
from opus_desktop.gui.icons import status_icon
from opus_desktop.usecases.rows import FAILED, PENDING, SENT, SKIPPED, STORED, Row

INVALID_COLOUR = QColor(229, 57, 53, 72)  # translucent: readable over light and dark bases
REFUSED_COLOUR = QColor(255, 160, 0, 72)  # the cell the service named when it refused the row
WARNING_COLOUR = QColor(250, 204, 21, 80)  # told, but sent: a Modified time before the Created
_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_DECORATION = int(Qt.ItemDataRole.DecorationRole.value)
_EDIT = int(Qt.ItemDataRole.EditRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole.value)


def tr(text: str) -> str:
    return QCoreApplication.translate("RecordsModel", text)


_STATUS_TEXT: dict[str, str] = {}


def status_text(status: str) -> str:
    """The Status column's word for a row status (translated once, then remembered)."""
    if not status:
        return ""
    if not _STATUS_TEXT:
        _STATUS_TEXT.update(
            {
                "pending": tr("Pending"),
                "sent": tr("Sent"),
                "stored": tr("Stored"),
                "failed": tr("Failed"),
                "skipped": tr("Skipped"),
            }
        )
    return _STATUS_TEXT.get(status, status)


def row_status_icon(status: str) -> QIcon | None:
    if status == FAILED:
        return icons.problem()
    if status == STORED:
        return icons.stored()
    if status == SENT:
        return status_icon("running")
    if status == PENDING:
        return status_icon("waiting")
    if status == SKIPPED:
        return status_icon("warning")
    return None


def refused_data(row: Row, role: int) -> Any:
    """The cell named by the service's refusal: its message, marked (not by colour alone)."""
    if role == _BACKGROUND:
        return REFUSED_COLOUR
    if role == _DECORATION:
        return row_status_icon(FAILED)
    if role == _TOOLTIP:
        return row.message
    return None


def warning_data(sentence: str, role: int) -> Any:
    """A cell warned of (the row can still be sent): a yellow tint, the warning triangle,
    and the sentence in the tooltip, so it reads apart from a problem's red and "!"."""
    if role == _BACKGROUND:
        return WARNING_COLOUR
    if role == _DECORATION:
        return status_icon("warning")
    if role == _TOOLTIP:
        return tr("Warning: {0}").format(sentence)
    return None


def status_data(row: Row, role: int) -> Any:
    if role in (_DISPLAY, _EDIT):
        return status_text(row.status)
    if role == _TOOLTIP:
        return row.message or None
    if role == _DECORATION:
        return row_status_icon(row.status)
    return None


def row_header(source: int | None, role: int) -> Any:
    """The row header: the sheet row it came from, or "new"."""
    if role == Qt.ItemDataRole.DisplayRole:
        return str(source) if source is not None else tr("new")
    if role == Qt.ItemDataRole.ToolTipRole:
        if source is None:
            return tr("A row added in the editor")
        return tr("Row {0} of the sheet").format(source)
    return None


def status_header(role: int) -> Any:
    if role == Qt.ItemDataRole.DisplayRole:
        return tr("Status")
    if role == Qt.ItemDataRole.ToolTipRole:
        return tr("What Opus did with the row: pending, sent, stored, failed or skipped")
    return None


def column_header(column: Column, role: int, bold: QFont) -> Any:
    """A template column's header: its name, what it is in the tooltip, bold if required."""
    if role == Qt.ItemDataRole.DisplayRole:
        return column.display_name
    if role == Qt.ItemDataRole.ToolTipRole:
        need = tr("Required: every record needs a value") if column.required else tr("Optional")
        return tr("{0}\nInternal name: {1}\nType: {2}\n{3}").format(
            column.display_name, column.internal_name, column.type.value, need
        )
    if role == Qt.ItemDataRole.FontRole and column.required:
        return bold
    return None
