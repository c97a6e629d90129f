"""The submit panel while the service is away: the progress says why and how long is left
before the run stops; the run then stops, resumable, with the sentence. And a sheet that
another run sends with the same profile is refused with a sentence naming that run."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from opus_desktop import paths, settings
from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.locks import SheetInUse, SheetLock
from opus_desktop.jobs.report import file_sha256
from opus_desktop.opus.errors import Failure
from opus_desktop.opus.retry import RetryPolicy
from opus_desktop.usecases import connection as access
from opus_desktop.usecases.rows import STORED
from tests.gui.test_submit_panel import (
    close_summary,
    open_rows,
    run_and_wait,
    sandbox_profile_for,
    statuses,
    tab,
)
from tests.integration.conftest import MakeSandbox
from tests.integration.test_submit_sandbox import write_sheet

__all__ = ["tab"]

LIMIT = 12  # seconds without an answer before the run stops


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "retry_policy", lambda: RetryPolicy(attempts=6, base=0.05, cap=0.5))
    settings.save(settings.Settings({settings.OUTAGE_LIMIT.key: LIMIT}))


def test_an_outage_shows_its_cause_and_the_time_left_then_stops_the_run_resumable(
    qtbot: QtBot, tab: RecordsTab, make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make_sandbox(latency_ms=40)
    open_rows(qtbot, tab, sandbox_profile_for(sandbox), write_sheet(tmp_path / "big.csv", 1500))
    panel = tab.submit_panel
    panel.concurrency.setValue(2)
    ended: list[object] = []
    tab.driver.ended.connect(ended.append)

    assert panel.submit()
    qtbot.waitUntil(lambda: list(statuses(tab).values()).count(STORED) >= 150, timeout=30_000)
    sandbox.stop()
    died = time.monotonic()
    qtbot.waitUntil(lambda: "the run stops in" in panel.progress_label.text(), timeout=20_000)
    shown = panel.progress_label.text()
    assert "busy" not in shown
    assert "unless the service answers" in shown
    qtbot.waitUntil(lambda: bool(ended), timeout=60_000)
    took = time.monotonic() - died

    end = ended[0]
    summary = end.summary  # type: ignore[attr-defined]
    assert summary is not None and summary.status == "stopped" and summary.exit_code == 4
    assert summary.error.kind in (Failure.REFUSED, Failure.DROPPED)
    assert took < LIMIT + 30
    text = panel.outcome.text()
    assert f"Run {summary.run_id} stopped:" in text and "Resume sends them." in text
    assert f"The service gave no answer for {LIMIT} seconds, so the run stopped." in text
    with Journal(paths.journal_path()) as journal:
        info = journal.run(summary.run_id)
    assert info.status == "stopped" and info.resumable and info.counts.in_flight == 0
    close_summary(tab)


def test_a_sheet_another_run_sends_with_the_same_profile_is_refused_naming_that_run(
    qtbot: QtBot, tab: RecordsTab, make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    sandbox = make_sandbox()
    sheet = write_sheet(tmp_path / "twice.csv", 30)
    profile = sandbox_profile_for(sandbox)
    open_rows(qtbot, tab, profile, sheet)
    folder = paths.private_dir(paths.journal_path().with_name(paths.journal_path().name + "-locks"))
    other = SheetLock(folder, profile.name, file_sha256(sheet))
    assert other.take()
    other.note("0badc0de")
    try:
        end = run_and_wait(qtbot, tab, tab.submit_panel.submit)
    finally:
        other.release()

    assert isinstance(end.error, SheetInUse) and end.error.run_id == "0badc0de"
    assert tab.submit_panel.outcome.text() == (
        'The run could not start: Run 0badc0de is sending twice.csv with profile "Sandbox" '
        "right now. Wait for it to end, or stop it, before sending the same sheet again."
    )
    assert sandbox.stats().get("records_written", 0) == 0
    close_summary(tab)

    end = run_and_wait(qtbot, tab, tab.submit_panel.submit)  # the other run has ended
    assert end.summary is not None and end.summary.counts.ok == 30
    close_summary(tab)
