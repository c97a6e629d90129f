"""The Runs tab acting on a run through the window's submit driver: resume an interrupted
one, retry its failed rows, export its report; the grid follows runs that are its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pytestqt.qtbot import QtBot

from opus_desktop import paths
from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.gui.runs.tab import RunsTab
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.jobs.journal import Journal
from opus_desktop.sandbox import Sandbox
from opus_desktop.usecases.rows import STORED
from tests.gui.test_submit_panel import (
    UNKNOWN_TERM,
    close_summary,
    open_rows,
    run_and_wait,
    sandbox_profile_for,
    statuses,
)
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


@pytest.fixture
def tabs(qtbot: QtBot, runner: TaskRunner) -> Iterator[tuple[RecordsTab, RunsTab]]:
    records = RecordsTab(runner)
    runs = RunsTab(runner)
    records.connect_runs(runs, None)
    for tab in (records, runs):
        qtbot.addWidget(tab)
        tab.resize(1200, 700)
    runs.show()
    yield records, runs
    close_summary(records)


def select(qtbot: QtBot, runs: RunsTab, run_id: str) -> None:
    runs.refresh()
    qtbot.waitUntil(lambda: not runs.loading and run_id in runs.runs_model.run_ids())
    assert runs.select_run(run_id)


def test_a_cancelled_run_is_resumed_from_the_runs_tab_and_the_grid_follows(
    qtbot: QtBot, tabs: tuple[RecordsTab, RunsTab], make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    records, runs = tabs
    sandbox = make_sandbox(latency_ms=40)
    count = 360
    open_rows(qtbot, records, sandbox_profile_for(sandbox), write_sheet(tmp_path / "m.csv", count))
    records.submit_panel.concurrency.setValue(2)
    with qtbot.waitSignal(records.driver.ended, timeout=60_000) as ended:
        assert records.submit_panel.submit()
        qtbot.waitUntil(lambda: list(statuses(records).values()).count(STORED) >= 45)
        records.submit_panel.cancel()
    run_id = ended.args[0].run_id
    close_summary(records)
    select(qtbot, runs, run_id)
    assert runs.resume_button.isEnabled() and not runs.retry_button.isEnabled()

    labels: list[str] = []
    records.driver.progress.connect(lambda _: labels.append(runs.run_label.text()))
    end = run_and_wait(qtbot, records, runs.resume_selected)

    assert end.run_id == run_id and end.for_grid and end.summary is not None
    assert end.summary.status == "done" and end.summary.counts.ok == count
    stored_exactly(sandbox, range(1, count + 1))
    assert sandbox.stats()["records_written"] == count
    assert set(statuses(records).values()) == {STORED}  # the grid's own run: it follows
    assert any(label.startswith(f"Run {run_id}: ") and "records/s" in label for label in labels)
    assert runs.run_label.text() == (
        f"Run {run_id} finished: {count} stored, 0 failed, 0 not sent yet."
    )
    qtbot.waitUntil(lambda: not runs.loading)
    assert not runs.resume_button.isEnabled()  # done: nothing left to resume


def test_retry_failed_sends_the_failed_rows_again_once_the_cause_is_gone(
    qtbot: QtBot, tabs: tuple[RecordsTab, RunsTab], sandbox: Sandbox, tmp_path: Path
) -> None:
    records, runs = tabs
    profile = sandbox_profile_for(sandbox)
    profile = sandbox_profile_for(sandbox, terms={**profile.terms, "termFullPath": []})
    rows = [sheet_row(n) for n in range(1, 31)]
    rows[4][2] = UNKNOWN_TERM
    open_rows(qtbot, records, profile, write_csv(tmp_path / "30.csv", [SHEET_HEADERS, *rows]))
    first = run_and_wait(qtbot, records, records.submit_panel.submit)
    assert first.summary is not None and first.summary.counts.failed == 1
    close_summary(records)
    select(qtbot, runs, first.run_id or "")
    assert runs.retry_button.isEnabled() and not runs.resume_button.isEnabled()

    # The report lists every row and the failed one, ready to fix.
    report = tmp_path / "report.xlsx"
    assert runs.export_report(report)
    qtbot.waitUntil(lambda: not runs.tasks.busy, timeout=10_000)
    book = load_workbook(report, read_only=True)
    outcome = list(book["Outcome"].iter_rows(values_only=True))
    failed = list(book["Failed rows"].iter_rows(values_only=True))
    book.close()
    assert len(outcome) == 31 and outcome[5][1:3] == (key(5), "failed")
    assert [r[0] for r in failed[1:]] == [key(5)] and failed[1][2] == UNKNOWN_TERM
    assert f"Report of run {first.run_id} written to {report}." in runs.run_label.text()

    connection = sandbox.tenant.connection(sandbox.connection_id)
    assert connection is not None
    connection.terms["termFullPath"][UNKNOWN_TERM] = 7  # an administrator adds the term
    calls = sandbox.stats()["graph.submit"]

    end = run_and_wait(qtbot, records, lambda: runs.resume_selected(failed_only=True))

    assert end.kind == "retry" and end.summary is not None
    assert (end.summary.counts.ok, end.summary.counts.failed) == (30, 0)
    assert sandbox.stats()["graph.submit"] == calls + 1  # only the failed record was sent
    assert sandbox.records()[key(5)]["termFullPath"] == UNKNOWN_TERM
    assert statuses(records)[key(5)] == STORED


def test_a_run_from_elsewhere_is_resumed_without_touching_the_grid(
    qtbot: QtBot, tabs: tuple[RecordsTab, RunsTab], sandbox: Sandbox, tmp_path: Path
) -> None:
    records, runs = tabs
    open_rows(qtbot, records, sandbox_profile_for(sandbox), write_sheet(tmp_path / "5.csv", 5))
    # A run another window (or `opus-desktop submit`) started and left unfinished.
    with Journal(paths.journal_path()) as journal:
        items = [(n + 1, key(n), payload(n)) for n in range(1, 21)]
        other = journal.create_run("submit", "Sandbox", items, options={"concurrency": 2})
    select(qtbot, runs, other)
    assert runs.selected_run() is not None and runs.selected_run().status == "interrupted"  # type: ignore[union-attr]

    end = run_and_wait(qtbot, records, runs.resume_selected)

    assert not end.for_grid and end.summary is not None and end.summary.counts.ok == 20
    stored_exactly(sandbox, range(1, 21))
    assert set(statuses(records).values()) == {""}  # the grid's rows were never sent
    assert records.submit_panel.summary is None  # the grid's panel stays out of it
    assert not records.model.locked


def test_disposal_and_finished_runs_cannot_be_resumed(
    qtbot: QtBot, tabs: tuple[RecordsTab, RunsTab]
) -> None:
    _, runs = tabs
    with Journal(paths.journal_path()) as journal:
        disposal = journal.create_run("destroy", "Sandbox", [(2, "D-1", {})])
        done = journal.create_run("submit", "Sandbox", [(2, "S-1", {})])
        journal.finish(done, ok=[i.key for i in journal.claim(done, 15)])
        journal.mark_ended(done, "done")
    select(qtbot, runs, disposal)
    assert not runs.resume_button.isEnabled() and not runs.retry_button.isEnabled()
    assert not runs.report_button.isEnabled()
    assert "Disposal tab" in runs.resume_button.statusTip()
    assert not runs.resume_selected()
    select(qtbot, runs, done)
    assert not runs.resume_button.isEnabled() and runs.report_button.isEnabled()
