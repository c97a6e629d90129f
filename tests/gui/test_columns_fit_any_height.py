"""The Columns table keeps every name whole whatever the window's height: where its scroll
bar comes or goes, the Name column narrowed under rows measured for the wider column
(opened narrow with the panel folded, then 1280 x 808-820: "Date …" on one line)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QStyle
from pytestqt.qtbot import QtBot

from opus_desktop.gui.connection.columns import ColumnsModel
from opus_desktop.gui.main_window import PANEL_WIDTH, MainWindow
from opus_desktop.gui.settings import GuiSettings
from opus_desktop.profiles import Profile


def cut_names(window: MainWindow) -> list[str]:
    """The names that do not fit their cell, wrapped at word boundaries."""
    view = window.panel.columns_view
    model = view.model()
    metrics = view.fontMetrics()
    margin = view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1
    cut = []
    for row in range(model.rowCount()):
        name = model.index(row, ColumnsModel.NAME).data()
        cell = view.visualRect(model.index(row, ColumnsModel.NAME))
        room = QRect(0, 0, cell.width() - 2 * margin, 10_000)
        needed = metrics.boundingRect(room, Qt.TextFlag.TextWordWrap, name)
        if needed.width() > room.width() or needed.height() > cell.height():
            cut.append(name)
    return cut


@pytest.mark.parametrize("height", range(770, 860, 6))
def test_no_name_is_cut_when_the_window_opens_out_to(
    qtbot: QtBot, gui_settings: GuiSettings, sandbox_profile: Profile, height: int
) -> None:
    window = MainWindow(gui_settings)
    qtbot.addWidget(window)
    window.resize(1177, 736)  # as on a 1280x800 screen: the panel folded away
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)
    window.resize(1280, height)
    qtbot.wait(100)
    assert window.dock.isVisible() and window.dock.width() == PANEL_WIDTH
    assert cut_names(window) == []
    window.close()
