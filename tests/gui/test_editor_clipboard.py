"""Copy, paste, clear and fill down in the grid, each one undo step."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from opus_desktop.gui.editor.clipboard import from_text, to_text
from opus_desktop.gui.editor.model import PROBLEM_ROLE
from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.usecases.importing import ImportRequest, load_records
from tests.helpers.editor import DEMO_SHEET, demo_profile

NAME, CLASSIFICATION, CREATED = 2, 3, 4  # grid columns (0 is Status)
PAGES, LEVEL = 11, 12


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


def grid(tab: RecordsTab) -> list[list[str]]:
    model = tab.model
    return [[model.text(r, c) for c in range(model.columnCount())] for r in range(model.rowCount())]


def select(tab: RecordsTab, top: int, left: int, bottom: int, right: int) -> None:
    proxy = tab.proxy
    selection = QItemSelection(proxy.index(top, left), proxy.index(bottom, right))
    model = tab.view.selectionModel()
    model.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    model.setCurrentIndex(proxy.index(top, left), QItemSelectionModel.SelectionFlag.NoUpdate)


def test_excel_text_round_trips_tabs_quotes_and_line_breaks() -> None:
    block = [["plain", "two\nlines"], ['say "hi"', "a\tb"], ["", "last"]]
    text = to_text(block)
    assert text == 'plain\t"two\nlines"\r\n"say ""hi"""\t"a\tb"\r\n\tlast\r\n'
    assert from_text(text) == block
    assert from_text("1\t2\n3\n") == [["1", "2"], ["3", ""]]  # ragged rows padded
    assert from_text("\r\n") == [[""]]
    assert from_text("") == []


def test_paste_of_a_three_by_two_block_is_one_undo_step(tab: RecordsTab) -> None:
    before = grid(tab)
    select(tab, 10, NAME, 10, NAME)
    pasted = tab.view.paste_text(
        "A.pdf\tRecords/Legal/Contracts\r\nB.pdf\tRecords/Legal/Litigation\r\n"
        "C.pdf\tRecords/Nowhere\r\n"
    )
    assert pasted == 6
    after = grid(tab)
    assert [row[NAME : CLASSIFICATION + 1] for row in after[10:13]] == [
        ["A.pdf", "Records/Legal/Contracts"],
        ["B.pdf", "Records/Legal/Litigation"],
        ["C.pdf", "Records/Nowhere"],
    ]
    assert tab.model.index(12, CLASSIFICATION).data(PROBLEM_ROLE) is not None  # checked too
    assert after[:10] == before[:10] and after[13:] == before[13:]
    assert tab.model.undo_stack.count() == 1
    tab.model.undo_stack.undo()
    assert grid(tab) == before
    tab.model.undo_stack.redo()
    assert grid(tab) == after


def test_paste_beyond_the_last_row_appends_rows(tab: RecordsTab) -> None:
    before = grid(tab)
    select(tab, 199, 1, 199, 1)
    tab.view.paste_text("REG-X-1\tLast.pdf\r\nREG-X-2\tNew one.pdf\r\nREG-X-3\tNew two.pdf\r\n")
    model = tab.model
    assert model.rowCount() == 202
    assert [model.text(r, 1) for r in (199, 200, 201)] == ["REG-X-1", "REG-X-2", "REG-X-3"]
    assert [model.text(r, NAME) for r in (200, 201)] == ["New one.pdf", "New two.pdf"]
    assert model.headerData(201, Qt.Orientation.Vertical) == "new"
    # The new rows still need their required times, and say so.
    assert model.index(201, CREATED).data(PROBLEM_ROLE) == "A value is required."
    assert model.undo_stack.count() == 1
    model.undo_stack.undo()
    assert grid(tab) == before


def test_one_value_pasted_over_a_selection_fills_it(tab: RecordsTab) -> None:
    select(tab, 0, LEVEL, 4, LEVEL)
    tab.view.paste_text("Internal\r\n")
    assert [tab.model.text(r, LEVEL) for r in range(5)] == ["Internal"] * 5
    assert tab.model.payload(3)["_Security_%20_Level"] == 2


def test_paste_into_the_status_column_starts_at_the_first_column(tab: RecordsTab) -> None:
    select(tab, 0, 0, 0, 0)
    tab.view.paste_text("REG-NEW\r\n")
    assert tab.model.text(0, 1) == "REG-NEW" and tab.model.text(0, 0) == ""


def test_copy_writes_the_block_as_excel_does(tab: RecordsTab, qtbot: QtBot) -> None:
    model = tab.model
    description = 9
    model.setData(model.index(1, description), "first line\nsecond line")
    select(tab, 0, description - 1, 1, description)
    assert tab.view.copy()
    text = QGuiApplication.clipboard().text()
    expected = [[model.text(r, c) for c in (description - 1, description)] for r in (0, 1)]
    assert from_text(text) == expected
    assert '"first line\nsecond line"' in text


def test_copy_refuses_a_selection_that_is_not_a_rectangle(tab: RecordsTab) -> None:
    select(tab, 0, 1, 0, 1)
    tab.view.selectionModel().select(
        tab.proxy.index(2, 3), QItemSelectionModel.SelectionFlag.Select
    )
    messages: list[str] = []
    tab.view.message.connect(messages.append)
    assert not tab.view.copy()
    assert messages == ["Copy works on one rectangular block of cells."]


def test_cut_and_delete_empty_cells_and_undo_restores_them(tab: RecordsTab) -> None:
    before = grid(tab)
    select(tab, 0, NAME, 2, NAME)
    tab.view.cut()
    assert [tab.model.text(r, NAME) for r in range(3)] == ["", "", ""]
    assert tab.model.index(0, NAME).data(PROBLEM_ROLE) == "A value is required."
    assert from_text(QGuiApplication.clipboard().text()) == [[row[NAME]] for row in before[:3]]
    tab.model.undo_stack.undo()
    assert grid(tab) == before
    select(tab, 5, PAGES, 6, PAGES)
    tab.view.clear_cells()
    assert [tab.model.text(r, PAGES) for r in (5, 6)] == ["", ""]
    assert tab.model.index(5, PAGES).data(PROBLEM_ROLE) is None  # optional column
    tab.model.undo_stack.undo()
    assert grid(tab) == before


def test_fill_down_copies_the_top_cell_and_undoes_in_one_step(tab: RecordsTab) -> None:
    before = grid(tab)
    select(tab, 3, PAGES, 7, LEVEL)
    differing = sum(before[r][c] != before[3][c] for r in range(4, 8) for c in (PAGES, LEVEL))
    assert differing > 0
    assert tab.view.fill_down() == differing  # cells already equal are left alone
    after = grid(tab)
    for row in range(4, 8):
        assert after[row][PAGES] == before[3][PAGES]
        assert after[row][LEVEL] == before[3][LEVEL]
    assert after[8] == before[8]
    assert tab.model.undo_stack.count() == 1
    tab.model.undo_stack.undo()
    assert grid(tab) == before
    # A single selected cell takes the value above it.
    select(tab, 10, NAME, 10, NAME)
    tab.view.fill_down()
    assert tab.model.text(10, NAME) == before[9][NAME]


def test_row_commands_work_on_the_selection(tab: RecordsTab) -> None:
    before = grid(tab)
    select(tab, 4, 1, 5, 3)
    tab.view.duplicate_rows()
    assert tab.model.rowCount() == 202
    assert grid(tab)[6][1:] == before[4][1:] and grid(tab)[7][1:] == before[5][1:]
    select(tab, 6, 1, 7, 1)
    tab.view.delete_rows()
    assert grid(tab) == before
    tab.view.setCurrentIndex(tab.proxy.index(0, NAME))
    tab.view.add_row()
    assert tab.model.rowCount() == 201 and tab.model.text(1, 1) == ""
    assert tab.view.currentIndex().row() == 1
    for _ in range(3):
        tab.model.undo_stack.undo()
    assert grid(tab) == before


def test_shortcuts_reach_the_grid(tab: RecordsTab, qtbot: QtBot) -> None:
    with qtbot.waitActive(tab):
        tab.show()
        tab.activateWindow()
    tab.view.setFocus()
    select(tab, 0, NAME, 0, NAME)
    QGuiApplication.clipboard().setText("From the keyboard.pdf")
    qtbot.keyClick(tab.view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert tab.model.text(0, NAME) == "From the keyboard.pdf"
    qtbot.keyClick(tab.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert tab.model.text(0, NAME) != "From the keyboard.pdf"
    select(tab, 0, NAME, 1, NAME)
    qtbot.keyClick(tab.view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert tab.model.text(1, NAME) == tab.model.text(0, NAME)


def test_cell_shortcuts_act_only_in_the_grid(tab: RecordsTab, qtbot: QtBot) -> None:
    with qtbot.waitActive(tab):
        tab.show()
        tab.activateWindow()
    select(tab, 0, NAME, 0, NAME)
    before = tab.model.text(0, NAME)
    tab.problems.table.setFocus()
    qtbot.keyClick(tab.problems.table, Qt.Key.Key_Delete)
    assert tab.model.text(0, NAME) == before
    tab.view.setFocus()
    qtbot.keyClick(tab.view, Qt.Key.Key_Delete)
    assert tab.model.text(0, NAME) == ""
    tab.problems.table.setFocus()
    qtbot.keyClick(tab.problems.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert tab.model.text(0, NAME) == before  # undo works from anywhere in the tab


def test_a_fill_that_changes_nothing_leaves_no_undo_step(tab: RecordsTab) -> None:
    model = tab.model
    model.setData(model.index(1, NAME), model.text(0, NAME))
    model.undo_stack.setClean()
    select(tab, 0, NAME, 1, NAME)
    assert tab.view.fill_down() == 0
    assert model.undo_stack.count() == 1 and model.undo_stack.isClean()
