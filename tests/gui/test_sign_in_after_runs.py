"""The connection panel follows what runs do: after a submit run or a due list in the window
signs in, its sign-in line says signed in, with the token's time left and its expiry on
this computer's clock, instead of "Not signed in yet"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
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

TOKEN_TTL = 600  # not the sandbox's default hour, so the line is seen to come from the token
SIGNED_IN = re.compile(
    r"Signed in; the token is valid for another (\d+):(\d\d), until (\d\d:\d\d)\."
)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "retry_policy", lambda: RetryPolicy(attempts=6, base=0.02, cap=0.2))


@pytest.fixture
def sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    sandbox = make_sandbox(token_ttl=TOKEN_TTL)
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
        records.submit_panel.summary.done(0)  # the run's summary box


def not_signed_in_yet(window: MainWindow) -> None:
    assert window.panel.sign_in.status == "waiting"
    assert window.panel.sign_in_text().startswith("Not signed in yet")


def assert_signed_in_with_expiry(qtbot: QtBot, window: MainWindow, began: datetime) -> None:
    qtbot.waitUntil(lambda: window.panel.sign_in.status == "ok", timeout=10_000)
    said = window.panel.sign_in_text()
    found = SIGNED_IN.fullmatch(said)
    assert found, said
    left = int(found[1]) * 60 + int(found[2])
    assert TOKEN_TTL - 60 <= left <= TOKEN_TTL, said
    # The expiry is the token's: TOKEN_TTL after the run began, give or take the run.
    expected = {
        (began + timedelta(seconds=TOKEN_TTL + lag)).strftime("%H:%M") for lag in (-60, 0, 60)
    }
    assert found[3] in expected, said
    assert window.panel.sign_in_short.startswith("signed in, token ")
    assert window.status_label.text().endswith(window.panel.sign_in_short)


def test_a_submit_run_in_the_window_shows_signed_in_with_the_expiry(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, sandbox: Sandbox
) -> None:
    tab = window.records_widget
    assert isinstance(tab, RecordsTab)
    tab.open_sheet(write_sheet(tmp_path / "20.csv", 20))
    qtbot.waitUntil(lambda: not tab.tasks.busy and tab.model.rowCount() == 20, timeout=10_000)
    tab.submit_panel.update_state()
    not_signed_in_yet(window)

    began = datetime.now()
    with qtbot.waitSignal(tab.driver.ended, timeout=60_000):
        assert tab.submit_panel.submit()

    assert sandbox.stats()["records_written"] == 20
    assert_signed_in_with_expiry(qtbot, window, began)


def test_a_due_list_loaded_in_the_window_shows_signed_in_with_the_expiry(
    qtbot: QtBot, window: MainWindow, sandbox: Sandbox
) -> None:
    window.tabs.setCurrentWidget(window.disposal)
    not_signed_in_yet(window)

    began = datetime.now()
    window.disposal.load()
    qtbot.waitUntil(
        lambda: not window.disposal.tasks.busy and window.disposal.model.rowCount() > 0,
        timeout=20_000,
    )

    assert_signed_in_with_expiry(qtbot, window, began)
