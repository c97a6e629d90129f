"""The import dialog's "Date order": the choice, what was decided, and what is imported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.gui.importer.dialog import ImportDialog
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.profiles import Profile, find_profile, save_profile
from tests.helpers.editor import demo_profile

HEADER = "Row key,Name,Created time,Modified time,Date Received\n"


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


def write(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8-sig")
    return path


def open_dialog(qtbot: QtBot, tab: RecordsTab, path: Path) -> ImportDialog:
    dialog = tab.show_import_dialog(path)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.inspection is not None and dialog.task is None)
    return dialog


def test_automatic_says_what_each_date_column_was_decided_by(
    qtbot: QtBot, tab: RecordsTab, tmp_path: Path
) -> None:
    sheet = write(
        tmp_path / "uk.csv",
        [
            "UK-1,Lease,03/04/2019 09:30,04/04/2019 10:00,01/02/2019",
            "UK-2,Grant,25/12/2019 09:30,26/12/2019 10:00,2019-02-03",
        ],
    )
    dialog = open_dialog(qtbot, tab, sheet)
    box = dialog.date_order
    assert box.combo.currentText() == "Automatic"
    assert [box.combo.itemText(i) for i in range(box.combo.count())] == [
        "Automatic",
        "Day first (25/12/2019)",
        "Month first (12/25/2019)",
        "Year first (2019-12-25)",
    ]
    told = box.told.text().splitlines()
    assert "• Created time: read day first (25/12/2019), decided by row 3." in told
    assert "• Modified time: read day first (25/12/2019), decided by row 3." in told
    assert any(line.startswith("• Date Received: no date tells day from month") for line in told)

    with qtbot.waitSignal(dialog.loaded, timeout=10_000):
        dialog.import_button.click()
    payloads = [tab.model.payload(p) for p in range(tab.model.rowCount())]
    assert [p["timeCreated"] for p in payloads] == ["2019-04-03 09:30:00", "2019-12-25 09:30:00"]
    # 01/02/2019 reads both ways and nothing in its column decides: a problem, not a guess.
    assert tab.model.invalid_rows == 1
    assert "_Date_%20_Received" not in payloads[0]


def test_a_chosen_order_is_used_and_saved_with_the_mapping(
    qtbot: QtBot, tab: RecordsTab, tmp_path: Path, profile: Profile
) -> None:
    sheet = write(tmp_path / "ambiguous.csv", ["A-1,Lease,03/04/2019 09:30,04/04/2019 10:00,"])
    dialog = open_dialog(qtbot, tab, sheet)
    assert "no date tells day from month" in dialog.date_order.told.text()
    dialog.date_order.combo.setCurrentIndex(dialog.date_order.combo.findData("MDY"))
    assert dialog.mapping.mapping().date_order == "MDY"
    assert "• Created time: read month first (12/25/2019), as chosen." in (
        dialog.date_order.told.text().splitlines()
    )
    dialog.save_check.setChecked(True)
    with qtbot.waitSignal(dialog.loaded, timeout=10_000):
        dialog.import_button.click()
    payload = tab.model.payload(0)
    assert payload["timeCreated"] == "2019-03-04 09:30:00"
    assert payload["timeModified"] == "2019-04-04 10:00:00"
    saved = find_profile(profile.name).mapping
    assert saved is not None and saved["dateOrder"] == "MDY"


def test_the_saved_order_is_shown_when_the_dialog_opens(
    qtbot: QtBot, tab: RecordsTab, tmp_path: Path, profile: Profile
) -> None:
    profile.mapping = {
        "columns": {"Row key": "rowKey", "Name": "leafName", "Created time": "timeCreated",
                    "Modified time": "timeModified"},
        "dateOrder": "DMY",
    }  # fmt: skip
    save_profile(profile)
    tab.set_profile(find_profile(profile.name))
    sheet = write(tmp_path / "saved.csv", ["S-1,Lease,03/04/2019 09:30,04/04/2019 10:00,"])
    dialog = open_dialog(qtbot, tab, sheet)
    assert dialog.date_order.combo.currentText() == "Day first (25/12/2019)"
    assert dialog.date_order.order() == "DMY"
