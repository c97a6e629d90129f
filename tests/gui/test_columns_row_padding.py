"""The connection panel's Columns table: a column name that wraps onto two lines gets the
same room above and below its lines as a one-line row (it filled its row edge to edge)."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QStyle
from pytestqt.qtbot import QtBot

from opus_desktop.gui.connection.columns import ColumnsModel
from opus_desktop.gui.main_window import PANEL_WIDTH
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.profiles import Profile
from tests.gui.test_connection_panel import make_panel


def test_wrapped_names_are_padded_as_one_line_names_are(
    qtbot: QtBot, runner: TaskRunner, sandbox_profile: Profile
) -> None:
    panel = make_panel(qtbot, runner)
    panel.resize(PANEL_WIDTH, 700)
    qtbot.waitExposed(panel)
    qtbot.wait(50)
    view, model = panel.columns_view, panel.columns_model
    metrics = view.fontMetrics()
    margin = view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1
    room: dict[str, int] = {}
    for row in range(model.rowCount()):
        name = model.index(row, ColumnsModel.NAME).data()
        cell = view.visualRect(model.index(row, ColumnsModel.NAME))
        lines = metrics.boundingRect(
            QRect(0, 0, cell.width() - 2 * margin, 10_000), Qt.TextFlag.TextWordWrap, name
        )
        room[name] = view.rowHeight(row) - lines.height()
    assert room["Storage Location"] == room["Row key"] >= 6, room
    assert room["Date Received"] == room["Row key"], room
