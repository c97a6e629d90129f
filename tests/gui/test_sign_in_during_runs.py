"""The connection panel says signed in as soon as a run in the window has its first token,
with the token's time left and expiry, not only once the run has ended: a long submit or
due list would otherwise say "Not signed in yet" all through."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from opus_desktop.gui.editor.tab import RecordsTab
from opus_desktop.gui.main_window import MainWindow
from opus_desktop.gui.settings import GuiSettings
from opus_desktop.opus.retry import RetryPolicy
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from opus_desktop.usecases import connection as access
from tests.integration.conftest import MakeSandbox
from tests.integration.test_submit_sandbox import write_sheet

LATENCY_MS = 250  # each API call: the run lasts seconds after its first token


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "retry_policy", lambda: RetryPolicy(attempts=6, base=0.02, cap=0.2))


@pytest.fixture
def sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    sandbox = make_sandbox(latency_ms=LATENCY_MS)
    save_sandbox_profiles(sandbox)
    return sandbox


@pytest.fixture
def window(qtbot: QtBot, sandbox: Sandbox, tmp_path: Path) -> Iterator[MainWindow]:
    window = MainWindow(GuiSettings(tmp_path / "gui.ini"))
    qtbot.addWidget(window)
    window.show()
    window.panel.select_profile("Sandbox")
    yield window
    records = window.records_widget
    if isinstance(records, RecordsTab) and records.submit_panel.summary is not None:
        records.submit_panel.summary.done(0)


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
