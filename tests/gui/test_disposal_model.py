"""The due records' table model: ticks keyed by row key survive paging, sorting, filtering
and removals; every change passes qtmodeltester; the outcome model too."""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from pytestqt.qtbot import QtBot

from opus_desktop.core.schema import load_template
from opus_desktop.gui.disposal.model import (
    CHECK_COLUMN,
    CHECKED,
    SORT_ROLE,
    UNCHECKED,
    DueFilter,
    DueModel,
    template_columns,
)
from opus_desktop.gui.disposal.outcome import (
    OutcomeModel,
    kind_of,
    outcome_text,
    retryable,
)
from opus_desktop.gui.disposal.view import DueView
from opus_desktop.jobs.audit import DisposedRecord
from opus_desktop.jobs.disposal import NOT_CONFIRMED
from opus_desktop.jobs.due import DueRecord
from opus_desktop.jobs.state import BatchResult

DEMO_TEMPLATE = Path(str(resources.files("opus_desktop").joinpath("resources/demo/template.json")))
CLASSES = ("Records/Finance/Invoices", "Records/Legal/Contracts", "Records/HR/Payroll")


def record(n: int, due: datetime | None = None) -> DueRecord:
    due = due or datetime(2020, 1, 1) + timedelta(days=n)
    # Written M-d-yyyy, as some tenants do: as text, "12-..." sorts before "2-...".
    text = f"{due.month}-{due.day}-{due.year} 09:00:00"
    key = f"REC-{n:03d}"
    values = {
        "rowKey": key,
        "leafName": f"File {n}.docx",
        "termFullPath": CLASSES[n % 3],
    }
    return DueRecord(key, values["leafName"], CLASSES[n % 3], text, due, values)


def page(first: int, size: int) -> list[DueRecord]:
    return [record(n) for n in range(first, first + size)]


def check_state(model: DueModel | DueFilter, row: int) -> object:
    return model.index(row, CHECK_COLUMN).data(Qt.ItemDataRole.CheckStateRole)


def shown_ticks(proxy: DueFilter) -> dict[str, bool]:
    return {key: check_state(proxy, row) == CHECKED for row, key in enumerate(proxy.shown_keys())}


@pytest.fixture
def model(qtmodeltester: object) -> DueModel:
    due = DueModel()
    qtmodeltester.check(due)  # type: ignore[attr-defined]  # and watches every change after
    return due


def test_columns_are_the_templates_display_names_row_key_first_due_date_last() -> None:
    template = load_template(DEMO_TEMPLATE)
    columns = template_columns(template)
    assert columns[0] == ("rowKey", "Row key")
    assert columns[1:4] == [
        ("leafName", "Name"),
        ("termFullPath", "Classification"),
        ("disposalDueDate", "Disposal due date"),
    ]
    assert columns[-1] == ("_Storage_%20_Location", "Storage Location")
    assert ("_Case_%20_Number", "Case Number") in columns
    assert len(columns) == len(template.internal_names) + 1

    model = DueModel()
    model.set_template(template)
    titles = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert titles[:5] == ["", "Row key", "Name", "Classification", "Disposal due date"]
    assert model.column_of("disposalDueDate") == 4 and model.column_of("nothing") == -1


def test_ticks_are_kept_by_row_key_through_pages_and_removals(
    qtmodeltester: object, model: DueModel, qtbot: QtBot
) -> None:
    assert model.append(page(0, 100)) == 100
    wanted = {f"REC-{n:03d}" for n in range(0, 100, 5)}
    with qtbot.waitSignal(model.checked_changed):
        assert model.set_checked(wanted, True) == 20
    assert model.append(page(100, 100)) == 100
    assert model.append(page(150, 60)) == 10  # a page overlapping the last: each key once
    assert model.rowCount() == 210
    assert model.checked_keys() == wanted
    assert [model.is_checked(r.row_key) for r in model.records()[:6]] == [
        True, False, False, False, False, True,
    ]  # fmt: skip
    qtmodeltester.check(model)  # type: ignore[attr-defined]

    # Clicking the box goes through setData; only the tick column takes it.
    row = model.row_of("REC-150")
    assert row is not None
    assert model.setData(model.index(row, CHECK_COLUMN), CHECKED, Qt.ItemDataRole.CheckStateRole)
    assert not model.setData(model.index(row, 1), "x", Qt.ItemDataRole.EditRole)
    assert model.flags(model.index(row, CHECK_COLUMN)) & Qt.ItemFlag.ItemIsUserCheckable
    assert not model.flags(model.index(row, 1)) & Qt.ItemFlag.ItemIsUserCheckable
    assert model.checked_count == 21

    # Removing scattered rows keeps every other row's tick on its own record.
    gone = {"REC-000", "REC-003", "REC-004", "REC-150", "REC-209", "NOT-LISTED"}
    assert model.remove_keys(gone) == 5
    assert model.rowCount() == 205
    assert model.checked_keys() == (wanted | {"REC-150"}) - gone
    for row, due in enumerate(model.records()):
        assert model.row_of(due.row_key) == row
        assert (check_state(model, row) == CHECKED) == (due.row_key in model.checked_keys())
    qtmodeltester.check(model)  # type: ignore[attr-defined]

    # Keys that are not listed cannot be ticked: the ticked set is always listed records.
    assert model.set_only_checked(["REC-001", "REC-002", "ELSEWHERE"]) == 2
    assert model.checked_keys() == {"REC-001", "REC-002"}
    model.clear_checks()
    assert model.checked_count == 0


def test_ticks_survive_sorting_and_filtering(qtmodeltester: object, model: DueModel) -> None:
    model.append(page(0, 60))
    wanted = {f"REC-{n:03d}" for n in (1, 4, 10, 33, 59)}
    model.set_checked(wanted, True)
    proxy = DueFilter(model)
    qtmodeltester.check(proxy)  # type: ignore[attr-defined]

    due_column = model.column_of("disposalDueDate")
    proxy.sort(due_column, Qt.SortOrder.DescendingOrder)
    # By time, not by the text "12-31-2020" / "2-29-2020": the latest first.
    assert proxy.shown_keys()[:3] == ["REC-059", "REC-058", "REC-057"]
    assert proxy.index(0, due_column).data() == "2-29-2020 09:00:00"
    assert {k for k, ticked in shown_ticks(proxy).items() if ticked} == wanted

    proxy.sort(CHECK_COLUMN, Qt.SortOrder.DescendingOrder)  # the ticked ones first
    assert set(proxy.shown_keys()[:5]) == wanted
    assert all(list(shown_ticks(proxy).values())[:5])
    assert not any(list(shown_ticks(proxy).values())[5:])

    proxy.set_text("invoices")  # any column, any case
    assert proxy.rowCount() == 20
    assert all("Invoices" in model.record_at(proxy.mapToSource(proxy.index(r, 0)).row())
               .classification for r in range(proxy.rowCount()))  # fmt: skip
    # Ticking a shown row changes that record, whatever its place in the model.
    row = proxy.shown_keys().index("REC-000")
    proxy.setData(proxy.index(row, CHECK_COLUMN), CHECKED, Qt.ItemDataRole.CheckStateRole)
    assert model.is_checked("REC-000")
    proxy.set_text("")
    assert model.checked_keys() == wanted | {"REC-000"}
    assert {k for k, ticked in shown_ticks(proxy).items() if ticked} == wanted | {"REC-000"}

    # New rows arriving under a sorted, filtered proxy keep their place and ticks.
    proxy.set_text("payroll")
    model.append(page(60, 40))
    assert proxy.rowCount() == sum(1 for n in range(100) if n % 3 == 2)
    model.set_checked(["REC-062"], True)
    assert shown_ticks(proxy)["REC-062"] is True
    qtmodeltester.check(proxy)  # type: ignore[attr-defined]


def test_sort_values_and_data_outside_the_table(model: DueModel) -> None:
    model.append([record(1), record(2, due=None)])
    unknown = DueRecord("REC-X", "", "", "sometime", None, {"rowKey": "REC-X"})
    model.append([unknown])
    due_column = model.column_of("disposalDueDate")
    assert model.index(2, due_column).data(SORT_ROLE) == "sometime"
    assert model.index(0, due_column).data(SORT_ROLE) == "2020-01-02T00:00:00"
    assert model.index(0, CHECK_COLUMN).data(SORT_ROLE) == 0
    assert model.index(0, CHECK_COLUMN).data(Qt.ItemDataRole.CheckStateRole) == UNCHECKED
    assert model.data(QModelIndex()) is None
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.headerData(0, Qt.Orientation.Vertical) is None


def test_the_outcome_model_reads_each_answer(qtmodeltester: object, qtbot: QtBot) -> None:
    # qtbot: the model asks for fonts, which need the application (alone, none is made).
    outcomes = OutcomeModel()
    qtmodeltester.check(outcomes)  # type: ignore[attr-defined]
    records = [
        DisposedRecord(f"K{n}", f"File {n}", "Records/Legal", "2020-01-01", "") for n in range(4)
    ]
    outcomes.set_records(records)
    assert [outcomes.index(r, 4).data() for r in range(4)] == ["Waiting to be sent"] * 4
    outcomes.apply(
        BatchResult(
            ok=("K0",),
            failed={
                "K1": "The record is awaiting approval.",
                "K2": f"{NOT_CONFIRMED} the call may have reached Opus before it failed.",
                "K3": "Record K3 has already been destroyed.",
            },
        )
    )
    texts = [outcomes.index(r, 4).data() for r in range(4)]
    assert texts == [
        "Destroyed",
        "Not destroyed: awaiting approval",
        "May be destroyed — check in Opus",
        "Not destroyed: already destroyed",
    ]
    kinds = [kind_of(r) for r in outcomes.records()]
    assert kinds == ["destroyed", "failed", "doubtful", "failed"]
    assert [retryable(r) for r in outcomes.records()] == [False, True, True, False]
    assert outcome_text(DisposedRecord("K", outcome="not sent", message="Not due.")) == (
        "Not sent: Not due."
    )
    odd = DisposedRecord("K", outcome="failed", message="The vault is sealed.")
    assert outcome_text(odd) == "Not destroyed: The vault is sealed."
    assert outcomes.index(1, 4).data(Qt.ItemDataRole.ToolTipRole) == (
        "The record is awaiting approval."
    )
    qtmodeltester.check(outcomes)  # type: ignore[attr-defined]


def test_space_ticks_and_unticks_the_selected_rows(qtbot: QtBot) -> None:
    model = DueModel()
    model.append(page(0, 10))
    proxy = DueFilter(model)
    view = DueView(proxy)
    qtbot.addWidget(view)
    view.show()
    proxy.sort(1, Qt.SortOrder.DescendingOrder)  # REC-009 first: rows shown != rows stored
    selection = view.selectionModel()
    for row in (1, 2, 3):
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        selection.select(proxy.index(row, 1), flags)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Space)
    assert model.checked_keys() == {"REC-008", "REC-007", "REC-006"}
    qtbot.keyClick(view, Qt.Key.Key_Space)  # all ticked: Space unticks them
    assert model.checked_count == 0
    model.set_checked(["REC-007"], True)
    qtbot.keyClick(view, Qt.Key.Key_Space)  # some ticked: Space ticks the rest
    assert model.checked_keys() == {"REC-008", "REC-007", "REC-006"}
    assert view.tick_selected(False) == 3 and model.checked_count == 0
