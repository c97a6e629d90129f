"""The pieces of the connection panel that show a test: each step's line with its icon and
detail as it happens, the signed-in line, and the section headings between them."""

from __future__ import annotations

import math
import re

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QWidget,
)

from opus_desktop.gui.connection.test_worker import ConnectionOutcome
from opus_desktop.gui.icons import status_icon
from opus_desktop.jobs.connect import STEPS, Step

ICON_SIZE = 16


def tr(text: str) -> str:
    return QCoreApplication.translate("ConnectionPanel", text)


def format_left(seconds: float) -> str:
    """59:41, or 1:00:00 from an hour up; rounded up, so 0:00 means expired."""
    whole = max(math.ceil(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def section(title: str) -> QLabel:
    label = QLabel(title)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


def line() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line


class StatusLine(QWidget):
    """A status icon and a sentence beside it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.icon = QLabel()
        self.icon.setFixedSize(ICON_SIZE, ICON_SIZE)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.text, 1)
        self.status = ""

    def show_status(self, status: str, text: str) -> None:
        self.status = status
        self.icon.setPixmap(status_icon(status, self.palette(), ICON_SIZE).pixmap(ICON_SIZE))
        self.text.setText(text)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self.status:
            self.show_status(self.status, self.text.text())


_LONG_WORD = re.compile(r"\S{28,}")


def breakable(text: str, every: int = 16) -> str:
    """Long unbroken runs (thumbprints, ids) with zero-width spaces, so a narrow label can
    wrap them instead of cutting them off."""
    return _LONG_WORD.sub(
        lambda m: "\u200b".join(
            m.group(0)[i : i + every] for i in range(0, len(m.group(0)), every)
        ),
        text,
    )


class DetailLabel(QLabel):
    """A step's sentence, wrapped in full: the panel is narrow (290 px) and a cut sentence
    hid the address or certificate the user wanted to check. The tooltip holds it too,
    in one line, for copying by eye."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.detail = ""
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Ignored: the label takes the column's width and wraps to it, never widens the panel.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        small = self.font()
        small.setPointSizeF(max(small.pointSizeF() * 0.92, 7.0))
        self.setFont(small)

    def set_detail(self, detail: str) -> None:
        self.detail = detail
        self.setToolTip(detail)
        self.setText(breakable(detail))
        self.setVisible(bool(detail))


class StepsView(QWidget):
    """The steps of the connection test: icon, name, and the sentence under the name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(6)
        self._grid.setVerticalSpacing(1)
        self._grid.setColumnStretch(1, 1)
        self.rows: dict[str, tuple[QLabel, QLabel, DetailLabel]] = {}
        self.states: dict[str, str] = {}
        for name in STEPS:
            self._add_row(name)
        self.reset()

    def _add_row(self, name: str) -> None:
        icon, title, detail = QLabel(), QLabel(tr(name)), DetailLabel()
        icon.setFixedSize(ICON_SIZE, ICON_SIZE)
        row = self._grid.rowCount()
        self._grid.addWidget(icon, row, 0, Qt.AlignmentFlag.AlignTop)
        self._grid.addWidget(title, row, 1)
        self._grid.addWidget(detail, row + 1, 1)
        self.rows[name] = (icon, title, detail)

    def detail(self, name: str) -> str:
        return self.rows[name][2].detail

    def reset(self, status: str = "waiting") -> None:
        for name in self.rows:
            self._set(name, status, "")

    def start(self) -> None:
        self.reset()
        self._set(STEPS[0], "running", tr("Checking..."))

    def show_step(self, step: Step) -> None:
        if step.name not in self.rows:
            self._add_row(step.name)
        status = "failed" if not step.ok else "warning" if step.warning else "ok"
        self._set(step.name, status, step.detail)
        names = list(self.rows)
        following = names.index(step.name) + 1
        if step.ok and following < len(names):
            self._set(names[following], "running", tr("Checking..."))

    def finish(self, outcome: ConnectionOutcome) -> None:
        """Steps the test never reached: marked as not tried."""
        for name, status in list(self.states.items()):
            if status in ("running", "waiting"):
                self._set(name, "waiting", tr("Not tried.") if not outcome.ok else "")

    def _set(self, name: str, status: str, detail: str) -> None:
        _, title, label = self.rows[name]
        self.states[name] = status
        self._paint_icon(name)
        title.setEnabled(status != "waiting")
        label.set_detail(detail)

    def _paint_icon(self, name: str) -> None:
        icon = self.rows[name][0]
        status = self.states[name]
        icon.setPixmap(status_icon(status, self.palette(), ICON_SIZE).pixmap(ICON_SIZE))
        icon.setToolTip(tr(status))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            for name in self.states:
                self._paint_icon(name)
