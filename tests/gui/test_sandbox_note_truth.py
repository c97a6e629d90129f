"""The sandbox banner tells the rates only of a sandbox this process started: after a
`--sandbox` start, a plain start finds the old faults.json and says nothing about rates."""

from __future__ import annotations

import json
from pathlib import Path

from pytestqt.qtbot import QtBot

from opus_desktop.gui.connection.sandbox_note import FAULTS_FILE, sandbox_faults
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from tests.gui.test_connection_panel import make_panel
from tests.integration.conftest import MakeSandbox


def _pretend_written_by_another_process(faults_file: Path, pid: object) -> None:
    noted = json.loads(faults_file.read_text("utf-8"))
    if pid is None:
        del noted["pid"]
    else:
        noted["pid"] = pid
    faults_file.write_text(json.dumps(noted), "utf-8")


def test_rates_of_an_earlier_run_are_not_shown(
    qtbot: QtBot, runner: TaskRunner, make_sandbox: MakeSandbox
) -> None:
    sandbox = make_sandbox(throttle_rate=0.2, drop_rate=0.05)
    profile = save_sandbox_profiles(sandbox)
    faults_file = Path(profile.cert_pem).parent / FAULTS_FILE
    assert "20 % throttled" in sandbox_faults(profile)  # its own: told

    for other in (2**22 + 7, None):  # an earlier run's process id; a file from before pids
        _pretend_written_by_another_process(faults_file, other)
        assert sandbox_faults(profile) == ""
        panel = make_panel(qtbot, runner)
        panel.reload(profile.name)
        text = panel.summary.text()
        assert "sandbox tenant" in text
        assert "throttled" not in text and "Latency" not in text
        assert "\n\n" not in text
