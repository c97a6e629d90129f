"""The demo sheet as read is no unsent work: the next start with it opens it afresh, with
no prompt; once a cell of it is edited, the next start offers the rows back."""

from __future__ import annotations

from typing import Any

from pytestqt.qtbot import QtBot

from opus_desktop import paths
from opus_desktop.jobs.journal import Journal
from tests.gui.test_drafts import make_tab, restore_prompt, written
from tests.helpers.editor import DEMO_SHEET, demo_profile

__all__ = ["make_tab"]


def opened(qtbot: QtBot, make_tab: Any) -> Any:
    tab = make_tab()
    tab.set_profile(demo_profile())
    tab.restore_or_open(DEMO_SHEET)
    qtbot.waitUntil(lambda: not tab.tasks.busy and tab.model.rowCount() == 200, timeout=10_000)
    return tab


def test_the_demo_sheet_as_read_is_not_offered_back(qtbot: QtBot, make_tab: Any) -> None:
    first = opened(qtbot, make_tab)
    written(qtbot, first)
    assert first.drafts.meta["edited"] is False

    second = opened(qtbot, make_tab)
    assert second.restore_prompt is None
    assert second.drafts.meta["edited"] is False


def test_an_edit_makes_the_demo_sheet_work_to_offer_back(qtbot: QtBot, make_tab: Any) -> None:
    first = opened(qtbot, make_tab)
    first.model.setData(first.model.index(8 - 1, 4), "2021-02-28 09:30:00")
    assert first.drafts.meta["edited"] is True
    written(qtbot, first)

    second = make_tab()
    second.set_profile(demo_profile())
    box = restore_prompt(qtbot, second, DEMO_SHEET)
    assert "200 rows from demo-records.xlsx" in box.informativeText()
    box.reject()


def test_the_demo_sheet_left_by_a_sandbox_start_is_not_offered_to_a_plain_one(
    qtbot: QtBot, make_tab: Any
) -> None:
    first = opened(qtbot, make_tab)
    written(qtbot, first)

    plain = make_tab()  # the next start without --sandbox: no sheet to open
    plain.set_profile(demo_profile())
    plain.restore_or_open(None)
    qtbot.waitUntil(lambda: not plain.tasks.busy, timeout=10_000)
    qtbot.wait(50)
    assert plain.restore_prompt is None and plain.model.rowCount() == 0
    with Journal(paths.journal_path()) as journal:
        assert journal.load_draft("Demo") is None  # the sheet as read is no work to keep
