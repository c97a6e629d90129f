"""The connection panel says signed in as soon as a run in the window has its first token,
with the token's time left and expiry, not only once the run has ended: a long submit or
due list would otherwise say "Not signed in yet" all through."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.gui.main_window import MainWindow
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from tests.gui import test_sign_in_after_runs as after_runs
from tests.integration.conftest import MakeSandbox
from tests.integration.test_submit_sandbox import write_sheet

# The same window and quick retries as the after-runs tests, beside a slower sandbox.
quick_retries, window = after_runs.quick_retries, after_runs.window
LATENCY_MS = 250  # each API call: the run lasts seconds after its first token


@pytest.fixture
def sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    sandbox = make_sandbox(latency_ms=LATENCY_MS)
    save_sandbox_profiles(sandbox)
    return sandbox


def answered(sandbox: Sandbox) -> int:
    """The API calls the sandbox has answered (its sign-in calls left out)."""
    stats = sandbox.stats()
    identity = sum(n for name, n in stats.items() if name.startswith("identity."))
    replies = sum(n for name, n in stats.items() if name.startswith("http_2"))
    return replies - identity


def answered_when_signed_in(window: MainWindow, sandbox: Sandbox) -> list[int]:
    """How many API calls were answered each time the panel's line turned to signed in."""
    seen: list[int] = []

    def heard(short: str) -> None:
        if short.startswith("signed in, token "):
            seen.append(answered(sandbox))

    window.panel.sign_in_changed.connect(heard)
    return seen


def test_a_submit_run_shows_signed_in_while_it_runs(
    qtbot: QtBot, window: MainWindow, sandbox: Sandbox, tmp_path: Path
) -> None:
    tab = window.records_widget
    assert isinstance(tab, RecordsTab)
    tab.open_sheet(write_sheet(tmp_path / "40.csv", 40))
    qtbot.waitUntil(lambda: not tab.tasks.busy and tab.model.rowCount() == 40, timeout=10_000)
    tab.submit_panel.update_state()
    assert window.panel.sign_in.status == "waiting"
    seen = answered_when_signed_in(window, sandbox)

    with qtbot.waitSignal(tab.driver.ended, timeout=60_000):
        assert tab.submit_panel.submit()
        qtbot.waitUntil(lambda: bool(seen), timeout=30_000)
        assert window.panel.sign_in_text().startswith("Signed in; the token is valid for ")

    assert sandbox.stats()["records_written"] == 40
    calls = answered(sandbox)
    assert seen[0] < calls, f"the panel said signed in only after all {calls} calls"


def test_a_due_list_shows_signed_in_while_it_loads(
    qtbot: QtBot, window: MainWindow, sandbox: Sandbox
) -> None:
    window.tabs.setCurrentWidget(window.disposal)
    assert window.panel.sign_in.status == "waiting"
    disposal = window.disposal
    seen = answered_when_signed_in(window, sandbox)

    disposal.load()
    qtbot.waitUntil(lambda: bool(seen), timeout=30_000)
    qtbot.waitUntil(lambda: not disposal.tasks.busy, timeout=30_000)
    assert disposal.model.rowCount() > 0
    calls = answered(sandbox)
    assert seen[0] < calls, f"the panel said signed in only after all {calls} calls"
