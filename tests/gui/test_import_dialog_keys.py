"""The import dialog from the keyboard: Enter in a cell editor commits the edit and the
dialog stays; a file that cannot be read says why as the dialog's main message."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox
from pytestqt.qtbot import QtBot

from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.gui.importer.dialog import ImportDialog
from opus_desktop.gui.importer.mapping_model import MappingModel, ValueMapModel
from tests.gui.test_import_dialog import open_dialog, profile, runner, sheet, tab

__all__ = ["profile", "runner", "sheet", "tab"]


def focused() -> object:
    return QApplication.focusWidget()


def test_enter_in_the_option_editor_commits_and_stays(
    qtbot: QtBot, tab: RecordsTab, sheet: Path
) -> None:
    dialog = open_dialog(qtbot, tab, sheet)
    dialog.show()
    qtbot.waitExposed(dialog)
    mapping = dialog.mapping
    mapping.set_source("_Security_%20_Level", "Level")
    dialog.mapping_view.selectRow(mapping.row_of("_Security_%20_Level"))
    view = dialog.values_view
    view.setFocus()
    view.setCurrentIndex(dialog.values.index(0, ValueMapModel.OPTION))
    qtbot.keyClick(view, Qt.Key.Key_F2)
    editor = focused()
    assert isinstance(editor, QComboBox)
    editor.setCurrentIndex(editor.findText("Confidential"))
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.state() != view.State.EditingState)
    assert dialog.isVisible() and dialog.result() == 0  # not imported, not closed
    assert dialog.values.index(0, ValueMapModel.OPTION).data() == "Confidential"
    # Enter on a cell not being edited opens its editor; Enter again commits it.
    source = mapping.index(mapping.row_of("rowKey"), MappingModel.SOURCE)
    dialog.mapping_view.setFocus()
    dialog.mapping_view.setCurrentIndex(source)
    qtbot.keyClick(dialog.mapping_view, Qt.Key.Key_Return)
    editor = focused()
    assert isinstance(editor, QComboBox)
    editor.setCurrentIndex(editor.findText("Ref"))
    qtbot.keyClick(editor, Qt.Key.Key_Enter)
    qtbot.waitUntil(lambda: mapping.sources.get("rowKey") == "Ref")
    assert dialog.isVisible()
    assert not dialog.problem.isVisible()  # every required column is fed now


def test_a_refused_file_is_the_main_message_in_words(
    qtbot: QtBot, tab: RecordsTab, tmp_path: Path
) -> None:
    bad = tmp_path / "register.xlsx"
    bad.write_text("this is not a workbook", encoding="utf-8")
    dialog = tab.show_import_dialog(bad)
    assert isinstance(dialog, ImportDialog)
    qtbot.waitUntil(lambda: dialog.task is None and dialog.problem.text() != "")
    assert dialog.problem.isVisible()
    text = dialog.problem.text()
    assert text.startswith("This file cannot be imported.") and "register.xlsx" in text
    assert "not a workbook" in text
    assert dialog.missing_label.text() == ""  # not "required columns unfed": the file is
    assert not dialog.import_button.isEnabled()
