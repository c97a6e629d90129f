"""The import dialog reads the older and open formats as it reads .xlsx."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.gui.workers import TaskRunner
from tests.helpers.editor import demo_profile
from tests.helpers.formats import write_ods, write_xls

ROWS = [
    ["Exported from RecordsPro"],
    [],
    ["Row key", "Name", "Created time", "Modified time"],
    ["R-1", "Akte Müller", "25/12/2019 09:30", "26/12/2019 10:00"],
    ["R-2", "Minutes", "03/01/2020 08:00", "04/01/2020 08:00"],
]


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.join()


@pytest.mark.parametrize(("write", "name"), [(write_xls, "old.xls"), (write_ods, "open.ods")])
def test_xls_and_ods_are_previewed_and_imported(
    qtbot: QtBot, runner: TaskRunner, tmp_path: Path, write: Callable[..., Path], name: str
) -> None:
    tab = RecordsTab(runner)
    qtbot.addWidget(tab)
    tab.set_profile(demo_profile())
    path = write(tmp_path / name, {"Register": ROWS})
    dialog = tab.show_import_dialog(path)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.inspection is not None and dialog.task is None)
    assert dialog.inspection is not None
    data = dialog.inspection.data
    assert (data.header_row, data.headers) == (3, ROWS[2])
    assert [row.cells[:2] for row in data.rows] == [["R-1", "Akte Müller"], ["R-2", "Minutes"]]
    assert f'{name}, sheet "Register": header on row 3' in dialog.status.text()
    told = dialog.date_order.told.text()
    assert "Created time: read day first (25/12/2019), decided by row 4." in told
    with qtbot.waitSignal(dialog.loaded, timeout=10_000):
        dialog.import_button.click()
    assert tab.model.rowCount() == 2 and tab.model.invalid_rows == 0
    payloads = [tab.model.payload(p) for p in range(2)]
    assert [p["timeCreated"] for p in payloads] == ["2019-12-25 09:30:00", "2020-01-03 08:00:00"]
