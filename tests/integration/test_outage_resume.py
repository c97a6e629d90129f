"""The bar of issue 17: the service dies in the middle of a `submit` (a process of its
own): with `--outage-limit 15` the run stops with exit 4 within 45 s and says how to go on;
the service comes back on the same port with its tokens forgotten, and `runs resume last`
stores every record, none lost."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opus_desktop import paths
from opus_desktop.cli import main
from opus_desktop.jobs.journal import Journal
from opus_desktop.sandbox import Sandbox, SandboxConfig
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from tests.integration.conftest import MakeSandbox
from tests.integration.test_submit_kill import wait_for_progress
from tests.integration.test_submit_sandbox import stored_exactly, write_sheet

COUNT = 1500


@pytest.mark.slow
def test_the_service_dying_mid_run_stops_it_in_bounded_time_and_resume_stores_every_record(
    make_sandbox: MakeSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = make_sandbox(latency_ms=50)
    port, folder = sandbox.port, sandbox.directory
    save_sandbox_profiles(sandbox)
    sheet = write_sheet(tmp_path / "migration.csv", COUNT)
    command = [
        sys.executable, "-m", "opus_desktop", "submit", "--profile", "Sandbox",
        "--input", str(sheet), "--outage-limit", "15",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        run_id = wait_for_progress(process, stored=300)  # type: ignore[arg-type]  # text mode
        sandbox.stop()
        died = time.monotonic()
        out, err = process.communicate(timeout=90)
        took = time.monotonic() - died
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 4, out + err
    assert took < 45, f"the run went on for {took:.0f} s after the service died"
    assert f"Continue with: opus-desktop runs resume {run_id}" in out
    assert "The service gave no answer for 15 seconds, so the run stopped." in err
    assert "resume the run when the service is back" in err
    assert "busy" not in out + err
    with Journal(paths.journal_path()) as journal:
        stopped = journal.run(run_id)
    assert stopped.status == "stopped" and stopped.resumable
    assert 300 <= stopped.counts.ok < COUNT and stopped.counts.in_flight == 0

    back = Sandbox(SandboxConfig(directory=folder, port=port)).start()  # tokens forgotten
    try:
        assert back.issued_tokens == []
        code = main(["runs", "resume", "last"])
        out, err = capsys.readouterr()
        assert code == 0, out + err
        assert f"{COUNT:,} stored, 0 failed, 0 skipped" in out
        stored_exactly(back, range(1, COUNT + 1))
    finally:
        back.stop()
    with Journal(paths.journal_path()) as journal:
        done = journal.run(run_id)
    assert done.status == "done" and done.counts.ok == COUNT
