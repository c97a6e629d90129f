"""Cell editors per column type: what they show, what they check, what they write back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QDate, QModelIndex, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QStatusBar,
    QStyleOptionViewItem,
    QWidget,
)
from pytestqt.qtbot import QtBot

from opus_desktop.gui.editor.delegates import (
    CheckedLine,
    ChecklistEditor,
    DateTimeLine,
    MultiLineEditor,
)
from opus_desktop.gui.editor.model import PROBLEM_ROLE
from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.usecases.importing import ImportRequest, load_records
from tests.helpers.editor import DEMO_SHEET, demo_profile


@pytest.fixture
def tab(qtbot: QtBot) -> Iterator[RecordsTab]:
    runner = TaskRunner()
    tab = RecordsTab(runner)
    qtbot.addWidget(tab)
    profile = demo_profile()
    tab.set_profile(profile)
    tab.load(load_records(ImportRequest(DEMO_SHEET, profile.template(), profile.value_settings())))
    yield tab
    runner.join()


def cell(tab: RecordsTab, excel_row: int, column_name: str) -> QModelIndex:
    model = tab.model
    row = next(p for p in range(model.rowCount()) if model.row_at(p).source == excel_row)
    column = next(
        c
        for c in range(model.columnCount())
        if model.headerData(c, Qt.Orientation.Horizontal) == column_name
    )
    return tab.proxy.mapFromSource(model.index(row, column))


def edit(tab: RecordsTab, index: QModelIndex) -> QWidget:
    delegate = tab.delegate
    editor = delegate.createEditor(tab.view.viewport(), QStyleOptionViewItem(), index)
    delegate.setEditorData(editor, index)
    return editor


def commit(tab: RecordsTab, editor: QWidget, index: QModelIndex) -> None:
    tab.delegate.setModelData(editor, tab.proxy, index)


def test_date_time_editor_checks_as_you_type_and_has_a_calendar(tab: RecordsTab) -> None:
    index = cell(tab, 4, "Created time")
    editor = edit(tab, index)
    assert isinstance(editor, DateTimeLine)
    assert editor.text() == "2020-04-20 10:07:00"
    hints: list[str] = []
    tab.delegate.hint.connect(hints.append)
    editor.setText("31/02/2021")
    assert "not a date in the format yyyy-MM-dd HH:mm:ss" in editor.toolTip()
    assert "border" in editor.styleSheet() and hints[-1] == editor.toolTip()
    editor.setText("2021-3-4 8:05")
    assert editor.toolTip() == "" and editor.styleSheet() == ""
    editor._picked(QDate(2022, 5, 6))  # a click in the calendar keeps the time
    assert editor.text() == "2022-05-06 08:05:00"
    commit(tab, editor, index)
    assert index.data() == "2022-05-06 08:05:00"


def test_single_choice_offers_the_options_and_keeps_a_wrong_value_until_changed(
    tab: RecordsTab,
) -> None:
    index = cell(tab, 28, "Security Level")
    editor = edit(tab, index)
    assert isinstance(editor, QComboBox)
    items = [editor.itemText(i) for i in range(editor.count())]
    assert items == ["Top secret", "", "Public", "Internal", "Confidential", "Secret"]
    assert editor.currentText() == "Top secret"
    commit(tab, editor, index)
    assert index.data(PROBLEM_ROLE) is not None and tab.model.undo_stack.count() == 0
    editor.setCurrentText("Confidential")
    commit(tab, editor, index)
    assert index.data() == "Confidential" and index.data(PROBLEM_ROLE) is None
    source = tab.proxy.mapToSource(index).row()
    assert tab.model.payload(source)["_Security_%20_Level"] == 3


def test_multiple_choice_is_a_checklist(tab: RecordsTab, qtbot: QtBot) -> None:
    index = cell(tab, 4, "Departments")
    editor = edit(tab, index)
    assert isinstance(editor, ChecklistEditor)
    checked = [
        editor.options.item(i).text()
        for i in range(editor.options.rowCount())
        if editor.options.item(i).checkState() == Qt.CheckState.Checked
    ]
    assert checked == ["Legal", "Operations"]
    editor.toggle(0)  # Finance
    editor.toggle(2)  # Legal off
    assert editor.text() == "Finance; Operations"
    commit(tab, editor, index)
    source = tab.proxy.mapToSource(index).row()
    assert tab.model.payload(source)["_Departments"] == [1, 4]
    assert editor.wanted_height() >= editor.line_height * 5  # every option in sight


def test_multi_line_text_keeps_line_breaks_and_ctrl_enter_finishes(
    tab: RecordsTab, qtbot: QtBot
) -> None:
    index = cell(tab, 4, "Description")
    tab.show()
    tab.view.edit(index)  # opened by the view, which takes the commit
    editor = tab.view.indexWidget(index)
    assert isinstance(editor, MultiLineEditor)
    assert editor.height() > tab.view.rowHeight(index.row()) * 3
    editor.setPlainText("First line\nSecond line")
    with qtbot.waitSignal(tab.delegate.closeEditor):
        qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert index.data(Qt.ItemDataRole.EditRole) == "First line\nSecond line"
    assert index.data() == "First line ↵ Second line"  # one line in the grid


def test_taxonomy_offers_the_terms_with_completion(tab: RecordsTab) -> None:
    index = cell(tab, 56, "Classification")
    editor = edit(tab, index)
    assert isinstance(editor, QComboBox) and editor.isEditable()
    assert editor.currentText() == "Records/Finance/Invoice"
    line = editor.lineEdit()
    assert isinstance(line, CheckedLine)
    assert "did you mean 'Records/Finance/Invoices'" in line.toolTip()
    completer = editor.completer()
    assert completer is not None
    completer.setCompletionPrefix("payroll")
    assert completer.currentCompletion() == "Records/Finance/Payroll"
    editor.setEditText("Records/Finance/Invoices")
    assert line.toolTip() == ""
    commit(tab, editor, index)
    assert index.data(PROBLEM_ROLE) is None


def test_number_and_people_editors_validate(tab: RecordsTab) -> None:
    pages = cell(tab, 73, "Page Count")
    editor = edit(tab, pages)
    assert isinstance(editor, CheckedLine)
    assert editor.alignment() & Qt.AlignmentFlag.AlignRight
    assert editor.toolTip() == "'twelve' is not a number."
    editor.setText("1,024")
    assert editor.toolTip() == ""
    commit(tab, editor, pages)
    assert pages.data() == "1024"
    owner = cell(tab, 17, "Record Owner")
    editor = edit(tab, owner)
    assert isinstance(editor, CheckedLine) and "@" in editor.placeholderText()
    editor.setText("bob.smith@contoso.example, carol.jones@contoso.example")
    commit(tab, editor, owner)
    assert owner.data() == "bob.smith@contoso.example; carol.jones@contoso.example"
    assert owner.data(PROBLEM_ROLE) is None


def test_the_status_column_cannot_be_edited(tab: RecordsTab) -> None:
    index = tab.proxy.index(0, 0)
    assert not index.flags() & Qt.ItemFlag.ItemIsEditable
    assert not tab.proxy.setData(index, "stored")


def editor_text(editor: QWidget) -> str:
    if isinstance(editor, ChecklistEditor):
        return editor.text()
    if isinstance(editor, QPlainTextEdit):
        return editor.toPlainText()
    if isinstance(editor, QComboBox):
        return editor.currentText()
    assert isinstance(editor, QLineEdit)
    return editor.text()


def open_with_key(qtbot: QtBot, tab: RecordsTab, index: QModelIndex, key: str | Qt.Key) -> QWidget:
    """Press a key on the selected cell, as a user does, and return the editor it opened."""
    tab.view.setCurrentIndex(index)
    tab.view.setFocus()
    qtbot.keyClick(tab.view, key)
    editor = tab.view.indexWidget(index)
    assert editor is not None, f"{key!r} opened no editor"
    return editor


# The offscreen platform says these when the completer's list pops up; not about our code.
POPUP_NOISE = pytest.mark.qt_log_ignore(
    r"^This plugin does not support (propagateSizeHints\(\)|raise\(\)|grabbing the keyboard)$"
)

# Row 4 of the demo sheet: each column type, the key typed and what the editor then holds.
TYPED = [
    ("Row key", "x", "x"),  # single line of text
    ("Classification", "x", "x"),  # taxonomy, with completion
    ("Storage Location", "s", "s"),  # taxonomy
    ("Created time", "2", "2"),  # date and time
    ("Description", "x", "x"),  # several lines
    ("Page Count", "7", "7"),  # number
    ("Record Owner", "x", "x"),  # people
    ("Security Level", "p", "Public"),  # one choice: the option the letter starts
    ("Departments", "f", "Finance"),  # several choices: only the option the letter starts
]


@POPUP_NOISE
@pytest.mark.parametrize(("column", "key", "typed"), TYPED)
def test_typing_on_a_selected_cell_replaces_its_value(
    qtbot: QtBot, tab: RecordsTab, column: str, key: str, typed: str
) -> None:
    tab.show()
    qtbot.waitExposed(tab)
    index = cell(tab, 4, column)
    assert index.data(Qt.ItemDataRole.EditRole) not in ("", typed)
    editor = open_with_key(qtbot, tab, index, key)
    assert editor_text(editor) == typed


@pytest.mark.parametrize("column", [column for column, _, _ in TYPED])
def test_f2_edits_the_value_that_is_there(qtbot: QtBot, tab: RecordsTab, column: str) -> None:
    tab.show()
    qtbot.waitExposed(tab)
    index = cell(tab, 4, column)
    before = index.data(Qt.ItemDataRole.EditRole)
    editor = open_with_key(qtbot, tab, index, Qt.Key.Key_F2)
    if isinstance(editor, ChecklistEditor):  # ticked in the options' order
        assert sorted(editor_text(editor).split("; ")) == sorted(before.split("; "))
    else:
        assert editor_text(editor) == before
    if isinstance(editor, QPlainTextEdit):  # the cursor after the text, to add to it
        assert editor.textCursor().position() == len(before)


@pytest.mark.parametrize("column", ["Classification", "Description", "Created time"])
def test_a_double_click_edits_the_value_that_is_there(
    qtbot: QtBot, tab: RecordsTab, column: str
) -> None:
    tab.resize(1200, 700)
    tab.show()
    qtbot.waitExposed(tab)
    index = cell(tab, 4, column)
    tab.view.go_to(tab.proxy.mapToSource(index).row(), index.column())  # in sight
    spot = tab.view.visualRect(index).center()
    qtbot.mouseClick(tab.view.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    qtbot.mouseDClick(tab.view.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    editor = tab.view.indexWidget(index)
    assert editor is not None
    assert editor_text(editor) == index.data(Qt.ItemDataRole.EditRole)


@POPUP_NOISE
def test_a_typed_classification_replaces_the_old_one_in_the_grid(
    qtbot: QtBot, tab: RecordsTab
) -> None:
    tab.show()
    qtbot.waitExposed(tab)
    index = cell(tab, 4, "Classification")
    editor = open_with_key(qtbot, tab, index, "R")
    qtbot.keyClicks(editor, "ecords/Legal/Contracts")
    with qtbot.waitSignal(tab.delegate.closeEditor):
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert index.data() == "Records/Legal/Contracts"
    assert index.data(PROBLEM_ROLE) is None


@POPUP_NOISE
def test_a_click_on_the_grid_while_terms_are_offered_is_not_lost(
    qtbot: QtBot, tab: RecordsTab
) -> None:
    tab.resize(1200, 700)
    tab.show()
    qtbot.waitExposed(tab)
    index = cell(tab, 4, "Classification")
    editor = open_with_key(qtbot, tab, index, "l")
    qtbot.keyClicks(editor, "eg")
    assert isinstance(editor, QComboBox)
    completer = editor.completer()
    assert completer is not None
    popup = completer.popup()
    qtbot.waitUntil(popup.isVisible)
    # A click on another cell, delivered as the window system does: while the list is
    # shown, Qt gives every click to it.
    target = cell(tab, 12, "Row key")
    spot = tab.view.viewport().mapTo(tab.window(), tab.view.visualRect(target).center())
    window = tab.window().windowHandle()
    QTest.mouseClick(window, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, spot)
    qtbot.waitUntil(lambda: tab.view.currentIndex() == target, timeout=2000)
    assert not popup.isVisible()
    assert tab.view.indexWidget(index) is None  # the editor closed, keeping what was typed
    assert index.data() == "leg"


def test_the_typing_hint_leaves_the_status_bar_once_the_text_is_valid_or_the_editor_closes(
    qtbot: QtBot, tab: RecordsTab
) -> None:
    bar = QStatusBar()  # wired as the main window wires it
    qtbot.addWidget(bar)
    tab.status_message.connect(lambda text: bar.showMessage(text, 8000))
    tab.show()
    qtbot.waitExposed(tab)
    index = cell(tab, 4, "Created time")
    hint = "'2021-02-28 09:30:0' is not a date in the format yyyy-MM-dd HH:mm:ss"

    editor = open_with_key(qtbot, tab, index, "2")
    qtbot.keyClicks(editor, "021-02-28 09:30:0")
    assert bar.currentMessage().startswith(hint)
    qtbot.keyClick(editor, "0")  # valid now
    assert bar.currentMessage() == ""
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    assert bar.currentMessage().startswith(hint)
    qtbot.keyClick(editor, "5")
    with qtbot.waitSignal(tab.delegate.closeEditor):
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert index.data() == "2021-02-28 09:30:05"
    assert bar.currentMessage() == ""

    editor = open_with_key(qtbot, tab, index, "x")  # left with Escape: the hint goes too
    assert bar.currentMessage().startswith("'x' is not a date")
    with qtbot.waitSignal(tab.delegate.closeEditor):
        qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert bar.currentMessage() == ""
    assert index.data() == "2021-02-28 09:30:05"

    editor = open_with_key(qtbot, tab, index, "x")  # a later message is not wiped out
    tab.status_message.emit("Copied 1 cell.")
    with qtbot.waitSignal(tab.delegate.closeEditor):
        qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert bar.currentMessage() == "Copied 1 cell."
