"""Row keys in the window's outcome table: a column wide enough for a 45-character key,
longer ones elided in the middle, the whole key in the tooltip, Ctrl+C and "Copy key"."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtGui import QFontMetrics, QGuiApplication
from PySide6.QtWidgets import QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from opus_desktop.gui.disposal.outcome import KEY_COLUMN, OutcomeModel, OutcomePanel
from opus_desktop.gui.editor.clipboard import from_text
from opus_desktop.jobs.audit import DisposedRecord
from opus_desktop.jobs.due import DisposalItem
from opus_desktop.jobs.state import BatchResult


def long_key(n: int) -> str:
    return f"ARCHIVE/FINANCE/LEDGERS-2019/BATCH-{n:04d}/ITEM1"


HUGE = ("ARCHIVE/FINANCE-DEPARTMENT/GENERAL_LEDGER.2019/" * 5)[:194] + "/00042"


@pytest.fixture
def panel(qtbot: QtBot) -> OutcomePanel:
    shown = OutcomePanel()
    qtbot.addWidget(shown)
    items = [
        DisposalItem(long_key(n), f"Minutes {n}", f"Records/Class {n % 3}", "2025-01-01", n + 2)
        for n in range(6)
    ]
    items.append(DisposalItem(HUGE, "Huge", "Records/Class 1", "2025-01-01", 99))
    shown.start(items)
    shown.resize(1000, 400)
    shown.show()
    qtbot.waitExposed(shown)
    return shown


def view_index(panel: OutcomePanel, key: str, column: int = KEY_COLUMN) -> QModelIndex:
    row = next(r for r in range(panel.model.rowCount()) if panel.model.record_at(r).key == key)
    return panel.proxy.mapFromSource(panel.model.index(row, column))


def select(panel: OutcomePanel, keys: list[str]) -> None:
    selection = panel.view.selectionModel()
    selection.clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for key in keys:
        selection.select(view_index(panel, key), flags)
    panel.view.setFocus()


def test_the_key_column_holds_a_45_character_key_and_elides_a_longer_one_in_the_middle(
    panel: OutcomePanel,
) -> None:
    width = panel.view.horizontalHeader().sectionSize(KEY_COLUMN)
    metrics = QFontMetrics(panel.model.key_font)
    assert width > metrics.horizontalAdvance(long_key(0))
    assert width < metrics.horizontalAdvance(HUGE)  # that one does not fit: elided
    option = QStyleOptionViewItem()
    panel.key_delegate.initStyleOption(option, view_index(panel, HUGE))
    assert option.textElideMode == Qt.TextElideMode.ElideMiddle
    assert option.text == HUGE  # the whole key, cut only when painted
    shown = option.fontMetrics.elidedText(HUGE, option.textElideMode, width - 10)
    assert shown.startswith("ARCHIVE/") and shown.endswith("/00042") and "…" in shown
    panel.grab()  # painted with the delegate without a warning


def test_the_tooltip_is_the_whole_key(panel: OutcomePanel) -> None:
    for key in (long_key(3), HUGE):
        assert view_index(panel, key).data(Qt.ItemDataRole.ToolTipRole) == key
        assert view_index(panel, key).data() == key


def test_ctrl_c_copies_the_selected_rows_with_their_keys_whole(
    panel: OutcomePanel, qtbot: QtBot
) -> None:
    panel.apply_batch(BatchResult(ok=(long_key(1),), failed={HUGE: "Record is sealed."}))
    select(panel, [long_key(1), HUGE])
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(panel.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    rows = from_text(QGuiApplication.clipboard().text())
    # In the order shown: the refused record first (the table sorts by outcome).
    assert rows == [
        [HUGE, "Huge", "Records/Class 1", "2025-01-01", "Not destroyed: Record is sealed."],
        [long_key(1), "Minutes 1", "Records/Class 1", "2025-01-01", "Destroyed"],
    ]


def test_copy_key_copies_the_keys_alone(panel: OutcomePanel) -> None:
    assert [a.text() for a in panel.view.actions()] == ["Copy key", "Copy rows"]
    assert panel.view.contextMenuPolicy() == Qt.ContextMenuPolicy.ActionsContextMenu
    select(panel, [HUGE])
    panel.copy_key_action.trigger()
    assert QGuiApplication.clipboard().text() == HUGE
    select(panel, [long_key(2), long_key(4)])
    panel.copy_key_action.trigger()
    assert QGuiApplication.clipboard().text() == f"{long_key(2)}\n{long_key(4)}"


def test_nothing_selected_copies_nothing(panel: OutcomePanel) -> None:
    panel.view.selectionModel().clear()
    panel.view.setCurrentIndex(panel.proxy.index(-1, -1))
    QGuiApplication.clipboard().setText("kept")
    panel.copy_rows_action.trigger()
    panel.copy_key_action.trigger()
    assert QGuiApplication.clipboard().text() == "kept"


def test_the_model_with_long_keys_passes_the_model_tester(qtmodeltester: object) -> None:
    model = OutcomeModel()
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    model.set_records(
        [DisposedRecord(long_key(n), f"Minutes {n}", "", "2025-01-01") for n in range(5)]
        + [DisposedRecord(HUGE, "Huge", outcome="failed", message="Sealed.")]
    )
    assert model.index(5, KEY_COLUMN).data(Qt.ItemDataRole.ToolTipRole) == HUGE
    assert model.index(5, KEY_COLUMN).data(Qt.ItemDataRole.FontRole) == model.key_font
    assert model.index(0, 2).data(Qt.ItemDataRole.ToolTipRole) is None  # nothing to show
    assert model.row_texts(5) == [HUGE, "Huge", "", "", "Not destroyed: Sealed."]
    qtmodeltester.check(model)  # type: ignore[attr-defined]
