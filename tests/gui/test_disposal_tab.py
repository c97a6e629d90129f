"""The Disposal tab against the sandbox over loopback: 250 due records on three pages,
forty ticked through filtering and sorting and destroyed through the confirmation, the
list shrinking, refusals with Opus's reasons and a retry, a signed-off sheet imported,
the sign-off sheet exported, the certificate read back, and the empty and error states.

Every test checks what the sandbox holds (destroyed(), due_keys()), not only what the
tab shows.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from openpyxl import Workbook, load_workbook
from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtTest import QAbstractItemModelTester
from pytestqt.qtbot import QtBot

from opus_desktop.gui.disposal import outcome as outcome_module
from opus_desktop.gui.disposal.model import CHECK_COLUMN, CHECKED
from opus_desktop.gui.disposal.tab import DisposalTab
from opus_desktop.gui.settings import GuiSettings
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.jobs.audit import AuditLog
from opus_desktop.jobs.connect import Connection, connect
from opus_desktop.jobs.disposal_outcome import reason_kind
from opus_desktop.jobs.due import DueRecord, due_table
from opus_desktop.jobs.journal import Journal
from opus_desktop.opus import RetryPolicy
from opus_desktop.profiles import Profile
from opus_desktop.sandbox import Sandbox
from opus_desktop.usecases.disposing import Connections
from tests.helpers.signoff import due_dates, signed_list
from tests.helpers.tools import pdftotext
from tests.integration.conftest import MakeSandbox
from tests.integration.test_disposal_sandbox import add_due_records, open_connection
from tests.unit.test_disposal import TENANT, FakeOpus
from tests.unit.test_disposal import key as fake_key

WAIT_MS = 30_000


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def fast_connections() -> Connections:
    return Connections(
        lambda profile, password: connect(
            profile, password, retry=RetryPolicy(attempts=3, base=0.01, cap=0.05)
        )
    )


def wait_idle(qtbot: QtBot, tab: DisposalTab) -> None:
    qtbot.waitUntil(lambda: not tab.tasks.busy, timeout=WAIT_MS)


def make_tab(qtbot: QtBot, runner: TaskRunner, tmp_path: Path) -> Iterator[DisposalTab]:
    tab = DisposalTab(runner, GuiSettings(tmp_path / "gui.ini"), connections=fast_connections())
    qtbot.addWidget(tab)
    tab.resize(1100, 700)
    tab.show()
    yield tab
    tab.can_close()


@pytest.fixture
def tab(qtbot: QtBot, runner: TaskRunner, tmp_path: Path) -> Iterator[DisposalTab]:
    yield from make_tab(qtbot, runner, tmp_path)


@pytest.fixture
def due_250(make_sandbox: MakeSandbox) -> tuple[Sandbox, Profile]:
    """The demo tenant's 120 due records and 130 more: 250, three pages of 100."""
    sandbox = make_sandbox()
    with open_connection(sandbox) as connection:
        add_due_records(connection, sandbox)
        profile = connection.profile
    assert len(sandbox.due_keys(now())) == 250
    return sandbox, profile


def model_check(model: QAbstractItemModel) -> None:
    """Qt's model tester (what the qtmodeltester fixture runs) over `model` as it is now;
    what it finds is a Qt warning, which fails the test. The fixture's tester would also
    watch every later change, which over 250 rows costs seconds; test_disposal_model.py
    has it watch the same model's changes on smaller lists."""
    QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Warning)


def pdf_words(path: Path) -> str:
    text = subprocess.run(
        [pdftotext(), "-raw", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return " ".join(text.split())


def tick_in_view(qtbot: QtBot, tab: DisposalTab, key: str) -> None:
    """Click a record's box, as the officer does (scrolling to it first)."""
    row = tab.model.row_of(key)
    assert row is not None
    index = tab.proxy.mapFromSource(tab.model.index(row, CHECK_COLUMN))
    tab.view.scrollTo(index)
    point = tab.view.tick_point(key)
    assert point is not None
    qtbot.mouseClick(tab.view.viewport(), Qt.MouseButton.LeftButton, pos=point)


def shown_ticked(tab: DisposalTab) -> set[str]:
    return {
        key
        for row, key in enumerate(tab.proxy.shown_keys())
        if tab.proxy.index(row, CHECK_COLUMN).data(Qt.ItemDataRole.CheckStateRole) == CHECKED
    }


def confirm(qtbot: QtBot, tab: DisposalTab, justification: str, typed: str) -> None:
    dialog = tab.mark_destroyed()
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.justification_edit, justification)
    qtbot.keyClicks(dialog.typed_edit, typed)
    assert dialog.ok_button.isEnabled(), dialog.hint.text()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.tasks.busy or tab.destroyer.last_result is not None)
    wait_idle(qtbot, tab)


# -- the walk through ---------------------------------------------------------------------------


def test_page_through_tick_forty_filter_sort_destroy_exactly_those(
    qtbot: QtBot,
    tab: DisposalTab,
    due_250: tuple[Sandbox, Profile],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sandbox, profile = due_250
    tab.set_profile(profile)
    model_check(tab.model)
    assert tab.view.placeholder.startswith("Press Load to list the records")
    assert not tab.destroy_action.isEnabled()
    assert tab.destroy_action.toolTip() == "Nothing is listed yet: Load the due records first."

    tab.load()
    wait_idle(qtbot, tab)
    assert tab.model.rowCount() == 100 and tab.loader.pages == 1 and not tab.loader.complete
    assert tab.counts.text() == "0 ticked of 100 loaded · more to load"
    first_page = tab.model.row_keys()
    ticked = set(first_page[::5])  # 20 from the first page
    tab.model.set_checked(ticked, True)
    tab.load_more()
    wait_idle(qtbot, tab)
    assert tab.model.rowCount() == 200 and tab.model.row_keys()[:100] == first_page
    second_page = tab.model.row_keys()[100:]
    clicked = second_page[::5][:19]
    for key in clicked[:5]:  # clicked in the view, as the officer does
        tick_in_view(qtbot, tab, key)
    tab.model.set_checked(clicked[5:], True)
    ticked |= set(clicked)
    assert tab.model.checked_keys() == ticked
    tab.load_more()
    wait_idle(qtbot, tab)
    assert tab.model.rowCount() == 250 and tab.loader.complete
    assert set(tab.model.row_keys()) == sandbox.due_keys(tab.loader.before or now())
    assert not tab.load_more_action.isEnabled()
    assert tab.load_more_action.toolTip() == "Every page is loaded."
    last = tab.model.row_keys()[-1]
    ticked.add(last)
    tab.model.set_checked([last], True)
    assert tab.model.checked_keys() == ticked and len(ticked) == 40
    model_check(tab.model)  # ticked rows, every page

    tab.set_filter("Invoices")
    shown = tab.proxy.shown_keys()
    assert 0 < len(shown) < 250
    assert all(tab.model.record_at(tab.model.row_of(k) or 0).classification.endswith("Invoices")
               for k in shown)  # fmt: skip
    assert shown_ticked(tab) == ticked & set(shown)
    assert f"{len(shown)} shown" in tab.counts.text()
    tab.view.sortByColumn(tab.model.column_of("disposalDueDate"), Qt.SortOrder.DescendingOrder)
    assert shown_ticked(tab) == ticked & set(shown)
    tab.set_filter("")
    tab.view.sortByColumn(CHECK_COLUMN, Qt.SortOrder.DescendingOrder)
    assert set(tab.proxy.shown_keys()[:40]) == ticked == shown_ticked(tab)
    assert tab.model.checked_keys() == ticked
    assert tab.counts.text() == "40 ticked of 250 loaded · all pages"
    model_check(tab.proxy)  # sorted by the ticks
    assert tab.destroy_action.iconText() == "Mark 40 destroyed..."

    confirm(qtbot, tab, "Retention over under schedule 4.2", "40")

    assert sandbox.destroyed() == ticked
    assert sandbox.due_keys(tab.loader.before or now()) == set(tab.model.row_keys())
    assert tab.model.rowCount() == 210 and not ticked & set(tab.model.row_keys())
    assert tab.model.checked_count == 0
    model_check(tab.proxy)
    model_check(tab.outcome.model)
    result = tab.destroyer.last_result
    assert result is not None and result.outcome.all_destroyed
    assert tab.outcome.isVisible()
    assert tab.outcome.title.text().endswith(": 40 destroyed, 0 not destroyed.")
    texts = {tab.outcome.model.index(r, 4).data() for r in range(tab.outcome.model.rowCount())}
    assert texts == {"Destroyed"}
    assert not tab.outcome.retry_button.isEnabled()

    certificate = tab.outcome.certificate()
    assert certificate is not None and certificate.exists()
    assert certificate.parent.name == "certificates"
    words = pdf_words(certificate)
    assert all(key in words for key in ticked)
    assert "Retention over under schedule 4.2" in words
    opened: list[Path] = []
    monkeypatch.setattr(outcome_module, "open_path", lambda path: opened.append(path) or True)
    qtbot.mouseClick(tab.outcome.open_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(tab.outcome.folder_button, Qt.MouseButton.LeftButton)
    assert opened == [certificate, certificate.parent]
    monkeypatch.setattr(outcome_module, "open_path", lambda path: False)  # no PDF viewer
    qtbot.mouseClick(tab.outcome.open_button, Qt.MouseButton.LeftButton)
    notice = tab.outcome.message_box
    assert notice is not None and notice.isVisible()
    assert f"no application set to open {certificate}" in notice.text()
    notice.accept()

    with Journal() as journal:
        assert AuditLog().verify(journal.audit_anchors()).ok
        (run,) = journal.runs(kind="destroy")
        assert run.counts.ok == 40 and run.options["justification"].startswith("Retention")
    (entry,) = AuditLog().entries()
    assert {k for k, a in entry.entry["answers"].items() if a["outcome"] == "destroyed"} == ticked


def test_refusals_show_opus_s_reason_and_retry_sends_them_again(
    qtbot: QtBot, tab: DisposalTab, sandbox: Sandbox, sandbox_profile: Profile
) -> None:
    tab.set_profile(sandbox_profile)
    tab.load_all()
    wait_idle(qtbot, tab)
    assert tab.model.rowCount() == 120 and tab.loader.complete
    gone, waiting, fine = tab.model.row_keys()[:3]
    # Listed a while ago: since then someone destroyed one, one awaits approval, and one
    # the list still shows is not in Opus at all.
    with open_connection(sandbox) as connection:
        assert connection.client.destroy([gone]).destroyed == [gone]
    sandbox.set_record_state(waiting, "awaiting approval")
    ghost = DueRecord("GHOST-1", "Lost file.docx", "Records/Legal", "2020-01-01 00:00:00", None)
    tab.model.append([ghost])
    tab.model.set_checked([gone, waiting, fine, "GHOST-1"], True)

    confirm(qtbot, tab, "Schedule 4.2", "4")

    result = tab.destroyer.last_result
    assert result is not None
    failed = {r.key: reason_kind(r.message) for r in result.outcome.failed}
    assert failed == {
        gone: "already destroyed",
        waiting: "awaiting approval",
        "GHOST-1": "not found",
    }
    assert [r.key for r in result.outcome.destroyed] == [fine]
    assert sandbox.destroyed() == {gone, fine}
    shown = {
        tab.outcome.model.index(r, 0).data(): tab.outcome.model.index(r, 4).data()
        for r in range(tab.outcome.model.rowCount())
    }
    assert shown[fine] == "Destroyed"
    assert shown[gone] == "Not destroyed: already destroyed"
    assert shown[waiting] == "Not destroyed: awaiting approval"
    assert shown["GHOST-1"] == "Not destroyed: not found"
    assert tab.outcome.title.text().endswith(": 1 destroyed, 3 not destroyed.")
    assert fine not in tab.model.row_keys() and waiting in tab.model.row_keys()  # only destroyed go
    assert tab.outcome.retry_button.isEnabled()

    sandbox.set_record_state(waiting, "active")  # approved meanwhile
    qtbot.mouseClick(tab.outcome.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.destroyer.last_result is not result, timeout=WAIT_MS)
    wait_idle(qtbot, tab)
    again = tab.destroyer.last_result
    assert again is not None and again.run_id == result.run_id
    assert sorted(r.key for r in again.outcome.destroyed) == sorted([fine, waiting])
    assert sandbox.destroyed() == {gone, fine, waiting}
    assert waiting not in tab.model.row_keys()
    assert reason_kind(next(r.message for r in again.outcome.failed if r.key == gone)) == (
        "already destroyed"
    )
    assert not tab.outcome.retry_button.isEnabled()  # what is left would change nothing
    assert "would change nothing" in tab.outcome.retry_button.toolTip()
    with Journal() as journal:
        assert AuditLog().verify(journal.audit_anchors()).ok
    assert len(list(AuditLog().entries())) == 2


def test_after_a_destroy_with_pages_left_the_list_goes_on_without_a_gap(
    qtbot: QtBot, runner: TaskRunner, sandbox_profile: Profile, tmp_path: Path
) -> None:
    # A service whose continuation token is an offset into the list (as Opus's startIndex
    # may be): once records are destroyed, the token of the next page skips as many.
    opus = FakeOpus(110)
    opus.connection_id = TENANT.connection_id  # type: ignore[attr-defined]
    opus.retry = RetryPolicy()  # type: ignore[attr-defined]
    signed_out = SimpleNamespace(seconds_left=lambda: None)
    fake = cast(Connection, SimpleNamespace(client=opus, close=lambda: None, tokens=signed_out))
    tab = DisposalTab(
        runner, GuiSettings(tmp_path / "gui.ini"), connections=Connections(lambda *_: fake)
    )
    qtbot.addWidget(tab)
    tab.set_profile(sandbox_profile)
    tab.page_size.setValue(50)
    tab.load()
    wait_idle(qtbot, tab)
    first = tab.model.row_keys()
    assert first == [fake_key(n) for n in range(50)]
    tab.model.set_checked(first[:10], True)
    confirm(qtbot, tab, "Schedule 4.2", "10")
    assert tab.model.row_keys() == first[10:]
    assert {k for k, state in opus.state.items() if state == "destroyed"} == set(first[:10])

    tab.load_more()  # read again from the first page, one page further than before
    wait_idle(qtbot, tab)
    assert tab.model.row_keys() == [fake_key(n) for n in range(10, 110)]
    assert tab.loader.pages == 2
    tab.load_all()
    wait_idle(qtbot, tab)
    assert tab.loader.complete and tab.model.rowCount() == 100  # nothing skipped or twice


# -- sign-off sheets ----------------------------------------------------------------------------


def test_export_writes_the_sheet_due_out_writes(
    qtbot: QtBot, tab: DisposalTab, sandbox: Sandbox, sandbox_profile: Profile, tmp_path: Path
) -> None:
    tab.set_profile(sandbox_profile)
    tab.load_all()
    wait_idle(qtbot, tab)
    whole = tmp_path / "due.xlsx"
    tab.export(whole)
    wait_idle(qtbot, tab)
    book = load_workbook(whole, read_only=True)
    try:
        rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
    headers, expected = due_table(tab.model.records(), sandbox_profile.template())
    assert rows[0] == headers
    assert rows[0][0] == "Row key" and rows[0][-1] == "Disposal due date"
    assert "Case Number" in rows[0]
    assert len(rows) == 121
    assert [r[0] for r in rows[1:]] == tab.model.row_keys()
    assert [["" if c is None else str(c) for c in r] for r in rows[1:]] == list(expected)

    tab.model.set_checked(tab.model.row_keys()[10:13], True)
    ticked = tmp_path / "ticked.xlsx"
    tab.export(ticked, ticked=True)
    wait_idle(qtbot, tab)
    book = load_workbook(ticked, read_only=True)
    try:
        keys = [r[0] for r in book.worksheets[0].iter_rows(min_row=2, values_only=True)]
    finally:
        book.close()
    assert keys == tab.model.row_keys()[10:13]


def test_a_signed_off_sheet_ticks_exactly_its_keys_and_lists_the_others(
    qtbot: QtBot, tab: DisposalTab, sandbox: Sandbox, sandbox_profile: Profile, tmp_path: Path
) -> None:
    tab.set_profile(sandbox_profile)
    tab.page_size.setValue(50)
    tab.load()
    wait_idle(qtbot, tab)
    assert tab.model.rowCount() == 50 and not tab.loader.complete
    tab.model.set_checked(tab.model.row_keys()[:5], True)  # ticked before: not on the sheet
    due = sorted(sandbox.due_keys(now()))
    later = [k for k in due if k not in tab.model.row_keys()][:8]  # on pages not loaded yet
    kept, stale = later[6], later[7]
    dates = due_dates(sandbox)
    not_due = sorted(set(dates) - set(due))[0]
    dates[stale] = "2001-02-03 04:05:06"  # the retention changed after sign-off
    keys = [later[0], "NO-SUCH-KEY", *later[1:6], later[2], not_due, kept, stale, "GHOST-2"]
    signed = signed_list(tmp_path / "signed off.xlsx", keys, dates, decisions={kept: "Keep"})
    requests = sandbox.stats()

    tab.import_sheet(signed)
    wait_idle(qtbot, tab)

    assert tab.model.rowCount() == 120 and tab.loader.complete  # the rest was loaded first
    assert tab.model.checked_keys() == set(later[:6])
    assert sandbox.stats().get("graph.destroy", 0) == requests.get("graph.destroy", 0)
    box = tab.loader.message_box
    assert box is not None and box.isVisible()
    assert box.windowTitle() == "Keys left out"
    text = box.text()
    assert "6 of the sheet's keys are ticked. 1 is marked Keep, so it is not ticked." in text
    assert "Held back: the retention changed after sign-off (1):" in text
    assert f"{stale} (row 12): Held back: Opus now gives its disposal due date as" in text
    assert "Not due yet (1):" in text
    assert f"{not_due} (row 10): Not due yet: its disposal is due on {dates[not_due]}" in text
    # One reason for every unknown key: said once, then the keys with their rows.
    assert text.count("Unknown to Opus") == 1 and text.count("check the keys") == 1
    assert (
        "Unknown to Opus (2):\nNo record with these keys is listed for disposal at any date, "
        "and no disposal run of this app destroyed them; check the keys:\n"
        "NO-SUCH-KEY (row 3), GHOST-2 (row 13)"
    ) in text
    assert "NO-SUCH-KEY (row 3): Unknown to Opus: no record" in box.detailedText()
    assert "1 key appears more than once; it counts once." in text
    assert f"{later[2]} again in rows 9" in box.detailedText()
    box.accept()
    qtbot.waitUntil(lambda: tab.loader.message_box is None)

    bad = tmp_path / "no keys.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Name", "Approved by"])
    sheet.append(["A file", "Records manager"])
    book.save(bad)
    tab.import_sheet(bad)
    wait_idle(qtbot, tab)
    assert tab.banner.isVisible() and 'no column headed "Row key"' in tab.banner.text()
    assert tab.model.checked_keys() == set(later[:6])  # a sheet that cannot be read changes nothing

    imported = tmp_path / "import sheet.xlsx"  # the keys of an import sheet, not a due list
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Row key", "Name", "Created time"])
    for key in due[:10]:
        sheet.append([key, "A file", "2010-01-01 00:00:00"])
    book.save(imported)
    tab.import_sheet(imported)
    wait_idle(qtbot, tab)
    assert tab.banner.isVisible()
    assert 'has no "Disposal due date" column, so it is not a due list' in tab.banner.text()
    assert tab.model.checked_keys() == set(later[:6])


# -- empty and error states ---------------------------------------------------------------------


def test_empty_and_error_states_say_what_is_going_on(
    qtbot: QtBot, tab: DisposalTab, sandbox: Sandbox, sandbox_profile: Profile
) -> None:
    assert tab.view.placeholder.startswith("Choose a profile")
    assert not tab.load_action.isEnabled()
    assert tab.load_action.toolTip() == "Choose a profile first."

    tab.set_profile(sandbox_profile)
    tab.set_before(datetime(1990, 1, 1, 12, 0, tzinfo=UTC))
    tab.load()
    assert not tab.load_all_action.isEnabled()
    assert tab.load_all_action.toolTip() == "Wait until loading ends, or cancel it."
    wait_idle(qtbot, tab)
    assert tab.model.rowCount() == 0 and tab.loader.complete
    when = datetime(1990, 1, 1, 12, 0, tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M")
    assert tab.view.placeholder == f"No records are due before {when}."
    assert tab.tick_all_action.toolTip() == "Nothing is listed yet: Load the due records first."

    tab.set_before_now()
    tab.load_more()  # the list of 1990 is complete: nothing more to load
    assert not tab.tasks.busy
    tab.load()
    wait_idle(qtbot, tab)
    tab.set_filter("no record has this text")
    assert tab.view.placeholder == "No loaded record matches “no record has this text”."
    assert tab.tick_shown_action.toolTip() == "The filter shows no record."

    from dataclasses import replace

    nowhere = replace(sandbox_profile, api_url="http://127.0.0.1:9")  # nothing listens
    tab.set_profile(nowhere)
    assert tab.model.rowCount() == 0 and not tab.outcome.isVisible()
    tab.load()
    wait_idle(qtbot, tab)
    assert tab.banner.isVisible()
    assert "127.0.0.1:9" in tab.banner.text() or "reach" in tab.banner.text()
    assert tab.view.placeholder == tab.banner.text()
