"""The status bar's fold notice ("folded away ... F9 shows it") is only true while the
panel is hidden: widening the window or pressing F9 clears it; other messages stay."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from opus_desktop.gui.main_window import MainWindow
from opus_desktop.gui.settings import GuiSettings
from tests.gui.test_app import FakeRecordsTab


def _narrowed(qtbot: QtBot, gui_settings: GuiSettings, tmp_path: Path) -> MainWindow:
    window = MainWindow(gui_settings, FakeRecordsTab, tmp_path / "journal.sqlite3")
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.resize(1024, 768)
    qtbot.waitUntil(lambda: not window.dock.isVisible())
    assert "folded away" in window.statusBar().currentMessage()
    return window


def test_widening_clears_the_fold_notice(
    qtbot: QtBot, gui_settings: GuiSettings, tmp_path: Path
) -> None:
    window = _narrowed(qtbot, gui_settings, tmp_path)
    window.resize(1280, 800)
    qtbot.waitUntil(window.dock.isVisible)
    assert window.statusBar().currentMessage() == ""


def test_showing_the_panel_by_hand_clears_the_fold_notice(
    qtbot: QtBot, gui_settings: GuiSettings, tmp_path: Path
) -> None:
    window = _narrowed(qtbot, gui_settings, tmp_path)
    window.panel_action.trigger()
    assert window.dock.isVisible()
    assert window.statusBar().currentMessage() == ""


def test_another_message_is_left_alone_when_the_panel_unfolds(
    qtbot: QtBot, gui_settings: GuiSettings, tmp_path: Path
) -> None:
    window = _narrowed(qtbot, gui_settings, tmp_path)
    window.statusBar().showMessage("Sent 3 records.")
    window.resize(1280, 800)
    qtbot.waitUntil(window.dock.isVisible)
    assert window.statusBar().currentMessage() == "Sent 3 records."
