"""The first hour without a mouse: import the demo sheet, fix a cell, send, open the
Disposal tab, load, tick, confirm and open the certificate, by keys alone. Each step
presses keys on the widget that has the focus and checks where the focus went."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMenu, QWidget
from pytestqt.qtbot import QtBot

from opus_desktop.gui.disposal import outcome
from opus_desktop.gui.disposal.confirm_dialog import ConfirmDialog
from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.gui.importer import dialog as importer
from opus_desktop.gui.main_window import MainWindow
from opus_desktop.gui.settings import LAST_PROFILE, GuiSettings
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from opus_desktop.usecases.rows import STORED
from tests.gui.conftest import OFFSCREEN_NOISE
from tests.helpers.editor import DEMO_SHEET
from tests.integration.conftest import MakeSandbox

WAIT_MS = 30_000
Key = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier
ALT = Qt.KeyboardModifier.AltModifier


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the focus"
    return widget


def activate(qtbot: QtBot, window: QWidget) -> None:
    """What the desktop's window manager does for a new dialog (offscreen has none)."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)


def press(
    qtbot: QtBot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    qtbot.keyClick(focused(), key, modifier)


# The offscreen platform says these when a window is raised or a menu pops up.
@pytest.mark.qt_log_ignore(
    OFFSCREEN_NOISE,
    r"^This plugin does not support raise\(\)$",
    r"^This plugin does not support grabbing the keyboard$",
)
def test_import_fix_send_and_dispose_by_keys_alone(
    qtbot: QtBot,
    gui_settings: GuiSettings,
    tmp_path: Path,
    make_sandbox: MakeSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = save_sandbox_profiles(make_sandbox())
    gui_settings.set(LAST_PROFILE, profile.name)
    window = MainWindow(gui_settings, journal_path=tmp_path / "journal.sqlite3")
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    records = window.records_widget
    assert isinstance(records, RecordsTab)
    # The file chooser is the desktop's own; what the user picks in it is the demo sheet.
    monkeypatch.setattr(
        importer.QFileDialog, "getOpenFileName", lambda *a, **k: (str(DEMO_SHEET), "")
    )
    opened: list[Path] = []
    monkeypatch.setattr(outcome, "open_path", lambda path: opened.append(path) or True)
    qtbot.waitUntil(window.isActiveWindow)
    records.open_button.setFocus()  # the first control of the Records tab

    # Ctrl+O: the import dialog, the sheet chosen; Enter imports; the keyboard goes on
    # in the grid.
    press(qtbot, Key.Key_O, CTRL)
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), importer.ImportDialog))
    chooser = QApplication.activeModalWidget()
    assert isinstance(chooser, importer.ImportDialog)
    qtbot.waitUntil(lambda: chooser.inspection is not None and chooser.task is None)
    activate(qtbot, chooser)
    assert chooser.isAncestorOf(focused())
    press(qtbot, Key.Key_Return)
    qtbot.waitUntil(lambda: records.model.rowCount() == 200, timeout=WAIT_MS)
    activate(qtbot, window)  # back from the dialog
    qtbot.waitUntil(lambda: focused() is records.view)
    invalid = records.model.invalid_rows

    # F8: to the first cell Opus would refuse (row 9's impossible date); type it right.
    press(qtbot, Key.Key_F8)
    view = records.view
    qtbot.waitUntil(lambda: records.model.row_at(view.currentIndex().row()).invalid)
    assert focused() is view
    position = view.currentIndex().row()
    press(qtbot, Key.Key_F2)
    editor = focused()
    assert editor is not view and view.isAncestorOf(editor)
    editor.selectAll()  # type: ignore[attr-defined]
    qtbot.keyClicks(editor, "2021-02-28 09:30:00")
    qtbot.keyClick(editor, Key.Key_Return)
    qtbot.waitUntil(lambda: records.model.invalid_rows == invalid - 1)
    assert focused() is view and not records.model.row_at(position).invalid

    # Alt+V: send only the valid rows; Ctrl+Enter sends them.
    qtbot.waitUntil(records.submit_panel.valid_only.isVisible)
    press(qtbot, Key.Key_V, ALT)
    qtbot.waitUntil(records.submit_panel.valid_only.isChecked)
    press(qtbot, Key.Key_Return, CTRL)
    qtbot.waitUntil(lambda: records.submit_panel.summary is not None, timeout=WAIT_MS)
    stored = [row for row in records.model.rows() if row.status == STORED]
    assert len(stored) == 200 - (invalid - 1)
    summary = records.submit_panel.summary
    assert summary is not None
    qtbot.waitUntil(summary.isVisible)
    activate(qtbot, summary)
    qtbot.keyClick(summary, Key.Key_Escape)
    qtbot.waitUntil(lambda: not summary.isVisible())
    activate(qtbot, window)

    # Ctrl+2: the Disposal tab, its first control focused; Ctrl+L loads; the list has the focus.
    press(qtbot, Key.Key_2, CTRL)
    disposal = window.disposal
    assert window.tabs.currentWidget() is disposal
    assert disposal.isAncestorOf(focused())
    press(qtbot, Key.Key_L, CTRL)
    qtbot.waitUntil(lambda: disposal.model.rowCount() > 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: focused() is disposal.view, timeout=WAIT_MS)

    # Down, Space: the second record ticked.
    press(qtbot, Key.Key_Down)
    press(qtbot, Key.Key_Space)
    assert disposal.model.checked_count == 1

    # Alt+D, D: Disposal > Mark destroyed… asks; the justification has the focus.
    press(qtbot, Key.Key_D, ALT)
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu))
    menu = QApplication.activePopupWidget()
    assert menu is not None
    qtbot.keyClick(menu, Key.Key_D)
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), ConfirmDialog))
    dialog = QApplication.activeModalWidget()
    assert isinstance(dialog, ConfirmDialog)
    activate(qtbot, dialog)
    assert focused() is dialog.justification_edit
    qtbot.keyClicks(focused(), "Retention schedule 4.2 ended")
    press(qtbot, Key.Key_Tab)
    assert focused() is dialog.operator_edit  # the order the form shows
    qtbot.keyClicks(focused(), "Jane Officer")
    press(qtbot, Key.Key_T, ALT)  # "Type 1 to confirm"
    assert focused() is dialog.typed_edit
    qtbot.keyClicks(focused(), "1")
    press(qtbot, Key.Key_Return)

    # The outcome: "Open certificate" has the focus; Enter opens the certificate.
    qtbot.waitUntil(lambda: disposal.destroyer.last_result is not None, timeout=WAIT_MS)
    activate(qtbot, window)
    panel = disposal.outcome
    qtbot.waitUntil(lambda: focused() is panel.open_button, timeout=WAIT_MS)
    press(qtbot, Key.Key_Return)
    qtbot.waitUntil(lambda: bool(opened))
    assert opened[0].suffix == ".pdf" and opened[0].exists()
    records.submit_panel.summary = None
    window.close()
