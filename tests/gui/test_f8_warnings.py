"""F8 goes to the first refused cell; when none is left, to the first cell warned of
(a Modified time earlier than the Created time); the button says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.sandbox import Sandbox
from tests.gui.test_editor_time_order import sheet
from tests.gui.test_submit_panel import close_summary, open_rows, sandbox_profile_for


@pytest.fixture
def tab(qtbot: QtBot, runner: TaskRunner) -> Iterator[RecordsTab]:
    tab = RecordsTab(runner)
    qtbot.addWidget(tab)
    tab.resize(1280, 800)
    tab.show()
    yield tab
    close_summary(tab)


def test_f8_goes_to_the_first_warning_when_nothing_is_refused(
    qtbot: QtBot, tab: RecordsTab, sandbox: Sandbox, tmp_path: Path
) -> None:
    open_rows(qtbot, tab, sandbox_profile_for(sandbox), sheet(tmp_path / "order.xlsx"))
    assert tab.model.invalid_rows == 0
    tab.view.setFocus()
    tab.view.setCurrentIndex(tab.proxy.index(0, 0))
    qtbot.keyClick(tab.view, Qt.Key.Key_F8)
    current = tab.proxy.mapToSource(tab.view.currentIndex())
    assert tab.model.row_at(current.row()).source == 3  # row B, modified before created
    assert tab.model.headerData(current.column(), Qt.Orientation.Horizontal) == "Modified time"
    button = tab.submit_panel.go_first
    assert "warning" in button.toolTip() and "F8" in button.toolTip()
    assert button.accessibleDescription() == button.toolTip()
