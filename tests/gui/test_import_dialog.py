"""The import dialog end to end: a sheet the test writes, the mapping edited, the rows in."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QStyleOptionViewItem
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.gui.importer.dialog import ImportDialog
from opus_desktop.gui.importer.mapping_model import MappingModel, ValueMapModel
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.profiles import Profile, find_profile
from opus_desktop.usecases.importing import LoadedSheet
from tests.helpers.editor import demo_profile
from tests.helpers.workbooks import write_workbook

HEADERS = ["Ref", "Title", "Created", "Modified", "Level", "Dept", "Notes"]
ROWS = [
    ["R-1", "Contract A.pdf", datetime(2024, 1, 2, 9), datetime(2024, 1, 3, 10), "Conf",
     "Legal", "box 4"],
    ["R-2", "Invoice B.pdf", datetime(2024, 2, 2, 9), datetime(2024, 2, 3, 10), "Pub",
     "Finance; Ops", "box 5"],
    ["R-3", "Minutes C.docx", datetime(2024, 3, 2, 9), datetime(2024, 3, 3, 10), "Public",
     "Ops", None],
]  # fmt: skip


@pytest.fixture
def profile() -> Profile:
    return demo_profile()


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.join()


@pytest.fixture
def tab(qtbot: QtBot, runner: TaskRunner, profile: Profile) -> RecordsTab:
    tab = RecordsTab(runner)
    qtbot.addWidget(tab)
    tab.set_profile(profile)
    return tab


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    return write_workbook(
        tmp_path / "register.xlsx",
        {
            "Notes": [["Nothing to import here"]],
            "Register": [["Export of the register"], [], HEADERS, *ROWS],
        },
    )


def open_dialog(qtbot: QtBot, tab: RecordsTab, path: Path) -> ImportDialog:
    dialog = tab.show_import_dialog(path)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.inspection is not None and dialog.task is None)
    return dialog


def test_models_of_the_dialog_pass_the_model_tester(
    qtbot: QtBot, tab: RecordsTab, sheet: Path, qtmodeltester: ModelTester
) -> None:
    dialog = open_dialog(qtbot, tab, sheet)
    qtmodeltester.check(dialog.preview)
    qtmodeltester.check(dialog.mapping)
    dialog.mapping_view.selectRow(dialog.mapping.row_of("_Security_%20_Level"))
    dialog.mapping.set_source("_Security_%20_Level", "Level")
    qtmodeltester.check(dialog.values)


def test_the_sheet_is_previewed_and_headers_matched_by_name(
    qtbot: QtBot, tab: RecordsTab, sheet: Path
) -> None:
    dialog = open_dialog(qtbot, tab, sheet)
    data = dialog.inspection.data  # type: ignore[union-attr]
    assert (data.sheet, data.header_row) == ("Register", 3)  # the first sheet has no table
    assert dialog.sheet_combo.currentText() == "Register"
    assert dialog.header_spin.value() == 3
    assert dialog.preview.rowCount() == 3
    assert dialog.preview.headerData(0, Qt.Orientation.Vertical) == "4"  # Excel's numbering
    mapping = dialog.mapping
    assert mapping.sources == {"leafName": "Title", "timeCreated": "Created",
                               "timeModified": "Modified"}  # fmt: skip
    assert [c.internal_name for c in mapping.missing()] == ["rowKey"]
    assert mapping.unmatched() == ["Ref", "Level", "Dept", "Notes"]
    key_row = mapping.index(mapping.row_of("rowKey"), MappingModel.COLUMN)
    assert key_row.data(Qt.ItemDataRole.BackgroundRole) is not None  # highlighted
    assert "Row key" in dialog.missing_label.text()
    assert "Ref, Level, Dept, Notes" in dialog.unmatched_label.text()


def test_import_with_an_edited_mapping_fills_the_editor(
    qtbot: QtBot, tab: RecordsTab, sheet: Path, profile: Profile
) -> None:
    dialog = open_dialog(qtbot, tab, sheet)
    mapping = dialog.mapping
    # The row key's source, chosen in its combo box as a user would.
    index = mapping.index(mapping.row_of("rowKey"), MappingModel.SOURCE)
    editor = dialog.source_delegate.createEditor(
        dialog.mapping_view.viewport(), QStyleOptionViewItem(), index
    )
    assert isinstance(editor, QComboBox)
    dialog.source_delegate.setEditorData(editor, index)
    assert editor.currentText() == "(none)"
    editor.setCurrentIndex(editor.findText("Ref"))
    dialog.source_delegate.setModelData(editor, mapping, index)
    assert mapping.sources["rowKey"] == "Ref" and not mapping.missing()
    mapping.set_source("_Security_%20_Level", "Level")
    mapping.set_source("_Departments", "Dept")
    # A constant for every row.
    constant = mapping.index(mapping.row_of("createdBy"), MappingModel.CONSTANT)
    assert mapping.setData(constant, "records.team@contoso.example")
    # Value maps: the sheet's short labels become options.
    dialog.mapping_view.selectRow(mapping.row_of("_Security_%20_Level"))
    values = dialog.values
    assert values.labels == ["Conf", "Pub", "Public"]
    notes = [values.index(r, ValueMapModel.NOTE).data() for r in range(3)]
    assert notes == ["not an option", "not an option", "already an option"]
    assert values.setData(values.index(0, ValueMapModel.OPTION), "Confidential")
    assert values.setData(values.index(1, ValueMapModel.OPTION), "Public")
    assert not values.setData(values.index(1, ValueMapModel.OPTION), "Top secret")
    dialog.mapping_view.selectRow(mapping.row_of("_Departments"))
    assert dialog.values.labels == ["Finance", "Legal", "Ops"]
    dialog.values.setData(dialog.values.index(2, ValueMapModel.OPTION), "Operations")
    dialog.save_check.setChecked(True)

    with qtbot.waitSignal(dialog.loaded, timeout=10_000) as blocker:
        dialog.import_button.click()
    loaded = blocker.args[0]
    assert isinstance(loaded, LoadedSheet) and not loaded.cancelled
    model = tab.model
    assert model.rowCount() == 3 and model.invalid_rows == 0
    payloads = [model.payload(p) for p in range(3)]
    assert [p["rowKey"] for p in payloads] == ["R-1", "R-2", "R-3"]
    assert [p["_Security_%20_Level"] for p in payloads] == [3, 1, 1]
    assert [p["_Departments"] for p in payloads] == [[3], [1, 4], [4]]
    assert {p["createdBy"] for p in payloads} == {"records.team@contoso.example"}
    assert payloads[0]["timeCreated"] == "2024-01-02 09:00:00"
    assert tab.model.text(0, 12) == "Confidential"  # shown as the label, sent as 3
    saved = find_profile(profile.name).mapping
    assert saved == {
        "columns": {"Ref": "rowKey", "Title": "leafName", "Created": "timeCreated",
                    "Modified": "timeModified", "Level": "_Security_%20_Level",
                    "Dept": "_Departments"},
        "constants": {"createdBy": "records.team@contoso.example"},
        "values": {"_Security_%20_Level": {"Conf": 3, "Pub": 1}, "_Departments": {"Ops": 4}},
    }  # fmt: skip
    qtbot.waitUntil(lambda: not dialog.isVisible())

    # The next sheet opened without the dialog uses the saved mapping.
    tab.model.undo_stack.setClean()
    tab.open_sheet(sheet)
    qtbot.waitUntil(lambda: not tab.tasks.busy, timeout=10_000)
    assert tab.model.rowCount() == 3 and tab.model.invalid_rows == 0


def test_header_row_and_sheet_can_be_changed(qtbot: QtBot, tab: RecordsTab, sheet: Path) -> None:
    dialog = open_dialog(qtbot, tab, sheet)
    dialog.header_spin.setValue(4)  # the first data row taken for headers
    qtbot.waitUntil(lambda: dialog.inspection.data.header_row == 4, timeout=5_000)  # type: ignore[union-attr]
    assert dialog.preview.headers[0] == "R-1"
    assert dialog.preview.rowCount() == 2
    assert [c.internal_name for c in dialog.mapping.missing()] == ["rowKey", "leafName",
            "timeCreated", "timeModified"]  # fmt: skip
    dialog.sheet_combo.setCurrentText("Notes")
    qtbot.waitUntil(lambda: dialog.task is None, timeout=5_000)
    assert "Notes" in dialog.problem.text() and "header" in dialog.problem.text()
    assert not dialog.import_button.isEnabled()  # the sheet refused is not imported


def test_cancel_stops_the_import_and_changes_nothing(
    qtbot: QtBot, tab: RecordsTab, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Row key", "Name", "Created time", "Modified time"])
        for n in range(40_000):
            writer.writerow([f"K-{n}", f"Doc {n}.pdf", "2024-01-02 09:00:00", "2024-01-03"])
    dialog = open_dialog(qtbot, tab, path)
    assert not dialog.mapping.missing()
    emitted: list[object] = []
    dialog.loaded.connect(emitted.append)
    dialog.import_button.click()
    assert dialog.task is not None and dialog.cancel_button.text() == "Stop"
    # At once, while the worker still parses the file: it stops at its first check.
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=20_000)
    assert "cancelled" in dialog.status.text()
    assert dialog.isVisible() and emitted == []
    assert tab.model.rowCount() == 0
    dialog.cancel()  # nothing running: now it closes
    assert not dialog.isVisible()


def test_open_sheet_asks_for_a_mapping_only_when_required_columns_are_unfed(
    qtbot: QtBot, tab: RecordsTab, sheet: Path
) -> None:
    tab.open_sheet(sheet)
    qtbot.waitUntil(lambda: tab.findChild(ImportDialog) is not None, timeout=10_000)
    dialog = tab.findChild(ImportDialog)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.inspection is not None and dialog.task is None)
    assert [c.internal_name for c in dialog.mapping.missing()] == ["rowKey"]
    assert tab.model.rowCount() == 0
    dialog.reject()


def test_a_header_feeds_one_column_and_a_constant_replaces_a_header(
    qtbot: QtBot, tab: RecordsTab, sheet: Path
) -> None:
    dialog = open_dialog(qtbot, tab, sheet)
    mapping = dialog.mapping
    mapping.set_source("leafName", "Created")  # taken from Created time
    assert mapping.sources["leafName"] == "Created"
    assert "timeCreated" not in mapping.sources
    assert [c.internal_name for c in mapping.missing()] == ["rowKey", "timeCreated"]
    mapping.set_constant("timeCreated", "2024-01-01 00:00:00")
    mapping.set_source("rowKey", "Ref")
    assert not mapping.missing()
    mapping.set_source("timeCreated", "Modified")  # a header again: the constant goes
    assert "timeCreated" not in mapping.constants
    assert "timeModified" not in mapping.sources
    assert not mapping.setData(mapping.index(0, MappingModel.SOURCE), "No such header")
    assert mapping.mapping().columns == {
        "Ref": "rowKey", "Created": "leafName", "Modified": "timeCreated"
    }  # fmt: skip
    assert "Title" in dialog.unmatched_label.text()
