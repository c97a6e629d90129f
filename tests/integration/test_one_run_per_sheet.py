"""One run per sheet and profile at a time: a second `submit` of the same file with the same
profile while one sends is refused (exit 2) with a sentence naming the run that sends;
once that process is gone, killed even, the sheet is free again. `--allow-parallel` (and
the use cases' allow_parallel) send it anyway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from opus_desktop import paths
from opus_desktop.cli import main
from opus_desktop.core.sheets import read_sheet
from opus_desktop.core.validation import validate
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.locks import SheetInUse, SheetLock
from opus_desktop.jobs.report import file_sha256
from opus_desktop.jobs.state import RunState
from opus_desktop.profiles import find_profile
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from opus_desktop.usecases.connection import Access
from opus_desktop.usecases.submitting import NewRun, Origin, RunOptions, start_run
from tests.integration.conftest import MakeSandbox
from tests.integration.test_submit_kill import wait_for_progress
from tests.integration.test_submit_sandbox import stored_exactly, write_sheet

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

COUNT = 300


@pytest.mark.slow
def test_a_second_submit_of_the_sheet_is_refused_while_the_first_runs_and_not_after_it_died(
    make_sandbox: MakeSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = make_sandbox(latency_ms=200)
    save_sandbox_profiles(sandbox)
    sheet = write_sheet(tmp_path / "migration.csv", COUNT)
    first = subprocess.Popen(
        [sys.executable, "-m", "opus_desktop", "submit", "--profile", "Sandbox",
         "--input", str(sheet), "--concurrency", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )  # fmt: skip
    try:
        run_id = wait_for_progress(first, stored=15)
        code = main(["submit", "--profile", "Sandbox", "--input", str(sheet)])
        out, err = capsys.readouterr()
        with Journal(paths.journal_path()) as journal:
            runs = journal.runs()
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    assert code == 2, out + err
    assert err.startswith(f"opus-desktop: Run {run_id} (started at ")
    assert err.rstrip().endswith(
        'is sending migration.csv with profile "Sandbox" right now. Wait for it to end, or '
        "stop it, before sending the same sheet again. To send it anyway, add --allow-parallel."
    )
    assert [run.id for run in runs] == [run_id]  # the refused submit journalled nothing

    # The process holding the sheet was killed: nothing holds it any more.
    sandbox.faults.latency_ms = 0
    assert main(["runs", "resume", run_id]) == 0
    out, err = capsys.readouterr()
    assert f"{COUNT:,} stored, 0 failed, 0 skipped" in out
    stored_exactly(sandbox, range(1, COUNT + 1))


def test_another_profile_or_allow_parallel_is_not_refused(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_sandbox_profiles(sandbox)
    sheet = write_sheet(tmp_path / "records.csv", 20)
    folder = paths.private_dir(paths.journal_path().with_name(paths.journal_path().name + "-locks"))
    held = SheetLock(folder, "Sandbox", file_sha256(sheet))
    assert held.take()  # as another process sending it would
    held.note("1234abcd")
    try:
        assert main(["submit", "--profile", "Sandbox", "--input", str(sheet)]) == 2
        assert "Run 1234abcd is sending records.csv" in capsys.readouterr().err
        # The legacy profile is another profile: its runs go on.
        assert main(["submit", "--profile", "Sandbox (legacy)", "--input", str(sheet)]) == 0
        assert (
            main(["submit", "--profile", "Sandbox", "--input", str(sheet), "--allow-parallel"]) == 0
        )

        profile = find_profile("Sandbox")
        result = validate(read_sheet(sheet), profile.template(), profile.value_settings())
        request = NewRun(profile, Access(), RunOptions(), Origin(sheet))
        with pytest.raises(SheetInUse) as refused:
            start_run(request, lambda: result, RunState())
        assert refused.value.run_id == "1234abcd" and refused.value.exit_code == 2
        parallel = NewRun(profile, Access(), RunOptions(allow_parallel=True), Origin(sheet))
        summary = start_run(parallel, lambda: result, RunState())
        assert summary is not None and summary.status == "done"
    finally:
        held.release()
    capsys.readouterr()

    # Once free, the sheet is sent as usual, and the lock is let go after the run.
    assert main(["submit", "--profile", "Sandbox", "--input", str(sheet)]) == 0
    assert held.take()
    held.release()
