"""The window at small sizes: below 1200 px the connection panel folds away (the grid
keeps its columns) and comes back when the window is wide again; the user's own choice
in between stands; dialogs never open larger than the screen."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from opus_desktop.gui.fit import fit_to_screen
from opus_desktop.gui.main_window import MainWindow
from opus_desktop.gui.settings import GuiSettings
from tests.gui.test_app import FakeRecordsTab


def test_the_panel_folds_away_in_a_narrow_window(
    qtbot: QtBot, gui_settings: GuiSettings, tmp_path: Path
) -> None:
    window = MainWindow(gui_settings, FakeRecordsTab, tmp_path / "journal.sqlite3")
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    assert window.dock.isVisible()
    window.resize(1024, 768)
    qtbot.waitUntil(lambda: not window.dock.isVisible())
    assert "F9" in window.statusBar().currentMessage()
    window.save_settings()  # folding is the width's: the panel is kept as shown
    window.resize(1280, 800)
    qtbot.waitUntil(window.dock.isVisible)
    # Shown by the user while narrow, it stays when the window is resized.
    window.resize(1024, 768)
    qtbot.waitUntil(lambda: not window.dock.isVisible())
    window.panel_action.trigger()
    assert window.dock.isVisible()
    window.resize(1100, 768)
    window.resize(1300, 800)
    window.resize(1000, 700)
    qtbot.wait(50)
    assert not window.dock.isVisible()  # a new narrowing folds it again
    window.close()

    again = MainWindow(gui_settings, FakeRecordsTab, tmp_path / "journal.sqlite3")
    qtbot.addWidget(again)
    again.resize(1280, 800)
    again.show()
    qtbot.waitExposed(again)
    assert again.dock.isVisible()


def test_a_dialog_is_never_larger_than_the_screen(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QDialog

    dialog = QDialog()
    qtbot.addWidget(dialog)
    screen = QApplication.primaryScreen().availableGeometry().size()
    size = fit_to_screen(dialog, screen.width() * 2, 300)
    assert size.width() <= screen.width() and size.height() == 300
    assert dialog.size() == size
