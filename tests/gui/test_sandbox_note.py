"""The connection panel says a sandbox profile's latency and fault rates, as the sandbox
behind it was started with; rates of 0 say so plainly."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from opus_desktop.gui.connection.sandbox_note import sandbox_faults
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from tests.gui.test_connection_panel import make_panel
from tests.integration.conftest import MakeSandbox


def test_the_panel_shows_the_rates_the_sandbox_runs_with(
    qtbot: QtBot, runner: TaskRunner, make_sandbox: MakeSandbox
) -> None:
    sandbox = make_sandbox(latency_ms=250, throttle_rate=0.2, drop_rate=0.05)
    profile = save_sandbox_profiles(sandbox)
    panel = make_panel(qtbot, runner)
    panel.reload(profile.name)
    text = panel.summary.text()
    assert "Latency 250 ms · 20 % throttled (429) · 0 % failing (503) · 5 % dropped." in text
    assert "no faults" not in text


def test_rates_of_zero_say_there_are_no_faults(make_sandbox: MakeSandbox) -> None:
    profile = save_sandbox_profiles(make_sandbox())
    assert sandbox_faults(profile) == (
        "Latency 0 ms · 0 % throttled (429) · 0 % failing (503) · 0 % dropped: "
        "no faults, every call answered at once."
    )
    profile.cert_pem = str(profile.cert_pem) + ".elsewhere/x.pem"
    assert "not known" in sandbox_faults(profile)
    profile.sandbox = False
    assert sandbox_faults(profile) == ""
