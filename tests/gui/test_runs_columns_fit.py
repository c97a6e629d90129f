"""The Runs tab at the width it has in a 1280x800 window with the connection panel shown:
no run's text is cut with an ellipsis, and every column is in view without scrolling
(the sort arrow's room is kept in the sorted column's title only)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from opus_desktop import paths
from opus_desktop.gui.workers import TaskRunner
from tests.gui.test_runs_tab import make_runs, make_tab, show_and_wait

# The Runs tab's width in the main window at 1280 px with the panel docked.
TAB_WIDTH = 975


def test_every_run_cell_is_shown_in_full(qtbot: QtBot, runner: TaskRunner) -> None:
    make_runs(paths.journal_path())
    tab = make_tab(qtbot, runner)
    tab.resize(TAB_WIDTH, 700)
    show_and_wait(qtbot, tab)
    view, model = tab.runs_view, tab.runs_model
    header = view.horizontalHeader()
    metrics = view.fontMetrics()
    for column in range(model.columnCount()):
        for row in range(model.rowCount()):
            text = str(view.model().index(row, column).data() or "")
            # The cell's text and its margins (and an icon, for the Status column).
            wanted = metrics.horizontalAdvance(text)
            assert header.sectionSize(column) >= wanted, (column, text)
    assert header.sectionSize(3) >= view.sizeHintForColumn(3)  # Input file, as it asks
    assert header.length() <= view.viewport().width()  # Pending too, without scrolling
    sorted_column = header.sortIndicatorSection()
    assert header.sectionSize(sorted_column) >= header.sectionSizeHint(sorted_column)
