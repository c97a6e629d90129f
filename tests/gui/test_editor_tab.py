"""The Records tab as the main window uses it: profile, sheet, problems, filter, find,
preview, export, and the rows checked again when the profile's settings change."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from opus_desktop.core.sheets import read_sheet
from opus_desktop.gui.editor.filters import RowFilter
from opus_desktop.gui.editor.model import PROBLEM_ROLE
from opus_desktop.gui.editor.preview import payload_json, preview_text
from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.profiles import Profile
from tests.helpers.editor import DEMO_PLANTED, DEMO_SHEET, demo_profile, sandbox_profile


@pytest.fixture
def runner() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.join()


@pytest.fixture
def tab(qtbot: QtBot, runner: TaskRunner) -> RecordsTab:
    tab = RecordsTab(runner)
    qtbot.addWidget(tab)
    tab.resize(1200, 700)
    return tab


def open_demo(qtbot: QtBot, tab: RecordsTab, profile: Profile) -> None:
    tab.set_profile(profile)
    tab.open_sheet(DEMO_SHEET)
    qtbot.waitUntil(lambda: not tab.tasks.busy and tab.model.rowCount() > 0, timeout=10_000)


def test_demo_sheet_opens_with_the_sandbox_profile_and_six_problems(
    qtbot: QtBot, tab: RecordsTab, tmp_path: Path
) -> None:
    messages: list[str] = []
    tab.status_message.connect(messages.append)
    open_demo(qtbot, tab, sandbox_profile(tmp_path / "sandbox"))
    assert tab.model.rowCount() == 200
    assert tab.counts.text() == "200 rows · 6 invalid"
    qtbot.waitUntil(lambda: tab.problems.model.rowCount() == 6)
    rows = [tab.problems.model.index(r, 0).data() for r in range(6)]
    columns = [tab.problems.model.index(r, 1).data() for r in range(6)]
    assert dict(zip(map(int, rows), columns, strict=True)) == DEMO_PLANTED
    assert tab.problems.title.text().startswith("6 problems in 6 rows")
    assert messages[-1] == 'demo-records.xlsx, sheet "Register": 200 rows, 6 with problems.'


def test_empty_states_say_what_to_do(tab: RecordsTab) -> None:
    assert "choose or add one" in tab.view.placeholder
    tab.set_profile(demo_profile())
    assert tab.view.placeholder.startswith("No sheet yet")
    assert "Ctrl+O" in tab.view.placeholder
    assert tab.model.columnCount() == 16 and tab.model.rowCount() == 0
    assert tab.problems.title.text() == "Problems"


def test_clicking_a_problem_goes_to_its_cell_and_fixing_it_clears_the_list_entry(
    qtbot: QtBot, tab: RecordsTab
) -> None:
    open_demo(qtbot, tab, demo_profile())
    qtbot.waitUntil(lambda: tab.problems.model.rowCount() == 6)
    tab.set_filter(RowFilter.FAILED)  # hides every row: the jump shows all again
    entry = tab.problems.model.index(5, 0)
    tab.problems.table.clicked.emit(entry)
    current = tab.view.currentIndex()
    assert tab.filter_combo.currentData() is RowFilter.ALL
    assert tab.model.row_at(tab.proxy.mapToSource(current).row()).source == 73
    assert tab.model.headerData(current.column(), Qt.Orientation.Horizontal) == "Page Count"
    assert "'twelve' is not a number." in tab.preview.text.toPlainText()
    tab.proxy.setData(current, "12")
    qtbot.waitUntil(lambda: tab.problems.model.rowCount() == 5)
    assert tab.counts.text() == "200 rows · 5 invalid"
    assert '"_Page_%20_Count": 12' in tab.preview.text.toPlainText()


def test_the_invalid_filter_shows_exactly_the_invalid_rows(qtbot: QtBot, tab: RecordsTab) -> None:
    open_demo(qtbot, tab, demo_profile())
    tab.set_filter(RowFilter.INVALID)
    shown = [
        tab.model.row_at(tab.proxy.mapToSource(tab.proxy.index(r, 0)).row()).source
        for r in range(tab.proxy.rowCount())
    ]
    assert shown == sorted(DEMO_PLANTED)
    assert tab.counts.text() == "200 rows · 6 invalid · 6 shown"


def test_find_goes_through_the_grid_and_wraps(qtbot: QtBot, tab: RecordsTab) -> None:
    open_demo(qtbot, tab, demo_profile())
    tab.commands.find.trigger()
    bar = tab.find_bar
    assert bar.isVisibleTo(tab)
    bar.edit.setText("top SECRET")
    assert bar.find_next()
    found = tab.view.currentIndex()
    assert found.data() == "Top secret"
    bar.match_case.setChecked(True)
    assert not bar.find_next()
    assert bar.result.text() == "Not found."
    bar.match_case.setChecked(False)
    bar.edit.setText("Iron Mountain")
    first = bar.find_next() and tab.view.currentIndex().row()
    assert bar.find_next() and tab.view.currentIndex().row() > first  # type: ignore[operator]
    assert bar.find_previous() and tab.view.currentIndex().row() == first


def test_the_preview_shows_the_exact_json_and_what_blocks_a_row(
    qtbot: QtBot, tab: RecordsTab
) -> None:
    open_demo(qtbot, tab, demo_profile())
    model = tab.model
    text = preview_text(model, 0)
    body = text[text.index("{") : text.rindex("}") + 1]
    assert json.loads(body) == model.payload(0)
    assert payload_json(model.payload(0)) in text
    assert "Security Level: 4 = Secret" in text
    bad = next(p for p in range(200) if model.row_at(p).source == 9)
    text = preview_text(model, bad)
    assert text.startswith("Opus would refuse a cell of row 9; fix it first:")
    assert "Created time: '31/02/2021 09:30:00' is not a date" in text
    assert '"timeCreated"' not in text
    assert preview_text(model, None).startswith("Select a row")


def test_export_writes_the_grid_with_problems(
    qtbot: QtBot, tab: RecordsTab, tmp_path: Path
) -> None:
    open_demo(qtbot, tab, demo_profile())
    tab.model.setData(tab.model.index(0, 2), "Edited.pdf")
    assert not tab.model.undo_stack.isClean()
    for name in ("out.xlsx", "out.csv"):
        tab.export(tmp_path / name)
        qtbot.waitUntil(lambda: not tab.tasks.busy, timeout=10_000)
        sheet = read_sheet(tmp_path / name)
        assert sheet.headers[:3] == ["Row", "Status", "Row key"]
        assert sheet.headers[-1] == "Problems"
        assert len(sheet.rows) == 200
        first = dict(zip(sheet.headers, sheet.rows[0].cells, strict=True))
        assert first["Name"] == "Edited.pdf" and first["Security Level"] == "Secret"
        bad = next(r for r in sheet.rows if str(r.cells[0]) == "73")
        assert bad.cells[-1] == "Page Count: 'twelve' is not a number."
    assert tab.model.undo_stack.isClean()  # exported: closing loses nothing
    assert tab.can_close()


def test_changed_profile_settings_check_the_rows_again(qtbot: QtBot, tab: RecordsTab) -> None:
    profile = demo_profile()
    open_demo(qtbot, tab, profile)
    level = "_Security_%20_Level"
    profile.choices = {**profile.choices, level: {**profile.choices[level], "Top secret": 5}}
    tab.set_profile(profile)
    qtbot.waitUntil(lambda: not tab.tasks.busy and tab.model.invalid_rows == 5, timeout=10_000)
    position = next(p for p in range(200) if tab.model.row_at(p).source == 28)
    cell = tab.model.index(position, 12)
    assert cell.data(PROBLEM_ROLE) is None and tab.model.payload(position)[level] == 5
    assert not tab.model.locked and tab.commands.undo.isEnabled() is False


def test_a_profile_with_another_template_empties_the_grid(
    qtbot: QtBot, tab: RecordsTab, tmp_path: Path
) -> None:
    open_demo(qtbot, tab, demo_profile())
    other = tmp_path / "other.json"
    other.write_text(
        json.dumps(
            {
                "id": "6f1c2a4e-3b7d-4e21-9a5c-0d8e7f6a1b2d",
                "data": [
                    {
                        "rowKey": "SingleText",
                        "leafName": "SingleText",
                        "timeCreated": "DateTime",
                        "timeModified": "DateTime",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    from opus_desktop.profiles import save_profile

    profile = demo_profile("Other")
    save_profile(profile, other)
    tab.set_profile(profile)
    assert tab.model.rowCount() == 0 and tab.model.columnCount() == 5


def test_can_close_asks_only_when_edits_would_be_lost(
    qtbot: QtBot, tab: RecordsTab, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    open_demo(qtbot, tab, demo_profile())
    asked: list[str] = []

    def answer(*args: object, **kwargs: object) -> QMessageBox.StandardButton:
        asked.append(str(args[1]))
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", answer)
    assert tab.can_close() and asked == []
    tab.model.setData(tab.model.index(0, 2), "Edited.pdf")
    # The edit is kept in the journal's draft: closing loses nothing, so nothing is asked.
    assert tab.can_close() and asked == []
    tab.drafts.healthy = False  # unless the draft could not be written
    assert not tab.can_close() and asked == ["Close the records?"]
    tab.commands.undo.trigger()
    assert tab.can_close()


def test_actions_come_in_menu_order_with_shortcuts(tab: RecordsTab) -> None:
    names = [a.text().replace("&", "") for a in tab.edit_actions()]
    assert names == ["Undo", "Redo", "Cut", "Copy", "Paste", "Delete", "Fill down", "Find…",
                     "Add row", "Duplicate rows", "Delete rows"]  # fmt: skip
    keys = {a.text().replace("&", ""): a.shortcut().toString() for a in tab.edit_actions()}
    assert (keys["Undo"], keys["Copy"], keys["Fill down"], keys["Find…"]) == (
        "Ctrl+Z",
        "Ctrl+C",
        "Ctrl+D",
        "Ctrl+F",
    )
    assert [a.text().replace("&", "") for a in tab.file_actions()] == ["Save mapping…", "Export…"]


def test_rows_pasted_into_an_empty_grid_become_records(qtbot: QtBot, tab: RecordsTab) -> None:
    tab.set_profile(demo_profile())
    assert tab.view.paste_text("K-1\tFirst.pdf\r\nK-2\tSecond.pdf\r\n") == 4
    assert tab.model.rowCount() == 2
    assert [tab.model.text(r, 1) for r in range(2)] == ["K-1", "K-2"]
    assert tab.counts.text() == "2 rows · 2 invalid"  # the times are still missing
    messages: list[str] = []
    tab.status_message.connect(messages.append)
    assert not tab.save_mapping()
    assert messages == ["Import a sheet first: its mapping is what gets saved."]


def test_a_jump_scrolls_by_whole_columns_so_no_sliver_of_one_is_left(
    qtbot: QtBot, tab: RecordsTab
) -> None:
    """A column cut at the left edge showed only its last characters beside the row
    numbers: row 4 with its key cut to '41' read as row 441."""
    tab.resize(900, 600)  # a few columns in sight: jumps scroll sideways
    tab.show()
    qtbot.waitExposed(tab)
    open_demo(qtbot, tab, demo_profile())
    view = tab.view
    qtbot.waitUntil(lambda: tab.problems.model.rowCount() == 6)
    for order in (1, 5, 0, 3, 2, 4, 1):  # Record Owner, Page Count, Created time, Name...
        tab.problems.table.clicked.emit(tab.problems.model.index(order, 0))
        current = view.currentIndex()
        assert view.viewport().rect().contains(view.visualRect(current))
        first = view.columnAt(0)
        assert view.columnViewportPosition(first) == 0, f"column {first} cut at the left"
        header = view.horizontalHeader()
        right = header.sectionPosition(current.column()) + header.sectionSize(current.column())
        if right <= view.viewport().width():  # Status and Row key in sight when they fit
            assert first == 0
    view.setCurrentIndex(tab.proxy.index(3, 1))
    for _ in range(tab.proxy.columnCount() - 2):  # and so when the arrow keys go sideways
        qtbot.keyClick(view, Qt.Key.Key_Right)
        assert view.columnViewportPosition(view.columnAt(0)) == 0
        assert view.viewport().rect().contains(view.visualRect(view.currentIndex()))
