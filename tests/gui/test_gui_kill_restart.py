"""The desktop app killed with SIGKILL in the middle of a run, then started again: the
restore prompt brings back the grid's rows and the run, which finishes with every record
stored once.

The app runs as a real process (`python -m opus_desktop`, offscreen). What the user would
do, the test-only hook OPUS_DESKTOP_TEST_HOOK does in that process: the functions
`import_and_submit` and `restore_and_wait` below.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opus_desktop import paths
from opus_desktop.jobs.journal import Journal
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from tests.integration.conftest import MakeSandbox
from tests.integration.test_submit_sandbox import stored_exactly, write_sheet

REPO = Path(__file__).resolve().parents[2]
COUNT = 3000
CALLS = 2
SHEET_VARIABLE = "OPUS_TEST_SHEET"
REPORT_VARIABLE = "OPUS_TEST_REPORT"

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
    pytest.mark.slow,
]


# -- in the app's process (through OPUS_DESKTOP_TEST_HOOK) ------------------------------------


def _every(ms: int, check: object) -> None:
    """Call check() every `ms` until it returns True (the app's own event loop runs)."""
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.setInterval(ms)

    def tick() -> None:
        if callable(check) and check():
            timer.stop()

    timer.timeout.connect(tick)
    timer.start()
    _every.timers.append(timer)  # type: ignore[attr-defined]


_every.timers = []  # type: ignore[attr-defined]


def import_and_submit(window: object) -> None:
    """First start: open the sheet, then Submit once it is in the grid."""
    from opus_desktop.gui.editor.tab import RecordsTab
    from opus_desktop.gui.main_window import MainWindow

    assert isinstance(window, MainWindow)
    tab = window.records_widget
    assert isinstance(tab, RecordsTab)
    tab.submit_panel.concurrency.setValue(CALLS)
    window.open_sheet(Path(os.environ[SHEET_VARIABLE]))

    def loaded() -> bool:
        if tab.tasks.busy or tab.model.rowCount() != COUNT:
            return False
        tab.submit_panel.submit()
        return True

    _every(20, loaded)


def restore_and_wait(window: object) -> None:
    """Second start: accept the restore prompt, let the run finish, note what was seen,
    close the window."""
    from opus_desktop.gui.editor.tab import RecordsTab
    from opus_desktop.gui.main_window import MainWindow
    from opus_desktop.usecases.rows import STORED

    assert isinstance(window, MainWindow)
    tab = window.records_widget
    assert isinstance(tab, RecordsTab)
    seen: dict[str, object] = {}

    def stored() -> int:
        return sum(1 for row in tab.model.rows() if row.status == STORED)

    def started(start: object) -> None:
        seen["rows_at_resume"] = tab.model.rowCount()
        seen["stored_at_resume"] = stored()
        seen["run"] = getattr(start, "run_id", None)

    def ended(end: object) -> None:
        summary = getattr(end, "summary", None)
        seen["status"] = summary.status if summary is not None else repr(end)
        seen["stored_at_end"] = stored()
        Path(os.environ[REPORT_VARIABLE]).write_text(json.dumps(seen), encoding="utf-8")
        box = tab.submit_panel.summary
        if box is not None:
            box.done(0)
        window.close()

    tab.driver.started.connect(started)
    tab.driver.ended.connect(ended)

    def answer() -> bool:
        box = tab.restore_prompt
        if box is None:
            return False
        seen["prompt"] = box.informativeText()
        button = next(b for b in box.buttons() if b.objectName() == "restore-button")
        button.click()
        return True

    _every(20, answer)


# -- the test ---------------------------------------------------------------------------------


def start_app(hook: str, sheet: Path, report: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(REPO),
        "OPUS_DESKTOP_TEST_HOOK": f"tests.gui.test_gui_kill_restart:{hook}",
        SHEET_VARIABLE: str(sheet),
        REPORT_VARIABLE: str(report),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "opus_desktop"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for_draft_and_progress(process: subprocess.Popen[bytes], limit: float = 60.0) -> str:
    """The run's id once the journal holds the grid's draft and some records stored."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"the app ended before the kill: {out!r} {err!r}")
        if paths.journal_path().exists():
            with Journal(paths.journal_path()) as journal:
                runs = journal.runs(1)
                draft = journal.load_draft("Sandbox")
            if (
                runs
                and runs[0].counts.ok >= 300
                and draft is not None
                and len(draft.rows) > COUNT
                and draft.meta.get("sending") == runs[0].id
            ):
                return runs[0].id
        time.sleep(0.02)
    raise AssertionError("the app made no progress, or kept no draft")


def test_the_app_killed_mid_run_restores_its_rows_and_finishes_the_run(
    make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    from opus_desktop.gui.settings import LAST_PROFILE, GuiSettings

    sandbox = make_sandbox(latency_ms=60)
    save_sandbox_profiles(sandbox)
    settings = GuiSettings()
    settings.set(LAST_PROFILE, "Sandbox")
    settings.sync()
    sheet = write_sheet(tmp_path / "migration.csv", COUNT)
    report = tmp_path / "seen.json"

    first = start_app("import_and_submit", sheet, report)
    try:
        run_id = wait_for_draft_and_progress(first)
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == -signal.SIGKILL
    with Journal(paths.journal_path()) as journal:
        killed = journal.run(run_id)
    assert killed.status == "interrupted" and 300 <= killed.counts.ok < COUNT
    in_flight = killed.counts.in_flight

    second = start_app("restore_and_wait", sheet, report)
    try:
        _, err = second.communicate(timeout=90)
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
    assert second.returncode == 0, err.decode(errors="replace")[-2000:]

    seen = json.loads(report.read_text(encoding="utf-8"))
    assert f"Run {run_id} (interrupted): {killed.counts.ok:,} of {COUNT:,}" in seen["prompt"]
    assert f"{COUNT:,} rows from migration.csv" in seen["prompt"]
    assert seen["run"] == run_id and seen["rows_at_resume"] == COUNT
    # The restored rows already showed what the journal said had reached Opus.
    assert seen["stored_at_resume"] == killed.counts.ok
    assert seen["status"] == "done" and seen["stored_at_end"] == COUNT

    stored_exactly(sandbox, range(1, COUNT + 1))
    # Sent twice at most: the records that were in flight when the app was killed.
    assert 0 <= sandbox.stats()["records_written"] - COUNT <= in_flight
    with Journal(paths.journal_path()) as journal:
        done = journal.run(run_id)
        draft = journal.load_draft("Sandbox")
    assert done.status == "done" and done.counts.ok == COUNT
    assert draft is None  # a clean close with every row stored keeps no draft
