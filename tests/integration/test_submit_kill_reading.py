"""`opus-desktop submit` killed with SIGKILL while the sheet is read into the journal: the
run is left incomplete, nothing of it was sent, it cannot be resumed, and the sheet sent
again stores every record once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opus_desktop import paths
from opus_desktop.cli import main
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.submit_runs import CHUNK
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from tests.integration.conftest import MakeSandbox
from tests.integration.test_submit_sandbox import stored_exactly, write_sheet

COUNT = CHUNK * 12

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def wait_for_chunks(process: subprocess.Popen[bytes], limit: float = 60.0) -> str:
    """The run's id once some chunks, not all, are in the journal."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"submit ended before the kill: {out!r} {err!r}")
        if paths.journal_path().exists():
            with Journal(paths.journal_path()) as journal:
                runs = journal.runs(1)
                if runs and not runs[0].complete and runs[0].counts.total >= CHUNK:
                    return runs[0].id
        time.sleep(0.005)
    raise AssertionError("the run was never seen half read in")


@pytest.mark.slow
def test_a_run_killed_while_read_in_sent_nothing_and_the_sheet_goes_again_whole(
    make_sandbox: MakeSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = make_sandbox()
    save_sandbox_profiles(sandbox)
    sheet = write_sheet(tmp_path / "migration.csv", COUNT)
    command = [
        sys.executable, "-m", "opus_desktop", "submit", "--profile", "Sandbox",
        "--input", str(sheet), "--concurrency", "4",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        run_id = wait_for_chunks(process)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL

    with Journal(paths.journal_path()) as journal:
        killed = journal.run(run_id)
        assert journal.find_interrupted() == []  # nothing to offer to resume
    assert (killed.complete, killed.status, killed.resumable) == (False, "interrupted", False)
    assert killed.counts.total % CHUNK == 0 and CHUNK <= killed.counts.total < COUNT
    assert sandbox.stats().get("records_written", 0) == 0

    code = main(["runs", "resume", run_id])
    out, err = capsys.readouterr()
    assert code != 0
    assert "interrupted while its sheet was being read into the journal" in err

    code = main(["submit", "--profile", "Sandbox", "--input", str(sheet), "--concurrency", "4"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"{COUNT:,} stored, 0 failed, 0 skipped" in out
    stored_exactly(sandbox, range(1, COUNT + 1))
    assert sandbox.stats()["records_written"] == COUNT
