"""The editor's Modified-before-Created mark: a warning on the Modified time cell (its own
look, the sentence in the tooltip and the problems list), checked again when either time
is edited or undone, and a problem that makes the row invalid where the profile says so."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.modeltest import ModelTester

from opus_desktop.core.values import ValueSettings
from opus_desktop.gui.editor.looks import INVALID_COLOUR, WARNING_COLOUR
from opus_desktop.gui.editor.model import PROBLEM_ROLE, RecordsModel
from opus_desktop.gui.editor.problems import ProblemsModel, ProblemsPanel
from opus_desktop.usecases.importing import ImportRequest, load_records
from opus_desktop.usecases.rows import ColumnSet, recheck_rows
from tests.helpers.workbooks import demo_settings, demo_template, write_workbook

HEADERS = ["Row key", "Name", "Created time", "Modified time"]
BACKGROUND = Qt.ItemDataRole.BackgroundRole
TOOLTIP = Qt.ItemDataRole.ToolTipRole
DECORATION = Qt.ItemDataRole.DecorationRole


def sheet(path: Path) -> Path:
    """Row 3 (B) modified a day before it was created; A and C in order."""
    return write_workbook(
        path,
        {
            "Records": [
                HEADERS,
                ["A", "a.pdf", datetime(2024, 1, 1, 9), datetime(2024, 1, 2, 9)],
                ["B", "b.pdf", datetime(2024, 1, 2, 10), datetime(2024, 1, 1, 9)],
                ["C", "c.pdf", "2024-01-02 10:00:00", "2024-01-03 08:00:00"],
            ]
        },
    )


def grid(path: Path, settings: ValueSettings) -> RecordsModel:
    loaded = load_records(ImportRequest(sheet(path), demo_template(), settings))
    model = RecordsModel()
    model.load(loaded.columns, loaded.rows, loaded.keys, loaded.source.sheet, loaded.counts)
    return model


def column(model: RecordsModel, name: str) -> int:
    for at in range(model.columnCount()):
        if model.headerData(at, Qt.Orientation.Horizontal) == name:
            return at
    raise KeyError(name)


def position(model: RecordsModel, key: str) -> int:
    keys = [row.values[model.columns.key_index] for row in model.rows()]  # type: ignore[union-attr]
    return keys.index(key)


def warned_cells(model: RecordsModel) -> list[tuple[str, str]]:
    """(row key, column name) of every cell drawn with the warning tint."""
    found = []
    for r in range(model.rowCount()):
        for c in range(1, model.columnCount()):
            if model.index(r, c).data(BACKGROUND) == WARNING_COLOUR:
                key = model.row_at(r).values[model.columns.key_index]  # type: ignore[union-attr]
                found.append((str(key), model.headerData(c, Qt.Orientation.Horizontal)))
    return found


@pytest.fixture
def refusing() -> ValueSettings:
    return replace(demo_settings(), refuse_modified_before_created=True)


def test_the_modified_cell_is_warned_of_with_its_own_look(
    tmp_path: Path, qapp: QApplication, qtmodeltester: ModelTester
) -> None:
    model = grid(tmp_path / "t.xlsx", demo_settings())
    qtmodeltester.check(model)
    assert warned_cells(model) == [("B", "Modified time")]
    cell = model.index(position(model, "B"), column(model, "Modified time"))
    assert cell.data(PROBLEM_ROLE) is None and model.invalid_rows == 0
    assert cell.data(TOOLTIP).startswith("Warning: The Modified time 2024-01-01 09:00:00 is")
    assert not cell.data(DECORATION).isNull()
    assert WARNING_COLOUR != INVALID_COLOUR
    problems = ProblemsModel(model)
    problems.refresh()
    assert problems.rowCount() == 1 and problems.warnings == 1
    row, at, text, warning = problems.entry(0)
    assert (row.source, at + 1, warning) == (3, cell.column(), True)
    shown = problems.index(0, ProblemsModel.PROBLEM).data()
    assert shown == f"Warning: {text}" and "check the two" in text
    assert len(model.records(valid_only=True)) == 3  # a warning does not hold a row back


def test_editing_either_time_checks_the_row_again_and_undo_follows(
    tmp_path: Path, qapp: QApplication
) -> None:
    model = grid(tmp_path / "t.xlsx", demo_settings())
    created, modified = column(model, "Created time"), column(model, "Modified time")
    model.set_texts([(position(model, "A"), created, "2024-01-03 09:00:00")], "edit")
    assert sorted(warned_cells(model)) == [("A", "Modified time"), ("B", "Modified time")]
    tip = model.index(position(model, "A"), modified).data(TOOLTIP)
    assert "2024-01-02 09:00:00 is earlier than the Created time 2024-01-03 09:00:00" in tip
    model.set_texts([(position(model, "B"), modified, "2024-01-02 10:00:00")], "edit")
    assert warned_cells(model) == [("A", "Modified time")]  # the same second is in order
    model.undo_stack.undo()
    assert sorted(warned_cells(model)) == [("A", "Modified time"), ("B", "Modified time")]
    model.undo_stack.undo()
    assert warned_cells(model) == [("B", "Modified time")]
    model.undo_stack.redo()
    assert ("A", "Modified time") in warned_cells(model)
    # An unusable time is its own problem, never compared.
    model.set_texts([(position(model, "B"), modified, "soon")], "edit")
    cell = model.index(position(model, "B"), modified)
    assert cell.data(BACKGROUND) == INVALID_COLOUR and "is earlier" not in cell.data(PROBLEM_ROLE)


def test_a_refusing_profile_makes_it_a_problem_the_edit_clears(
    tmp_path: Path, qapp: QApplication, refusing: ValueSettings
) -> None:
    model = grid(tmp_path / "t.xlsx", refusing)
    created, modified = column(model, "Created time"), column(model, "Modified time")
    b = position(model, "B")
    cell = model.index(b, modified)
    assert model.invalid_rows == 1 and model.problem_count == 1 and warned_cells(model) == []
    assert cell.data(BACKGROUND) == INVALID_COLOUR
    assert "the profile refuses a record modified first" in cell.data(PROBLEM_ROLE)
    assert cell.data(Qt.ItemDataRole.EditRole) == "2024-01-01 09:00:00"
    assert [r.values["rowKey"] for r in model.records(valid_only=True)] == ["A", "C"]
    model.set_texts([(b, created, "2024-01-01 08:00:00")], "edit")
    assert model.invalid_rows == 0 and model.problem_count == 0
    assert model.index(b, modified).data(PROBLEM_ROLE) is None
    sent = {r.values["rowKey"]: r.values for r in model.records(valid_only=True)}
    assert sent["B"]["timeModified"] == "2024-01-01 09:00:00"  # the converted value, not a cell
    model.undo_stack.undo()
    assert model.invalid_rows == 1 and model.index(b, modified).data(PROBLEM_ROLE)
    # A new row typed out of order is refused too.
    model.insert_rows(
        model.rowCount(), [{1: "D", 2: "d.pdf", created: "2024-02-02", modified: "2024-02-01"}]
    )
    assert model.invalid_rows == 2


def test_new_settings_turn_the_warning_into_a_problem_and_back(
    tmp_path: Path, qapp: QApplication, refusing: ValueSettings
) -> None:
    model = grid(tmp_path / "t.xlsx", demo_settings())
    old = model.columns
    assert old is not None
    strict = ColumnSet(demo_template(), refusing)
    fresh = recheck_rows(model.rows(), old, strict, lambda: False)
    assert fresh is not None
    model.load(strict, fresh)
    assert model.invalid_rows == 1 and warned_cells(model) == []
    back = ColumnSet(demo_template(), demo_settings())
    again = recheck_rows(model.rows(), strict, back, lambda: False)
    assert again is not None
    model.load(back, again)
    assert model.invalid_rows == 0 and warned_cells(model) == [("B", "Modified time")]


def test_the_problems_title_counts_warnings_apart(tmp_path: Path, qapp: QApplication) -> None:
    model = grid(tmp_path / "t.xlsx", demo_settings())
    panel = ProblemsPanel(model)
    panel.model.refresh()
    assert panel.title.text().startswith("No problems: every row can be sent; 1 warning")
    model.set_texts([(position(model, "A"), column(model, "Name"), "")], "edit")
    panel.model.refresh()
    assert panel.title.text().startswith("1 problem in 1 row, 1 warning")
