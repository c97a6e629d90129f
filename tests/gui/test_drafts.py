"""The editor's rows kept in the journal as a draft: only changed rows written, the rows
offered back at the next start (with the run to resume), discarded, dropped on a clean
close once every row is stored."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from opus_desktop import paths
from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.jobs.journal import Journal
from opus_desktop.profiles import Profile
from opus_desktop.sandbox import Sandbox
from opus_desktop.usecases.drafts import (
    ORDER_INDEX,
    decode_row,
    encode_row,
    find_unsent,
    in_order,
    order_runs,
)
from opus_desktop.usecases.rows import FAILED, STORED, ColumnSet, Row
from tests.gui.test_submit_panel import (
    close_summary,
    open_rows,
    run_and_wait,
    sandbox_profile_for,
    statuses,
)
from tests.helpers.editor import DEMO_SHEET, demo_profile
from tests.integration.conftest import MakeSandbox
from tests.integration.test_submit_sandbox import stored_exactly, write_sheet


@pytest.fixture
def make_tab(qtbot: QtBot, runner: TaskRunner) -> Iterator[Any]:
    made: list[RecordsTab] = []

    def make() -> RecordsTab:
        tab = RecordsTab(runner)
        qtbot.addWidget(tab)
        tab.resize(1200, 700)
        made.append(tab)
        return tab

    yield make
    for tab in made:
        close_summary(tab)


def written(qtbot: QtBot, tab: RecordsTab, profile: str = "Demo") -> None:
    """Write what the tab noted now, and wait until the journal holds it."""
    tab.drafts.flush()
    qtbot.waitUntil(lambda: not tab.drafts.writing, timeout=10_000)
    expected = [row.seq for row in tab.model.rows()]

    def landed() -> bool:
        if not paths.journal_path().exists():
            return False
        with Journal(paths.journal_path()) as journal:
            draft = journal.load_draft(profile)
        if draft is None:
            return False
        rows = dict(draft.rows)
        order = rows.pop(ORDER_INDEX, None)
        return sorted(rows) == sorted(expected) and order == order_runs(expected)

    qtbot.waitUntil(landed, timeout=10_000)


def texts(tab: RecordsTab) -> list[list[str]]:
    model = tab.model
    return [model.row_texts(p) for p in range(model.rowCount())]


def restore_prompt(qtbot: QtBot, tab: RecordsTab, sheet: Path | None = None) -> QMessageBox:
    tab.restore_or_open(sheet)
    qtbot.waitUntil(lambda: tab.restore_prompt is not None, timeout=10_000)
    box = tab.restore_prompt
    assert box is not None
    return box


def click(box: QMessageBox, text: str) -> None:
    button = next(b for b in box.buttons() if b.text() == text)
    button.click()


# -- rows as JSON ---------------------------------------------------------------------------------


def test_rows_keep_every_kind_of_value_through_the_journal() -> None:
    row = Row(
        [
            "REG-1",
            datetime(2021, 2, 3, 4, 5, 6),
            date(2021, 2, 3),
            time(9, 30),
            [1, 4],
            12.5,
            math.nan,
            None,
            True,
        ],
        {1: "'31/02/2021' is not a date.", 6: "not a number"},
        17,
        42,
    )
    row.status, row.message = FAILED, "The service refused it."
    back = decode_row(42, encode_row(row))
    assert back.values[:6] == row.values[:6] and back.values[7:] == [None, True]
    assert math.isnan(back.values[6])  # type: ignore[arg-type]
    assert (back.problems, back.source, back.seq) == (row.problems, 17, 42)
    assert (back.status, back.message) == (FAILED, "The service refused it.")
    plain = Row(["A"], None, None, 3)
    assert decode_row(3, encode_row(plain)).problems is None


def test_the_order_is_kept_as_runs_of_creation_numbers() -> None:
    assert order_runs([3, 4, 5, 9, 10, 0]) == [[3, 3], [9, 2], [0, 1]]
    rows = {seq: Row([str(seq)], None, None, seq) for seq in (0, 3, 4, 5, 7, 9, 10)}
    ordered = in_order(dict(rows), [[9, 2], [3, 3], [0, 1]])
    assert [row.seq for row in ordered] == [9, 10, 3, 4, 5, 0, 7]  # 7 was not named: last


# -- keeping the grid -------------------------------------------------------------------------


def test_only_the_rows_that_change_are_written(
    qtbot: QtBot, make_tab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[dict[int, Any], bool]] = []
    original = Journal.save_draft

    def spy(self: Journal, profile: str, rows: Any, *args: Any, **kwargs: Any) -> None:
        calls.append((dict(rows), bool(kwargs.get("replace"))))
        original(self, profile, rows, *args, **kwargs)

    monkeypatch.setattr(Journal, "save_draft", spy)
    tab = make_tab()
    tab.set_profile(demo_profile())
    tab.open_sheet(DEMO_SHEET)
    qtbot.waitUntil(lambda: not tab.tasks.busy and tab.model.rowCount() == 200)
    written(qtbot, tab)
    assert calls[-1][1] and len(calls[-1][0]) == 201  # a new sheet: every row, and the order

    model = tab.model
    seq = model.row_at(5).seq
    model.setData(model.index(5, 2), "Renamed.pdf")
    written(qtbot, tab)
    rows, replace = calls[-1]
    assert not replace and list(rows) == [seq]  # one edit, one row
    assert rows[seq][0][1] == "Renamed.pdf"

    removed = model.row_at(0).seq
    model.remove_rows([0])
    written(qtbot, tab)
    rows, _ = calls[-1]
    assert rows[removed] is None and set(rows) == {removed, ORDER_INDEX}

    model.sort(2, Qt.SortOrder.DescendingOrder)  # only the order changes
    written(qtbot, tab)
    assert set(calls[-1][0]) == {ORDER_INDEX}
    count = len(calls)
    tab.drafts.flush()  # nothing changed since: nothing written
    assert len(calls) == count


def test_the_next_start_offers_the_rows_back_exactly(qtbot: QtBot, make_tab: Any) -> None:
    first = make_tab()
    first.set_profile(demo_profile())
    first.open_sheet(DEMO_SHEET)
    qtbot.waitUntil(lambda: not first.tasks.busy and first.model.rowCount() == 200)
    model = first.model
    model.setData(model.index(8 - 1, 4), "2021-02-28 09:30:00")  # row 9's bad date fixed
    model.sort(2, Qt.SortOrder.AscendingOrder)
    model.remove_rows([3, 4])
    model.insert_rows(1, [{1: "NEW-1", 2: "Added in the editor.pdf"}])
    model.set_row_status(str(model.row_at(10).values[0]), STORED)
    written(qtbot, first)
    # The app is killed here: nothing more happens to the first tab.

    second = make_tab()
    second.set_profile(demo_profile())
    box = restore_prompt(qtbot, second)
    assert "199 rows from demo-records.xlsx" in box.informativeText()
    assert "198 not stored in Opus yet" in box.informativeText()
    click(box, "Restore")

    assert texts(second) == texts(first)
    assert second.model.invalid_rows == first.model.invalid_rows
    assert second.model.sheet_name == "Register"
    assert not second.model.undo_stack.isClean()  # unsent work: replacing it asks first
    assert second.model.row_at(1).source is None  # the row added in the editor
    # Editing the restored rows goes on being kept, without rewriting them all.
    second.model.setData(second.model.index(0, 2), "After the restore.pdf")
    written(qtbot, second)


def test_discarding_drops_the_draft_and_opens_the_sheet(qtbot: QtBot, make_tab: Any) -> None:
    first = make_tab()
    first.set_profile(demo_profile())
    first.view.paste_text("K-1\tFirst.pdf\r\n")
    written(qtbot, first)

    second = make_tab()
    second.set_profile(demo_profile())
    box = restore_prompt(qtbot, second, DEMO_SHEET)
    assert "1 row, kept at" in box.informativeText()
    click(box, "Discard")
    qtbot.waitUntil(lambda: not second.tasks.busy and second.model.rowCount() == 200)

    def draft_rows() -> int:
        with Journal(paths.journal_path()) as journal:
            draft = journal.load_draft("Demo")
        return -1 if draft is None else len(draft.rows)

    second.drafts.flush()
    qtbot.waitUntil(lambda: draft_rows() == 201)  # the demo sheet replaced the old draft


def test_a_clean_close_keeps_unsent_rows_and_drops_a_grid_all_stored(
    qtbot: QtBot, make_tab: Any, runner: TaskRunner
) -> None:
    tab = make_tab()
    tab.set_profile(demo_profile())
    tab.view.paste_text("K-1\tFirst.pdf\r\nK-2\tSecond.pdf\r\n")
    assert tab.can_close()
    runner.join()  # as the window does: the writer finishes first
    with Journal(paths.journal_path()) as journal:
        kept = journal.load_draft("Demo")
    assert kept is not None and len(kept.rows) == 3

    for key in ("K-1", "K-2"):
        tab.model.set_row_status(key, STORED)
    assert tab.can_close()
    runner.join()
    with Journal(paths.journal_path()) as journal:
        assert journal.load_draft("Demo") is None


def test_nothing_to_offer_opens_the_sheet_and_a_fresh_grid_keeps_no_draft(
    qtbot: QtBot, make_tab: Any, runner: TaskRunner
) -> None:
    tab = make_tab()
    tab.set_profile(demo_profile())
    tab.restore_or_open(DEMO_SHEET)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 200, timeout=10_000)
    assert tab.restore_prompt is None
    other = make_tab()
    other.set_profile(demo_profile(name="Other"))
    assert other.can_close()  # an empty grid never written: Other's draft is not touched
    runner.join()
    with Journal(paths.journal_path()) as journal:
        assert journal.load_draft("Other") is None


def test_rows_for_other_columns_are_not_shown(qtbot: QtBot, make_tab: Any) -> None:
    profile = demo_profile()
    columns = ColumnSet(profile.template(), profile.value_settings())
    with Journal(paths.journal_path()) as journal:
        journal.save_draft("Demo", {0: [["A"], None, 2, "", ""]}, {"columns": ["rowKey"]})
    found = find_unsent("Demo", columns)
    assert found.rows == [] and "other columns" in found.unusable
    tab = make_tab()
    tab.set_profile(profile)
    box = restore_prompt(qtbot, tab)
    assert "cannot be shown" in box.informativeText()


# -- with a run ----------------------------------------------------------------------------------


def sandbox_tab(qtbot: QtBot, make_tab: Any, sandbox: Sandbox, sheet: Path) -> RecordsTab:
    tab = make_tab()
    open_rows(qtbot, tab, sandbox_profile_for(sandbox), sheet)
    return tab


def test_a_run_closed_mid_way_comes_back_with_its_rows_and_finishes(
    qtbot: QtBot,
    make_tab: Any,
    make_sandbox: MakeSandbox,
    tmp_path: Path,
    runner: TaskRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *_: QMessageBox.StandardButton.Close)
    sandbox = make_sandbox(latency_ms=40)
    count = 300
    first = sandbox_tab(qtbot, make_tab, sandbox, write_sheet(tmp_path / "300.csv", count))
    first.submit_panel.concurrency.setValue(2)
    with qtbot.waitSignal(first.driver.ended, timeout=60_000):
        assert first.submit_panel.submit()
        qtbot.waitUntil(lambda: list(statuses(first).values()).count(STORED) >= 45)
        assert first.can_close()  # closing the window: "Stop sending?" answered Close
    runner.join()
    with Journal(paths.journal_path()) as journal:
        run = journal.runs(1)[0]
    assert run.status == "cancelled" and 45 <= run.counts.ok < count

    second = make_tab()
    second.set_profile(sandbox_profile_for(sandbox))
    box = restore_prompt(qtbot, second)
    informative = box.informativeText()
    assert f"Run {run.id} (cancelled): {run.counts.ok:,} of {count} records stored" in informative
    assert f"{count - run.counts.ok} not stored in Opus yet" in informative
    end = run_and_wait(qtbot, second, lambda: click(box, "Restore and resume"))

    assert end.run_id == run.id and end.summary is not None
    assert end.summary.status == "done" and end.summary.counts.ok == count
    stored_exactly(sandbox, range(1, count + 1))
    assert sandbox.stats()["records_written"] == count  # what reached Opus was not sent again
    assert set(statuses(second).values()) == {STORED}
    assert len(statuses(second)) == count


def test_restored_statuses_follow_the_journal_of_the_run_being_sent(
    qtbot: QtBot, make_tab: Any
) -> None:
    profile: Profile = demo_profile()
    columns = ColumnSet(profile.template(), profile.value_settings())
    rows = [columns.new_row({0: f"K-{n}", 1: "A.pdf"}, n) for n in range(3)]
    with Journal(paths.journal_path()) as journal:
        run = journal.create_run("submit", "Demo", [(None, f"K-{n}", {}) for n in range(3)])
        batch = journal.claim(run, 2)
        journal.finish(run, ok=[batch[0].key], failed={batch[1].key: "Column 'leafName': bad"})
        journal.save_draft(
            "Demo",
            {row.seq: encode_row(row) for row in rows},
            {"columns": list(columns.names), "runs": [run], "sending": run},
        )
    found = find_unsent("Demo", columns)
    assert [row.status for row in found.rows] == [STORED, FAILED, "pending"]
    assert found.rows[1].message == "Column 'leafName': bad"
    assert found.run is not None and found.run.id == run  # left running: interrupted
