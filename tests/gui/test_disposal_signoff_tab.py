"""The Disposal tab destroys from a signed-off due list as `destroy --input` does, against
the sandbox: the ticks the sheet gave are sent, the keys it left out are kept in the run
with their reasons (and never sent), the run keeps the sheet, and the certificate goes
beside it; ticks changed after the import make a plain run of the ticked records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from opus_desktop.gui.disposal.tab import DisposalTab
from opus_desktop.gui.settings import GuiSettings
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.jobs.journal import Journal
from opus_desktop.profiles import Profile
from opus_desktop.sandbox import Sandbox
from tests.gui.test_disposal_tab import confirm, fast_connections, now, wait_idle
from tests.helpers.signoff import due_dates, signed_list


@pytest.fixture
def tab(qtbot: QtBot, runner: TaskRunner, tmp_path: Path) -> Iterator[DisposalTab]:
    tab = DisposalTab(runner, GuiSettings(tmp_path / "gui.ini"), connections=fast_connections())
    qtbot.addWidget(tab)
    tab.resize(1100, 700)
    tab.show()
    yield tab
    tab.can_close()


def import_and_close_the_box(qtbot: QtBot, tab: DisposalTab, sheet: Path) -> None:
    tab.import_sheet(sheet)
    wait_idle(qtbot, tab)
    if tab.loader.message_box is not None:
        tab.loader.message_box.accept()
        qtbot.waitUntil(lambda: tab.loader.message_box is None)


def test_a_signed_off_list_is_destroyed_with_its_reasons_beside_it(
    qtbot: QtBot, tab: DisposalTab, sandbox: Sandbox, sandbox_profile: Profile, tmp_path: Path
) -> None:
    tab.set_profile(sandbox_profile)
    due = sorted(sandbox.due_keys(now()))
    dates = due_dates(sandbox)
    not_due = sorted(set(dates) - set(due))[0]
    stale, kept = due[3], due[4]
    dates_signed = {**dates, stale: "2001-01-01 00:00:00"}
    (tmp_path / "signed").mkdir()
    sheet = signed_list(
        tmp_path / "signed" / "due list.xlsx",
        [due[0], "NO-SUCH-KEY", due[1], not_due, stale, kept, due[2]],
        dates_signed,
        decisions={kept: "Keep"},
    )
    import_and_close_the_box(qtbot, tab, sheet)
    assert tab.model.checked_keys() == {due[0], due[1], due[2]}

    dialog = tab.mark_destroyed()
    assert dialog is not None
    assert str(tmp_path / "signed") in dialog.certificate_label.text()
    dialog.reject()
    confirm(qtbot, tab, "Schedule 4.2", "3")

    result = tab.destroyer.last_result
    assert result is not None and result.outcome.error is None
    assert sandbox.destroyed() == {due[0], due[1], due[2]}
    run = result.outcome.run
    assert run.input_path == str(sheet.resolve())
    assert result.certificate == tmp_path / "signed" / f"certificate-of-destruction-{run.id}.pdf"
    with Journal() as journal:
        items = {item.key: item for item in journal.items(run.id)}
    assert {key: item.row for key, item in items.items()} == {
        due[0]: 2,
        "NO-SUCH-KEY": 3,
        due[1]: 4,
        not_due: 5,
        stale: 6,
        due[2]: 8,
    }  # the Keep row is not in the run at all
    assert items["NO-SUCH-KEY"].state == "skipped"
    assert items["NO-SUCH-KEY"].message.startswith("Unknown to Opus:")
    assert items[not_due].message.startswith(
        f"Not due yet: its disposal is due on {dates[not_due]}"
    )
    assert items[stale].message.startswith("Held back: Opus now gives its disposal due date as")
    assert tab.loader.signed_off is None  # acted on


def test_ticks_changed_after_the_import_make_a_plain_run(
    qtbot: QtBot, tab: DisposalTab, sandbox: Sandbox, sandbox_profile: Profile, tmp_path: Path
) -> None:
    tab.set_profile(sandbox_profile)
    due = sorted(sandbox.due_keys(now()))
    sheet = signed_list(tmp_path / "due.xlsx", [due[0], due[1], "NO-SUCH-KEY"], due_dates(sandbox))
    import_and_close_the_box(qtbot, tab, sheet)
    assert tab.model.checked_keys() == {due[0], due[1]}
    tab.model.set_checked([due[1]], False)
    tab.model.set_checked([due[5]], True)  # the officer's own choice now

    dialog = tab.mark_destroyed()
    assert dialog is not None and "certificates" in dialog.certificate_label.text()
    dialog.reject()
    confirm(qtbot, tab, "Schedule 4.2", "2")

    result = tab.destroyer.last_result
    assert result is not None and sandbox.destroyed() == {due[0], due[5]}
    assert result.outcome.run.input_path is None
    assert [r.key for r in result.outcome.records] == [due[0], due[5]]
