"""The connection panel's Columns table at its docked width: every column name is shown
in full (long names wrap onto a second line), none is cut with an ellipsis."""

from __future__ import annotations

import os

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QStyle
from pytestqt.qtbot import QtBot

from opus_desktop.gui.connection.columns import ColumnsModel
from opus_desktop.gui.main_window import PANEL_WIDTH
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.profiles import Profile
from tests.gui.test_connection_panel import make_panel


def test_every_column_name_fits_its_cell(
    qtbot: QtBot, runner: TaskRunner, sandbox_profile: Profile
) -> None:
    panel = make_panel(qtbot, runner)
    panel.resize(PANEL_WIDTH, 700)
    qtbot.waitExposed(panel)
    view, model = panel.columns_view, panel.columns_model
    qtbot.wait(50)
    names = [model.index(r, ColumnsModel.NAME).data() for r in range(model.rowCount())]
    assert "Date Received" in names and "Storage Location" in names
    if os.environ.get("OPUS_GRAB"):
        panel.grab().save(os.environ["OPUS_GRAB"])
    metrics = view.fontMetrics()
    for row, name in enumerate(names):
        cell = view.visualRect(model.index(row, ColumnsModel.NAME))
        # Text room inside the cell's margins; wrapped at word boundaries.
        margin = view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1
        room = QRect(0, 0, cell.width() - 2 * margin, 10_000)
        needed = metrics.boundingRect(room, Qt.TextFlag.TextWordWrap, name)
        assert needed.width() <= room.width(), name
        assert needed.height() <= cell.height(), name
