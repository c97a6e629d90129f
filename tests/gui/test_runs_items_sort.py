"""A run's records sort in their own model, on whole columns, without an Item per record."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from opus_desktop.gui.runs.models import ItemsModel
from opus_desktop.gui.runs.tab import _view
from opus_desktop.usecases.runs import ItemRows

ROWS = [  # seq, row, key, state, attempts, message
    (1, 2, "REG-3", "ok", 1, ""),
    (2, 3, "REG-1", "failed", 2, "Refused: bad date"),
    (3, 4, "REG-2", "pending", 0, ""),
    (4, None, "REG-0", "ok", 3, ""),
]


def make_view(qtbot: QtBot, model: ItemsModel):  # type: ignore[no-untyped-def]
    view = _view(model)
    view.sortByColumn(0, Qt.SortOrder.AscendingOrder)  # as the Runs tab starts
    qtbot.addWidget(view)
    return view


def shown(model: ItemsModel, column: int) -> list[str]:
    return [model.index(r, column).data() for r in range(model.rowCount())]


def test_clicking_each_header_sorts_the_records(qtbot: QtBot, qtmodeltester: object) -> None:
    model = ItemsModel()
    view = make_view(qtbot, model)
    rows = ItemRows(ROWS)
    model.set_run("submit", rows)
    assert model._rows is rows  # kept as given: a million records are not copied
    assert shown(model, 1) == ["REG-3", "REG-1", "REG-2", "REG-0"]  # as sent
    view.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    assert shown(model, 1) == ["REG-0", "REG-1", "REG-2", "REG-3"]
    view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert shown(model, 0) == ["4", "3", "2", ""]  # no row number sorts last
    view.sortByColumn(2, Qt.SortOrder.AscendingOrder)  # by the words shown
    assert shown(model, 2) == ["Failed", "Pending", "Stored", "Stored"]
    assert shown(model, 1)[2:] == ["REG-3", "REG-0"]  # equal states keep the sent order
    view.sortByColumn(3, Qt.SortOrder.DescendingOrder)
    assert shown(model, 3) == ["3", "2", "1", "0"]
    view.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    assert shown(model, 4)[0] == "Refused: bad date"
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_a_disposal_run_sorts_by_its_own_words(qtbot: QtBot) -> None:
    model = ItemsModel()
    view = make_view(qtbot, model)
    model.set_run("destroy", ItemRows(ROWS))
    view.sortByColumn(2, Qt.SortOrder.AscendingOrder)
    assert shown(model, 2) == ["Destroyed", "Destroyed", "Not destroyed", "Pending"]


def test_a_plain_list_of_items_sorts_the_same(qtbot: QtBot) -> None:
    model = ItemsModel()
    view = make_view(qtbot, model)
    rows = ItemRows(ROWS)
    model.set_run("submit", [rows[i] for i in range(len(rows))])
    view.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    assert shown(model, 1) == ["REG-3", "REG-2", "REG-1", "REG-0"]
    model.set_rows([])
    assert model.rowCount() == 0
