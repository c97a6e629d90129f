"""The connection panel cannot be dragged so narrow that the Columns table cuts a name's
word: below 290 px "Classification", "Description" and "Departments" lost their ends."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from opus_desktop.gui.main_window import PANEL_WIDTH, MainWindow
from opus_desktop.gui.settings import GuiSettings
from opus_desktop.profiles import Profile
from tests.gui.test_columns_fit_any_height import cut_names


@pytest.mark.parametrize("dragged_to", [200, 250, 270, 280])
def test_no_name_is_cut_when_the_panel_is_dragged_narrower(
    qtbot: QtBot, gui_settings: GuiSettings, sandbox_profile: Profile, dragged_to: int
) -> None:
    window = MainWindow(gui_settings)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)
    assert window.dock.width() == PANEL_WIDTH

    window.resizeDocks([window.dock], [dragged_to], Qt.Orientation.Horizontal)
    qtbot.wait(50)

    assert window.dock.width() < PANEL_WIDTH  # narrower, as far as the names allow
    assert cut_names(window) == []
    window.close()
