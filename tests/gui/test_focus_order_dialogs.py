"""Tab goes through the profile and settings dialogs in the order their controls are laid
out: down the form, left to right within a line, the buttons last."""

from __future__ import annotations

from itertools import pairwise

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QWidget
from pytestqt.qtbot import QtBot

from opus_desktop.gui.settings_dialog import SettingsDialog
from tests.gui.test_profile_dialog import open_dialog as make_profile_dialog

SAME_LINE = 6  # px: a label's field and its button sit on one line, give or take


def round_trip(qtbot: QtBot, dialog: QDialog) -> list[QWidget]:
    """Tab from the dialog's first control until focus comes back to it."""
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    first = dialog.focusWidget() or dialog
    first.setFocus(Qt.FocusReason.TabFocusReason)
    seen = [QApplication.focusWidget()]
    for _ in range(200):
        current = QApplication.focusWidget()
        assert current is not None
        qtbot.keyClick(current, Qt.Key.Key_Tab)
        moved = QApplication.focusWidget()
        if moved is seen[0]:
            break
        seen.append(moved)
    return [w for w in seen if w is not None]


def out_of_order(dialog: QDialog, widgets: list[QWidget]) -> list[str]:
    """The pairs where Tab goes up, or left within a line, in the visible order."""
    shown = [w for w in widgets if w.isVisible()]
    places = [w.mapTo(dialog, w.rect().topLeft()) for w in shown]
    wrong = []
    pairs = list(zip(shown, places, strict=True))
    for (a, pa), (b, pb) in pairwise(pairs):
        up = pb.y() < pa.y() - SAME_LINE
        left = abs(pb.y() - pa.y()) <= SAME_LINE and pb.x() < pa.x()
        if up or left:
            wrong.append(
                f"{a.accessibleName() or a.property('text') or type(a).__name__} -> "
                f"{b.accessibleName() or b.property('text') or type(b).__name__}"
            )
    return wrong


def test_the_profile_dialog_goes_down_the_form(qtbot: QtBot) -> None:
    dialog = make_profile_dialog(qtbot)
    order = round_trip(qtbot, dialog)
    assert len(order) > 3
    assert out_of_order(dialog, order) == []


def test_the_settings_dialog_goes_down_the_form_then_the_buttons(qtbot: QtBot) -> None:
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    order = round_trip(qtbot, dialog)
    assert len(order) > 3
    assert out_of_order(dialog, order) == []
