"""Tab goes through a dialog in the order its controls are laid out, top to bottom."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from opus_desktop.gui.editor.tab import RecordsTab
from tests.gui.test_destroy_confirm import make_dialog as make_confirm
from tests.gui.test_import_dialog import open_dialog as open_import
from tests.gui.test_import_dialog import profile, runner, sheet, tab

__all__ = ["profile", "runner", "sheet", "tab"]


def tab_through(qtbot: QtBot, first: QWidget, count: int) -> list[QWidget]:
    window = first.window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    first.setFocus(Qt.FocusReason.TabFocusReason)
    seen = [first]
    for _ in range(count - 1):
        current = QApplication.focusWidget()
        assert current is not None
        qtbot.keyClick(current, Qt.Key.Key_Tab)
        moved = QApplication.focusWidget()
        assert moved is not None
        seen.append(moved)
    return seen


def top_to_bottom(widgets: list[QWidget]) -> bool:
    tops = [w.mapTo(w.window(), w.rect().topLeft()).y() for w in widgets]
    return tops == sorted(tops)


def test_the_confirmation_goes_down_the_form(qtbot: QtBot) -> None:
    dialog = make_confirm(qtbot)
    order = tab_through(qtbot, dialog.justification_edit, 4)
    assert order[1:3] == [dialog.operator_edit, dialog.organisation_edit]
    assert top_to_bottom(order)
    assert dialog.typed_edit in tab_through(qtbot, dialog.justification_edit, 6)


def test_the_import_dialog_goes_from_the_file_to_the_tables(
    qtbot: QtBot, tab: RecordsTab, sheet: Path
) -> None:
    dialog = open_import(qtbot, tab, sheet)
    order = tab_through(qtbot, dialog.file_edit, 6)
    assert dialog.sheet_combo in order and dialog.header_spin in order
    assert order.index(dialog.sheet_combo) < order.index(dialog.header_spin)
    assert top_to_bottom(order)
