"""Every control a user can reach has an accessible name (what a screen reader says):
the main window with its tabs and panel, and each dialog, walked widget by widget."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QScrollBar,
    QTabBar,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from opus_desktop.gui.connection.password_dialog import PasswordDialog
from opus_desktop.gui.connection.profile_dialog import ProfileDialog
from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.gui.main_window import MainWindow
from opus_desktop.gui.settings import LAST_PROFILE, GuiSettings
from opus_desktop.gui.settings_dialog import SettingsDialog
from opus_desktop.profiles import Profile
from tests.gui.test_destroy_confirm import make_dialog as make_confirm
from tests.gui.test_import_dialog import open_dialog as open_import
from tests.gui.test_import_dialog import profile, runner, sheet, tab
from tests.helpers.editor import DEMO_SHEET

__all__ = ["profile", "runner", "sheet", "tab"]

INTERACTIVE = (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QTabBar,
)


def internal(widget: QWidget) -> bool:
    """Parts of a Qt control that are not controls of their own: a combo box's or spin
    box's line edit, scroll bars, Qt's own buttons (named qt_...)."""
    parent = widget.parentWidget()
    if isinstance(widget, QScrollBar) or widget.objectName().startswith("qt_"):
        return True
    return isinstance(parent, QComboBox | QAbstractSpinBox | QLineEdit)  # its clear button


def unnamed(root: QWidget) -> list[str]:
    found = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not isinstance(widget, INTERACTIVE) or internal(widget) or not widget.isVisibleTo(root):
            continue
        if not widget.focusPolicy() and not isinstance(widget, QAbstractButton):
            continue
        face = QAccessible.queryAccessibleInterface(widget)
        name = face.text(QAccessible.Text.Name) if face is not None else ""
        if not name.strip():
            parent = widget.parentWidget()
            where = f"{type(parent.parentWidget()).__name__}.{type(parent).__name__}"
            found.append(f"{type(widget).__name__} {widget.objectName()!r} in {where}")
    return found


def test_the_main_window_names_every_control(
    qtbot: QtBot, gui_settings: GuiSettings, tmp_path: Path, sandbox_profile: Profile
) -> None:
    gui_settings.set(LAST_PROFILE, sandbox_profile.name)  # the panel shows all it has
    window = MainWindow(gui_settings, journal_path=tmp_path / "journal.sqlite3")
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    records = window.records_widget
    assert isinstance(records, RecordsTab)
    records.open_sheet(DEMO_SHEET)
    qtbot.waitUntil(lambda: records.model.rowCount() == 200, timeout=10_000)
    missing = []
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        missing += unnamed(window)
    assert not missing, "\n".join(sorted(set(missing)))


def test_every_dialog_names_every_control(
    qtbot: QtBot, tab: RecordsTab, sheet: Path, profile: Profile
) -> None:
    dialogs: list[QWidget] = [open_import(qtbot, tab, sheet), make_confirm(qtbot)]
    for made in (ProfileDialog(profile), SettingsDialog(), PasswordDialog(profile)):
        qtbot.addWidget(made)
        made.show()
        dialogs.append(made)
    missing = []
    for dialog in dialogs:
        pages = getattr(dialog, "pages", None)
        for index in range(pages.count() if pages is not None else 1):
            if pages is not None:
                pages.setCurrentIndex(index)
            missing += [f"{type(dialog).__name__}: {m}" for m in unnamed(dialog)]
    assert not missing, "\n".join(sorted(set(missing)))
