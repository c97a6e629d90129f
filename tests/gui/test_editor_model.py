"""The records model: contents, validation marks, duplicate keys, undo, sort and filter."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPersistentModelIndex, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from opus_desktop.gui.editor.filters import AllRows, RecordsFilter, RowFilter
from opus_desktop.gui.editor.model import PROBLEM_ROLE, STATUS_COLUMN, RecordsModel
from opus_desktop.gui.editor.problems import ProblemsModel
from opus_desktop.profiles import Profile
from opus_desktop.usecases.importing import ImportRequest, load_records
from opus_desktop.usecases.rows import FAILED, PENDING, STORED, ColumnSet
from tests.helpers.editor import DEMO_PLANTED, DEMO_SHEET, demo_profile, sandbox_profile


@pytest.fixture
def profile() -> Profile:
    return demo_profile()


@pytest.fixture
def model(profile: Profile, qapp: QApplication) -> RecordsModel:
    loaded = load_records(ImportRequest(DEMO_SHEET, profile.template(), profile.value_settings()))
    records = RecordsModel()
    records.load(loaded.columns, loaded.rows, loaded.keys, loaded.source.sheet)
    return records


def column_of(model: RecordsModel, display_name: str) -> int:
    for column in range(model.columnCount()):
        if model.headerData(column, Qt.Orientation.Horizontal) == display_name:
            return column
    raise KeyError(display_name)


def position_of_excel_row(model: RecordsModel, excel_row: int) -> int:
    for position, row in enumerate(model.rows()):
        if row.source == excel_row:
            return position
    raise KeyError(excel_row)


def invalid_cells(model: RecordsModel) -> dict[int, str]:
    """Excel row -> column display name of every cell with a problem."""
    found: dict[int, str] = {}
    for position in range(model.rowCount()):
        for column in range(1, model.columnCount()):
            if model.index(position, column).data(PROBLEM_ROLE):
                source = model.row_at(position).source
                assert source is not None and source not in found
                found[source] = model.headerData(column, Qt.Orientation.Horizontal)
    return found


def snapshot(model: RecordsModel) -> list[list[object]]:
    return [
        [model.index(r, c).data(Qt.ItemDataRole.EditRole) for c in range(model.columnCount())]
        + [model.index(r, c).data(PROBLEM_ROLE) for c in range(1, model.columnCount())]
        for r in range(model.rowCount())
    ]


def test_models_pass_the_model_tester(model: RecordsModel, qtmodeltester: ModelTester) -> None:
    qtmodeltester.check(model)
    problems = ProblemsModel(model)
    problems.refresh()
    assert problems.rowCount() == 6
    qtmodeltester.check(problems)
    qtmodeltester.check(AllRows(model))
    proxy = RecordsFilter(model)
    for mode in (RowFilter.INVALID, RowFilter.UNSENT, RowFilter.FAILED):
        proxy.show(mode)
        qtmodeltester.check(proxy)


def test_the_model_tester_follows_edits_and_row_changes(
    profile: Profile, qapp: QApplication, qtmodeltester: ModelTester
) -> None:
    # Python's tester re-reads every cell after each change: a dozen rows are enough.
    loaded = load_records(ImportRequest(DEMO_SHEET, profile.template(), profile.value_settings()))
    model = RecordsModel()
    model.load(loaded.columns, loaded.rows[:12])
    qtmodeltester.check(model, force_py=True)
    name = column_of(model, "Name")
    model.setData(model.index(3, name), "Renamed.pdf")
    model.insert_rows(2, [{name: "New row.pdf"}])
    model.duplicate_rows([0, 5])
    model.remove_rows([1, 7, 8])
    model.sort(column_of(model, "Page Count"), Qt.SortOrder.DescendingOrder)
    model.undo_stack.undo()
    model.undo_stack.undo()


def test_demo_sheet_with_the_sandbox_profile_shows_the_six_planted_mistakes(
    tmp_path: Path, qapp: QApplication
) -> None:
    profile = sandbox_profile(tmp_path / "sandbox")
    loaded = load_records(ImportRequest(DEMO_SHEET, profile.template(), profile.value_settings()))
    model = RecordsModel()
    model.load(loaded.columns, loaded.rows, loaded.keys, loaded.source.sheet)
    assert model.rowCount() == 200
    assert invalid_cells(model) == DEMO_PLANTED
    assert (model.invalid_rows, model.problem_count) == (6, 6)


def test_cells_show_what_will_be_sent(model: RecordsModel) -> None:
    position = position_of_excel_row(model, 4)
    assert model.headerData(position, Qt.Orientation.Vertical) == "4"
    text = {
        model.headerData(c, Qt.Orientation.Horizontal): model.index(position, c).data()
        for c in range(model.columnCount())
    }
    assert text["Status"] == ""
    assert text["Created time"] == "2020-04-20 10:07:00"  # a text cell, as the profile writes it
    assert text["Date Received"] == "2020-04-20 00:00:00"  # an Excel date
    assert text["Security Level"] == "Secret"  # the label; its number is in the tooltip
    assert text["Departments"] == "Operations; Legal"
    assert text["Page Count"] == "25"
    level = model.index(position, column_of(model, "Security Level"))
    assert level.data(Qt.ItemDataRole.ToolTipRole) == "Sent as 4"
    assert model.payload(position)["_Security_%20_Level"] == 4
    assert model.payload(position)["_Departments"] == [4, 3]


def test_invalid_cells_are_marked_by_colour_icon_and_tooltip(model: RecordsModel) -> None:
    position = position_of_excel_row(model, 73)
    bad = model.index(position, column_of(model, "Page Count"))
    good = model.index(position, column_of(model, "Name"))
    assert bad.data() == "twelve"  # what the user typed, not a blank
    assert bad.data(Qt.ItemDataRole.BackgroundRole) is not None
    assert bad.data(Qt.ItemDataRole.DecorationRole) is not None
    assert bad.data(Qt.ItemDataRole.ToolTipRole) == "'twelve' is not a number."
    assert good.data(Qt.ItemDataRole.BackgroundRole) is None
    assert good.data(Qt.ItemDataRole.DecorationRole) is None
    header = model.headerData(
        column_of(model, "Name"), Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole
    )
    assert "leafName" in header and "SingleText" in header and "Required" in header


def test_fixing_the_bad_date_clears_its_mark_and_undo_brings_it_back(
    model: RecordsModel, qtbot: QtBot
) -> None:
    problems = ProblemsModel(model)
    problems.refresh()
    position = position_of_excel_row(model, 9)
    cell = model.index(position, column_of(model, "Created time"))
    before = snapshot(model)
    with qtbot.waitSignal(model.dataChanged):
        assert model.setData(cell, "03/02/2021 09:30:00") is True
    # Still refused: 3 February or 2 March, and nothing says which.
    assert "could be 3 February 2021 or 2 March 2021" in cell.data(PROBLEM_ROLE)
    model.setData(cell, "2021-02-28 9:30")
    assert cell.data(PROBLEM_ROLE) is None
    assert cell.data() == "2021-02-28 09:30:00"  # shown exactly as it will be sent
    assert (model.invalid_rows, model.problem_count) == (5, 5)
    qtbot.waitUntil(lambda: problems.rowCount() == 5)
    assert 9 not in invalid_cells(model)
    model.undo_stack.undo()
    model.undo_stack.undo()
    assert snapshot(model) == before
    assert (model.invalid_rows, model.problem_count) == (6, 6)
    qtbot.waitUntil(lambda: problems.rowCount() == 6)
    model.undo_stack.redo()
    model.undo_stack.redo()
    assert cell.data() == "2021-02-28 09:30:00"


def test_setting_the_same_text_is_not_an_edit(model: RecordsModel) -> None:
    cell = model.index(0, column_of(model, "Name"))
    model.setData(cell, cell.data(Qt.ItemDataRole.EditRole))
    assert model.undo_stack.count() == 0


def test_duplicate_row_keys_are_marked_and_cleared(model: RecordsModel) -> None:
    key = column_of(model, "Row key")
    first, second = position_of_excel_row(model, 4), position_of_excel_row(model, 5)
    first_key = model.index(first, key).data()
    model.setData(model.index(second, key), first_key)
    assert model.index(second, key).data(PROBLEM_ROLE) == (
        f"The row key '{first_key}' is also used on row 4."
    )
    assert model.index(first, key).data(PROBLEM_ROLE) is None
    assert model.invalid_rows == 7
    # The first row takes another key: the second is the only one left with it.
    model.setData(model.index(first, key), "REG-NEW-1")
    assert model.index(second, key).data(PROBLEM_ROLE) is None
    assert model.invalid_rows == 6
    model.undo_stack.undo()
    assert model.index(second, key).data(PROBLEM_ROLE) is not None
    # Deleting the first row frees the key as well, and undo marks the second again.
    model.remove_rows([first])
    moved = position_of_excel_row(model, 5)
    assert model.index(moved, key).data(PROBLEM_ROLE) is None
    model.undo_stack.undo()
    assert model.index(position_of_excel_row(model, 5), key).data(PROBLEM_ROLE) is not None
    assert model.invalid_rows == 7


def test_duplicated_rows_repeat_the_key_until_given_their_own(model: RecordsModel) -> None:
    key = column_of(model, "Row key")
    copies = model.duplicate_rows([0, 1])
    assert model.rowCount() == 202
    positions = [model.position_of(copy) for copy in copies]
    assert positions == [2, 3]
    assert model.headerData(2, Qt.Orientation.Vertical) == "new"
    assert all(model.index(p, key).data(PROBLEM_ROLE) for p in (2, 3))
    model.setData(model.index(2, key), "REG-COPY-1")
    assert model.index(2, key).data(PROBLEM_ROLE) is None
    model.undo_stack.undo()
    model.undo_stack.undo()
    assert model.rowCount() == 200
    assert model.invalid_rows == 6


def test_new_rows_say_which_required_cells_they_need(model: RecordsModel) -> None:
    (row,) = model.insert_rows(0, [{column_of(model, "Name"): "Memo.docx"}])
    assert model.position_of(row) == 0
    problems = dict(model.row_problems(0))
    names = {model.columns.columns[at].display_name for at in problems}  # type: ignore[union-attr]
    assert names == {"Row key", "Created time", "Modified time"}
    assert model.index(0, column_of(model, "Name")).data() == "Memo.docx"
    model.undo_stack.undo()
    assert model.rowCount() == 200 and model.invalid_rows == 6


def test_filters_show_exactly_the_rows_asked_for(model: RecordsModel) -> None:
    proxy = RecordsFilter(model)
    proxy.show(RowFilter.INVALID)
    shown = {
        model.row_at(proxy.mapToSource(proxy.index(r, 0)).row()).source
        for r in range(proxy.rowCount())
    }
    assert shown == set(DEMO_PLANTED)
    # Fixing a row takes it out of the Invalid view.
    position = position_of_excel_row(model, 73)
    model.setData(model.index(position, column_of(model, "Page Count")), "12")
    assert proxy.rowCount() == 5

    keys = [model.index(p, column_of(model, "Row key")).data() for p in range(3)]
    model.set_row_status(keys[0], STORED, "Stored")
    model.set_row_status(keys[1], FAILED, "The classification does not exist.")
    proxy.show(RowFilter.FAILED)
    assert proxy.rowCount() == 1
    assert proxy.index(0, STATUS_COLUMN).data() == "Failed"
    assert proxy.index(0, STATUS_COLUMN).data(Qt.ItemDataRole.ToolTipRole) == (
        "The classification does not exist."
    )
    proxy.show(RowFilter.UNSENT)
    assert proxy.rowCount() == 198
    assert AllRows(model).rowCount() == 200


def test_editing_a_sent_row_makes_it_pending_and_undo_restores_its_status(
    model: RecordsModel,
) -> None:
    key = model.index(0, column_of(model, "Row key")).data()
    assert model.set_row_status(key, STORED, "Stored") == 1
    model.setData(model.index(0, column_of(model, "Name")), "Other name.pdf")
    assert model.row_at(0).status == PENDING
    model.undo_stack.undo()
    assert (model.row_at(0).status, model.row_at(0).message) == (STORED, "Stored")
    with pytest.raises(ValueError):
        model.set_row_status(key, "lost")


def test_sorting_keeps_types_in_order_and_the_selection_on_its_row(model: RecordsModel) -> None:
    pages = column_of(model, "Page Count")
    held = QPersistentModelIndex(model.index(position_of_excel_row(model, 30), pages))
    held_value = held.data()
    model.sort(pages, Qt.SortOrder.AscendingOrder)
    numbers = [model.row_at(p).values[pages - 1] for p in range(model.rowCount())]
    assert numbers[:-1] == sorted(numbers[:-1])  # numbers as numbers: 9 before 10
    assert model.index(model.rowCount() - 1, pages).data() == "twelve"  # invalid after valid
    assert model.row_at(held.row()).source == 30 and held.data() == held_value
    level = column_of(model, "Security Level")
    model.sort(level, Qt.SortOrder.AscendingOrder)
    labels = [model.index(p, level).data() for p in range(model.rowCount())]
    order = ["Public", "Internal", "Confidential", "Secret"]
    assert [label for label in labels if label in order] == sorted(
        (label for label in labels if label in order), key=order.index
    )
    created = column_of(model, "Created time")
    model.sort(created, Qt.SortOrder.DescendingOrder)
    times = [model.index(p, created).data() for p in range(model.rowCount())]
    # Descending reverses everything: the refused cell comes first, then the latest time.
    assert times[0] == "31/02/2021 09:30:00"
    assert times[1:] == sorted(times[1:], reverse=True)


def test_records_for_a_submit_carry_values_and_problems(model: RecordsModel) -> None:
    records = model.records()
    assert len(records) == 200
    bad = [r for r in records if r.problems]
    assert sorted(r.row for r in bad) == sorted(DEMO_PLANTED)
    assert len(model.records(valid_only=True)) == 194
    assert records[0].payload()["rowKey"] == model.index(0, 1).data()


def test_new_settings_recheck_rows_through_the_column_set(
    profile: Profile, qapp: QApplication
) -> None:
    from opus_desktop.usecases.rows import recheck_rows

    loaded = load_records(ImportRequest(DEMO_SHEET, profile.template(), profile.value_settings()))
    choices = dict(profile.choices)
    choices["_Security_%20_Level"] = {**choices["_Security_%20_Level"], "Top secret": 5}
    profile.choices = choices
    profile.date_format = "dd-MM-yyyy HH:mm:ss"
    new = ColumnSet(profile.template(), profile.value_settings())
    fresh = recheck_rows(loaded.rows, loaded.columns, new, lambda: False)
    assert fresh is not None
    model = RecordsModel()
    model.load(new, fresh)
    assert invalid_cells(model) == {r: c for r, c in DEMO_PLANTED.items() if r != 28}
    created = column_of(model, "Created time")
    assert model.index(position_of_excel_row(model, 4), created).data() == "20-04-2020 10:07:00"
