"""`opus-desktop submit` killed with SIGKILL half-way, then `runs resume last`: nothing lost,
and only the records in flight at the kill are sent twice."""

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
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from tests.integration.conftest import MakeSandbox
from tests.integration.test_submit_sandbox import stored_exactly, write_sheet

COUNT = 1500
CONCURRENCY = 4

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def wait_for_progress(process: subprocess.Popen[bytes], stored: int, limit: float = 30.0) -> str:
    """The run's id once the journal shows `stored` records stored (the process still running)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"submit ended before the kill: {out!r} {err!r}")
        if paths.journal_path().exists():
            with Journal(paths.journal_path()) as journal:
                runs = journal.runs(1)
                if runs and runs[0].counts.ok >= stored:
                    return runs[0].id
        time.sleep(0.005)
    raise AssertionError("the run made no progress")


@pytest.mark.slow
def test_a_killed_run_resumes_and_sends_only_the_calls_in_flight_twice(
    make_sandbox: MakeSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = make_sandbox(latency_ms=50)
    save_sandbox_profiles(sandbox)
    sheet = write_sheet(tmp_path / "migration.csv", COUNT)
    command = [
        sys.executable, "-m", "opus_desktop", "submit", "--profile", "Sandbox",
        "--input", str(sheet), "--concurrency", str(CONCURRENCY),
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        run_id = wait_for_progress(process, stored=300)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL

    with Journal(paths.journal_path()) as journal:
        killed = journal.run(run_id)
    assert killed.status == "interrupted" and killed.resumable
    assert 300 <= killed.counts.ok < COUNT
    in_flight = killed.counts.in_flight
    # The calls under way, and the next batch already claimed but not yet sent.
    assert in_flight <= (CONCURRENCY + 1) * 15
    written_before = sandbox.stats()["records_written"]
    assert written_before >= killed.counts.ok

    code = main(["runs", "resume", "last"])
    out, err = capsys.readouterr()

    assert code == 0, err
    assert f"Run {run_id} resumed: {COUNT - killed.counts.ok:,} records to send" in out
    assert f"{COUNT:,} stored, 0 failed, 0 skipped" in out
    stored_exactly(sandbox, range(1, COUNT + 1))
    sent_twice = sandbox.stats()["records_written"] - COUNT
    # Only records of the calls under way at the kill, each at most once more.
    assert 0 <= sent_twice <= min(in_flight, CONCURRENCY * 15)
    with Journal(paths.journal_path()) as journal:
        done = journal.run(run_id)
    assert done.status == "done" and done.counts.ok == COUNT
