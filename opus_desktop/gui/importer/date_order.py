"""The import dialog's "Date order": how the sheet writes dates in digits, and what was
decided for each date column when the choice is Automatic (core.date_order)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from opus_desktop.core import date_order
from opus_desktop.core.schema import ColumnType, Template
from opus_desktop.core.sheets import SheetData

AUTOMATIC = ""  # the combo's data for "decide from the dates"


def tr(text: str) -> str:
    return QCoreApplication.translate("DateOrderBox", text)


def choices() -> list[tuple[str, str]]:
    """(shown text, stored order) for the combo, Automatic first."""
    return [
        (tr("Automatic"), AUTOMATIC),
        (tr("Day first (25/12/2019)"), date_order.DMY),
        (tr("Month first (12/25/2019)"), date_order.MDY),
        (tr("Year first (2019-12-25)"), date_order.YMD),
    ]


def decisions(
    data: SheetData, sources: dict[str, str], template: Template, pattern: str, chosen: str | None
) -> list[str]:
    """For each date column a header feeds, how its dates in digits are read."""
    found: list[str] = []
    for column in template:
        header = sources.get(column.internal_name)
        if column.type is not ColumnType.DATE_TIME or not header or header not in data.headers:
            continue
        if chosen:
            found.append(date_order.chosen(column.display_name, chosen).sentence or "")
            continue
        index = data.headers.index(header)
        evidence = date_order.Evidence()
        for row in data.rows:
            cell = row.cells[index] if index < len(row.cells) else None
            if isinstance(cell, str):
                evidence.see(cell, row.number)
        sentence = date_order.decide(column.display_name, evidence, pattern).sentence
        found.append(
            sentence or tr("{0}: no dates in digits to decide by").format(column.display_name)
        )
    return found


class DateOrderBox(QWidget):
    """A combo box (Automatic, Day first, Month first, Year first) and, under it, what was
    decided per date column. Signals: changed(order): None for Automatic."""

    changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("date-order")
        self.combo = QComboBox()
        self.combo.setObjectName("date-order-combo")
        for shown, stored in choices():
            self.combo.addItem(shown, stored)
        self.combo.setToolTip(
            tr(
                "How the sheet writes dates in digits. Automatic decides each date column "
                "from its own dates: 25/12/2019 can only be day first, 12/25/2019 only "
                "month first. A date that reads both ways (03/04/2019) is never guessed."
            )
        )
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.currentIndexChanged.connect(lambda _: self.changed.emit(self.order()))
        self.told = QLabel()
        self.told.setObjectName("date-order-decisions")
        self.told.setWordWrap(True)
        self.told.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.told.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.combo)
        top.addStretch()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.told)

    def order(self) -> str | None:
        return self.combo.currentData() or None

    def set_order(self, order: str | None) -> None:
        at = self.combo.findData(order or AUTOMATIC)
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(max(at, 0))
        self.combo.blockSignals(False)

    def show_decisions(self, sentences: list[str], first_rows_only: bool) -> None:
        if not sentences:
            self.told.setText(tr("No header feeds a date column."))
            return
        lines = [f"• {sentence}." for sentence in sentences]
        if first_rows_only and self.order() is None:
            lines.append(tr("(Decided from the rows shown; the import looks at every row.)"))
        self.told.setText("\n".join(lines))
