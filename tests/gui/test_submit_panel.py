"""The submit panel against the sandbox: a full run through faults, refusals while cells are
invalid, cancel and resume, a refused row fixed in the grid and sent again, dry runs, the
password dialog, and closing the window during a run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from opus_desktop import paths
from opus_desktop.core.sheets import read_sheet
from opus_desktop.gui.editor.filters import RowFilter
from opus_desktop.gui.editor.model import PROBLEM_ROLE
from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.gui.main_window import MainWindow
from opus_desktop.gui.settings import GuiSettings
from opus_desktop.gui.submit.driver import RunEnd
from opus_desktop.gui.submit.results import (
    ColumnNames,
    named_column,
    progress_text,
    status_changes,
)
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.state import BatchResult, Progress
from opus_desktop.opus.retry import RetryPolicy
from opus_desktop.profiles import Profile, find_profile, save_profile
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from opus_desktop.usecases import connection as access
from opus_desktop.usecases.rows import FAILED, PENDING, SENT, STORED
from tests.helpers.editor import DEMO_SHEET, demo_profile
from tests.helpers.workbooks import write_csv
from tests.integration.conftest import MakeSandbox
from tests.integration.test_submit_sandbox import (
    SHEET_HEADERS,
    key,
    payload,
    sheet_row,
    stored_exactly,
    write_sheet,
)

RUN_TIMEOUT = 60_000
UNKNOWN_TERM = "Records/Finance/Receipts"  # the client accepts it; the sandbox does not


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "retry_policy", lambda: RetryPolicy(attempts=6, base=0.02, cap=0.2))


@pytest.fixture
def tab(qtbot: QtBot, runner: TaskRunner) -> Iterator[RecordsTab]:
    tab = RecordsTab(runner)
    qtbot.addWidget(tab)
    tab.resize(1300, 800)
    tab.show()
    yield tab
    close_summary(tab)


def sandbox_profile_for(sandbox: Sandbox, **changes: object) -> Profile:
    profile = save_sandbox_profiles(sandbox)
    if changes:
        profile = save_profile(replace(profile, **changes))  # type: ignore[arg-type]
    return find_profile(profile.name)


def open_rows(qtbot: QtBot, tab: RecordsTab, profile: Profile, sheet: Path) -> None:
    tab.set_profile(profile)
    tab.open_sheet(sheet)
    qtbot.waitUntil(lambda: not tab.tasks.busy and tab.model.rowCount() > 0, timeout=10_000)
    tab.submit_panel.update_state()  # (it follows the counts a moment later on its own)


def run_and_wait(qtbot: QtBot, tab: RecordsTab, start: object) -> RunEnd:
    with qtbot.waitSignal(tab.driver.ended, timeout=RUN_TIMEOUT) as ended:
        assert callable(start) and start() is not False
    end = ended.args[0]
    assert isinstance(end, RunEnd)
    return end


def close_summary(tab: RecordsTab) -> None:
    box = tab.submit_panel.summary
    if box is not None:
        box.done(0)


def statuses(tab: RecordsTab) -> dict[str, str]:
    model = tab.model
    assert model.columns is not None
    at = model.columns.key_index
    return {str(row.values[at]): row.status for row in model.rows()}


def journal_runs() -> list[str]:
    if not paths.journal_path().exists():
        return []
    with Journal(paths.journal_path()) as journal:
        return [run.id for run in journal.runs()]


def cell_of(tab: RecordsTab, row_key: str, display_name: str) -> tuple[int, int]:
    model = tab.model
    assert model.columns is not None
    position = [str(r.values[model.columns.key_index]) for r in model.rows()].index(row_key)
    column = 1 + [c.display_name for c in model.columns.columns].index(display_name)
    return position, column


# -- without a sandbox ------------------------------------------------------------------------


def test_a_message_names_its_column_by_internal_or_display_name(qapp: object) -> None:
    from opus_desktop.usecases.rows import ColumnSet

    profile = demo_profile()
    columns = ColumnSet(profile.template(), profile.value_settings())
    names = [c.display_name for c in columns.columns]
    said = "Column 'termFullPath' (Taxonomy): \"Records/X\" is not a term of this column."
    assert named_column(said, columns) == names.index("Classification")
    assert named_column("Page Count: 'twelve' is not a number.", columns) == names.index(
        "Page Count"
    )
    assert named_column("Column '_Page_%20_Count' (Number): bad", columns) == names.index(
        "Page Count"
    )
    # The longer name wins where a shorter one is inside it; no name, no column.
    assert named_column("Created time is wrong", columns) == names.index("Created time")
    assert named_column("The service could not store the record.", columns) is None

    result = BatchResult(
        ok=("A",), failed={"B": said}, released=("C",), message="The service did not answer."
    )
    changes = status_changes(result, ColumnNames(columns))
    assert changes[0] == ("A", STORED, "", None)
    assert changes[1] == ("B", FAILED, said, names.index("Classification"))
    assert changes[2][:2] == ("C", SENT) and "sent again" in changes[2][2]
    cancelled = status_changes(BatchResult(released=("D",)), None)
    assert cancelled == [("D", PENDING, "", None)]


def test_progress_reads_done_total_rate_and_time_left() -> None:
    progress = Progress(10_000, 4_200, 15, 0, 85.0, 68.0, 50.0, "", False)
    assert progress_text(progress) == (
        "4,215 of 10,000 records · 15 failed · 85 records/s · 1 min 8 s left"
    )
    done = Progress(10, 10, 0, 0, 5.0, 0.0, 2.0, "Done", False)
    assert progress_text(done) == "10 of 10 records · 5 records/s"


# -- against the sandbox ------------------------------------------------------------------------


def test_a_run_through_throttling_and_lost_answers_stores_and_marks_every_row(
    qtbot: QtBot, tab: RecordsTab, make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make_sandbox(throttle_rate=0.15, drop_rate=0.1, retry_after=0, seed=7)
    numbers = range(1, 601)
    open_rows(qtbot, tab, sandbox_profile_for(sandbox), write_sheet(tmp_path / "600.csv", 600))
    panel = tab.submit_panel
    panel.concurrency.setValue(4)
    assert panel.submit_button.isEnabled() and panel.submit_button.text() == "Submit 600 rows"
    progress: list[Progress] = []
    tab.driver.progress.connect(progress.append)

    end = run_and_wait(qtbot, tab, panel.submit)

    assert end.error is None and end.summary is not None, end
    assert end.summary.status == "done" and end.summary.counts.ok == 600
    stored_exactly(sandbox, numbers)
    stats = sandbox.stats()
    assert stats["http_429"] > 0 and stats["drops"] > 0  # the faults did happen
    assert set(statuses(tab).values()) == {STORED}
    assert statuses(tab).keys() == {key(n) for n in numbers}
    # Progress went up to every record, with a rate once records were done.
    assert progress[-1].done == 600 and progress[-1].total == 600
    assert any(p.rate for p in progress)
    assert not tab.model.locked  # read-only only while its rows were sent
    assert panel.summary is not None and "600 stored, 0 failed, 0 skipped" in panel.summary.text()
    assert panel.outcome.text().startswith(
        f"Run {end.run_id} finished: 600 stored, 0 failed, 0 skipped. This time: 600 records in "
    )
    with Journal(paths.journal_path()) as journal:
        info = journal.run(end.run_id or "")
    assert info.status == "done" and info.options["from"] == "editor"
    assert info.input_path == str(tmp_path / "600.csv") and info.input_sha256


def test_submit_is_refused_while_cells_are_invalid_and_jumps_to_the_first(
    qtbot: QtBot, tab: RecordsTab, sandbox: Sandbox
) -> None:
    open_rows(qtbot, tab, sandbox_profile_for(sandbox), DEMO_SHEET)
    panel = tab.submit_panel
    panel.update_state()
    assert not panel.submit_button.isEnabled()
    assert panel.blocked.text() == ("6 rows have cells Opus would refuse: fix them before sending.")
    assert not panel.submit()
    assert "6 rows have cells Opus would refuse" in panel.outcome.text()
    assert sandbox.stats().get("graph.submit", 0) == 0 and journal_runs() == []

    tab.set_filter(RowFilter.FAILED)  # hides the rows: the jump shows them again
    assert panel.go_to_first_invalid()
    current = tab.proxy.mapToSource(tab.view.currentIndex())
    assert tab.model.row_at(current.row()).source == 9  # the first planted mistake
    assert tab.model.headerData(current.column(), Qt.Orientation.Horizontal) == "Created time"
    assert current.data(PROBLEM_ROLE)


def test_the_valid_rows_can_be_sent_alone_and_the_invalid_ones_are_skipped(
    qtbot: QtBot, tab: RecordsTab, sandbox: Sandbox
) -> None:
    open_rows(qtbot, tab, sandbox_profile_for(sandbox), DEMO_SHEET)
    panel = tab.submit_panel
    total = tab.model.rowCount()
    assert panel.valid_only.isVisibleTo(panel) and not panel.submit_button.isEnabled()

    panel.valid_only.setChecked(True)

    assert panel.submit_button.isEnabled()
    assert panel.submit_button.text() == f"Submit {total - 6} rows"
    assert (
        panel.blocked.text() == "6 rows have cells Opus would refuse: they are skipped, not sent."
    )
    end = run_and_wait(qtbot, tab, panel.submit)
    assert end.summary is not None and end.summary.status == "done"
    counts = end.summary.counts
    assert (counts.ok, counts.skipped, counts.failed) == (total - 6, 6, 0)
    shown = statuses(tab)
    assert sorted(shown.values()).count("skipped") == 6
    assert set(shown.values()) == {"stored", "skipped"}
    with Journal(paths.journal_path()) as journal:
        skipped = list(journal.items(end.summary.run_id, ["skipped"]))
    assert len(skipped) == 6 and all(item.message for item in skipped)
    assert sandbox.stats()["records_written"] == total - 6


def test_cancel_mid_run_then_resume_from_the_panel_stores_every_record_once(
    qtbot: QtBot, tab: RecordsTab, make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make_sandbox(latency_ms=40)
    count = 450
    open_rows(qtbot, tab, sandbox_profile_for(sandbox), write_sheet(tmp_path / "m.csv", count))
    panel = tab.submit_panel
    panel.concurrency.setValue(2)
    with qtbot.waitSignal(tab.driver.ended, timeout=RUN_TIMEOUT) as ended:
        assert panel.submit()
        qtbot.waitUntil(lambda: list(statuses(tab).values()).count(STORED) >= 60, timeout=20_000)
        assert tab.model.locked  # the grid is read-only while its rows are sent
        panel.cancel()
    end = ended.args[0]
    assert end.summary is not None and end.summary.status == "cancelled"
    stored_first = end.summary.counts.ok
    assert 60 <= stored_first < count and end.summary.counts.remaining == count - stored_first
    shown = statuses(tab)
    assert list(shown.values()).count(STORED) == stored_first
    assert set(shown.values()) == {STORED, PENDING}
    close_summary(tab)
    panel.update_state()
    assert panel.resume_button.isVisible() and panel.resumable_run() == end.run_id

    resumed = run_and_wait(qtbot, tab, panel.resume)

    assert resumed.run_id == end.run_id and resumed.summary is not None
    assert resumed.summary.status == "done" and resumed.summary.counts.ok == count
    stored_exactly(sandbox, range(1, count + 1))
    assert sandbox.stats()["records_written"] == count  # each record sent once
    assert set(statuses(tab).values()) == {STORED}
    panel.update_state()
    assert not panel.resume_button.isVisible()


def test_a_refused_row_carries_the_message_on_its_cell_and_is_fixed_and_sent_again(
    qtbot: QtBot, tab: RecordsTab, sandbox: Sandbox, tmp_path: Path
) -> None:
    # The profile lists no terms, so only the service can refuse an unknown one.
    profile = sandbox_profile_for(sandbox)
    profile = sandbox_profile_for(sandbox, terms={**profile.terms, "termFullPath": []})
    rows = [sheet_row(n) for n in range(1, 31)]
    rows[4][2] = UNKNOWN_TERM  # key(5)
    open_rows(qtbot, tab, profile, write_csv(tmp_path / "thirty.csv", [SHEET_HEADERS, *rows]))
    panel = tab.submit_panel

    end = run_and_wait(qtbot, tab, panel.submit)

    assert end.summary is not None and (end.summary.counts.ok, end.summary.counts.failed) == (
        29,
        1,
    )
    assert statuses(tab)[key(5)] == FAILED
    position, column = cell_of(tab, key(5), "Classification")
    model = tab.model
    assert model.refused_column(position) == column - 1
    message = model.index(position, column).data(Qt.ItemDataRole.ToolTipRole)
    assert UNKNOWN_TERM in message and "termFullPath" in message
    assert model.index(position, column).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert model.index(position, 0).data(Qt.ItemDataRole.ToolTipRole) == message
    assert model.index(position, 2).data(Qt.ItemDataRole.BackgroundRole) is None  # Name: fine
    close_summary(tab)
    panel.update_state()
    assert panel.failed_count == 1
    assert panel.retry_button.text() == "Submit failed rows again (1)"

    assert panel.select_failed() == 1
    assert tab.view.row_filter is RowFilter.FAILED
    assert tab.view.selected_source_rows() == [position]

    exported = tmp_path / "failed.xlsx"
    assert panel.export_failed(exported)
    qtbot.waitUntil(lambda: not tab.tasks.busy, timeout=10_000)
    book = load_workbook(exported, read_only=True)
    failed_rows = list(book["Failed rows"].iter_rows(values_only=True))
    book.close()
    assert failed_rows[0][:3] == ("Row key", "Name", "Classification")
    assert failed_rows[1][0] == key(5) and failed_rows[1][2] == UNKNOWN_TERM
    assert "termFullPath" in str(failed_rows[1][-1]) and len(failed_rows) == 2
    assert read_sheet(exported, "Failed rows").rows[0].cells[0] == key(5)  # imports again

    # The officer fixes the cell: the row is pending again, and only it is sent.
    tab.set_filter(RowFilter.ALL)
    model.setData(model.index(position, column), "Records/Finance/Invoices")
    assert statuses(tab)[key(5)] == PENDING
    panel.update_state()
    assert panel.submit_button.text() == "Submit 1 row"
    calls = sandbox.stats()["graph.submit"]

    again = run_and_wait(qtbot, tab, panel.submit)

    assert again.summary is not None and again.summary.counts.total == 1
    assert again.summary.counts.ok == 1 and again.run_id != end.run_id
    assert sandbox.stats()["graph.submit"] == calls + 1
    assert sandbox.records()[key(5)]["termFullPath"] == "Records/Finance/Invoices"
    assert set(statuses(tab).values()) == {STORED}
    assert model.index(position, column).data(Qt.ItemDataRole.BackgroundRole) is None


def test_submit_failed_rows_again_sends_only_them_once_the_cause_is_gone(
    qtbot: QtBot, tab: RecordsTab, sandbox: Sandbox, tmp_path: Path
) -> None:
    profile = sandbox_profile_for(sandbox)
    profile = sandbox_profile_for(sandbox, terms={**profile.terms, "termFullPath": []})
    rows = [sheet_row(n) for n in range(1, 21)]
    rows[2][2] = rows[7][2] = UNKNOWN_TERM  # key(3), key(8)
    open_rows(qtbot, tab, profile, write_csv(tmp_path / "twenty.csv", [SHEET_HEADERS, *rows]))
    first = run_and_wait(qtbot, tab, tab.submit_panel.submit)
    assert first.summary is not None and first.summary.counts.failed == 2
    close_summary(tab)
    connection = sandbox.tenant.connection(sandbox.connection_id)
    assert connection is not None
    connection.terms["termFullPath"][UNKNOWN_TERM] = 7  # an administrator adds the term

    again = run_and_wait(qtbot, tab, lambda: tab.submit_panel.submit(failed_only=True))

    assert again.summary is not None and again.summary.counts.total == 2
    assert again.summary.counts.ok == 2
    assert set(statuses(tab).values()) == {STORED}
    assert sandbox.stats()["records_written"] == 20


def test_a_dry_run_counts_and_sends_nothing(
    qtbot: QtBot, tab: RecordsTab, sandbox: Sandbox, tmp_path: Path
) -> None:
    open_rows(qtbot, tab, sandbox_profile_for(sandbox), write_sheet(tmp_path / "40.csv", 40))
    panel = tab.submit_panel
    panel.dry_run.setChecked(True)
    panel.update_state()
    assert panel.submit_button.text() == "Dry run (40 rows)"

    end = run_and_wait(qtbot, tab, panel.submit)

    assert end.counted is not None and (end.counted.records, end.counted.calls) == (40, 3)
    assert panel.outcome.text() == "Dry run: 40 records would be sent in 3 calls. Nothing was sent."
    assert sandbox.stats().get("records_written", 0) == 0
    assert set(statuses(tab).values()) == {""}
    assert journal_runs() == []


def test_the_password_dialog_asks_when_nothing_else_gives_the_password(
    qtbot: QtBot, tab: RecordsTab, sandbox: Sandbox, tmp_path: Path
) -> None:
    from opus_desktop.gui.connection.password_dialog import PasswordDialog

    profile = sandbox_profile_for(
        sandbox, cert_pfx=str(sandbox.pfx_path), cert_pem=None, key_pem=None
    )
    open_rows(qtbot, tab, profile, write_sheet(tmp_path / "5.csv", 5))
    with qtbot.waitSignal(tab.driver.ended, timeout=RUN_TIMEOUT) as ended:
        assert tab.submit_panel.submit()
        qtbot.waitUntil(lambda: tab.driver._dialog is not None)
        dialog = tab.driver._dialog
        assert isinstance(dialog, PasswordDialog)
        dialog.password.setText(sandbox.pfx_password)
        dialog.keep.setChecked(False)
        dialog.accept()
    end = ended.args[0]
    assert end.summary is not None and end.summary.counts.ok == 5
    stored_exactly(sandbox, range(1, 6))


def test_closing_the_window_during_a_run_asks_then_cancels_and_joins(
    qtbot: QtBot, make_sandbox: MakeSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = make_sandbox(latency_ms=60)
    save_sandbox_profiles(sandbox)
    window = MainWindow(GuiSettings(tmp_path / "gui.ini"))
    qtbot.addWidget(window)
    window.show()
    window.panel.select_profile("Sandbox")
    tab = window.records_widget
    assert isinstance(tab, RecordsTab)
    tab.open_sheet(write_sheet(tmp_path / "300.csv", 300))
    qtbot.waitUntil(lambda: not tab.tasks.busy and tab.model.rowCount() == 300, timeout=10_000)
    assert tab.submit_panel.submit()
    qtbot.waitUntil(lambda: STORED in statuses(tab).values(), timeout=20_000)
    asked: list[str] = []

    def answer(parent: object, title: str, *rest: object) -> QMessageBox.StandardButton:
        asked.append(title)
        return (
            QMessageBox.StandardButton.Cancel
            if len(asked) == 1
            else QMessageBox.StandardButton.Close
        )

    monkeypatch.setattr(QMessageBox, "question", answer)
    assert not window.close()  # the first answer: Cancel
    assert window.isVisible() and tab.driver.busy
    assert window.close()
    assert asked == ["Stop sending?", "Stop sending?"]
    assert not window.runner.busy  # the run's thread was joined
    qtbot.wait(300)  # the run's end arrives after the close: no summary pops up then
    assert tab.submit_panel.summary is None and tab.closing
    with Journal(paths.journal_path()) as journal:
        run = journal.runs(1)[0]
        assert run.status == "cancelled" and run.resumable
        draft = journal.load_draft("Sandbox")
    assert draft is not None and draft.meta["sending"] == run.id  # kept, unsent
    # Only what the journal says is stored reached Opus; nothing was left half-done.
    assert sandbox.stats()["records_written"] == run.counts.ok
    assert sum(1 for k in sandbox.records() if k.startswith("T-")) == run.counts.ok
    assert payload(1) == sandbox.records()[key(1)]


def test_cancel_while_the_connection_opens_starts_nothing(
    qtbot: QtBot, tab: RecordsTab, sandbox: Sandbox, tmp_path: Path, runner: TaskRunner
) -> None:
    open_rows(qtbot, tab, sandbox_profile_for(sandbox), write_sheet(tmp_path / "5.csv", 5))
    assert tab.submit_panel.submit()
    assert tab.driver.busy and tab.driver.task is None  # opening the connection
    tab.driver.cancel()  # what closing the window does
    assert not tab.driver.busy
    qtbot.waitUntil(lambda: tab.driver._opening is None)  # the opening has reported
    runner.join()
    assert tab.driver.task is None and journal_runs() == []
    assert sandbox.stats().get("graph.submit", 0) == 0
