"""Issue 15 against the sandbox: resuming a run whose input sheet changed or went says so
in one line and still sends the records it read; a report on a full disk is one sentence,
exit 2, with the run whole in the journal."""

from __future__ import annotations

import errno
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from opus_desktop import paths
from opus_desktop.jobs.journal import Journal
from opus_desktop.profiles import find_profile, save_profile
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from opus_desktop.usecases.runs import input_change, run_info
from tests.integration.test_runs_cli import cli, run_id_of, stored_exactly, write_sheet


@pytest.fixture
def demo(sandbox: Sandbox) -> Sandbox:
    save_sandbox_profiles(sandbox)
    return sandbox


def stopped_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, Path]:
    """A run of five records stopped before any was sent (its sign-in was refused)."""
    good = find_profile("Sandbox")
    save_profile(replace(good, client_id=str(uuid.uuid4())))
    sheet = write_sheet(tmp_path / "five.csv", 5)
    code, out, _ = cli(capsys, "submit", "--profile", "Sandbox", "--input", str(sheet))
    assert code == 3
    save_profile(good)
    return run_id_of(out), sheet


@pytest.mark.parametrize("change", ["edited", "removed"])
def test_resuming_after_the_input_changed_says_so_and_sends_what_it_read(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], change: str
) -> None:
    run_id, sheet = stopped_run(tmp_path, capsys)
    assert input_change(run_info(run_id)) == ""
    if change == "edited":
        sheet.write_text(sheet.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        said = f"{sheet} has changed since the run started; the run sends the records it read then."
    else:
        sheet.unlink()
        said = f"{sheet} is no longer there; the run sends the records it read then."
    assert input_change(run_info(run_id)) == said

    code, out, err = cli(capsys, "runs", "resume", run_id)

    assert code == 0, err
    lines = out.splitlines()
    at = lines.index(f"Note: {said}")
    assert lines[at + 1] == f"Run {run_id} resumed: 5 records to send (0 stored already)."
    stored_exactly(demo, range(1, 6))


def test_a_report_on_a_full_disk_is_one_sentence_and_the_run_is_kept(
    demo: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_open = Path.open

    def opened(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if "w" in mode and self.parent == tmp_path / "out":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", opened)
    (tmp_path / "out").mkdir()
    sheet = write_sheet(tmp_path / "five.csv", 5)
    for name in ("r.csv", "r.xlsx"):
        report = tmp_path / "out" / name
        code, out, err = cli(
            capsys, "submit", "--profile", "Sandbox", "--input", str(sheet), "--report",
            str(report),
        )  # fmt: skip
        assert code == 2
        assert "Traceback" not in err and "Exception ignored" not in err
        assert err.splitlines()[-1] == (
            f"opus-desktop: Cannot write {report}: the disk is full (no space left on device); "
            "nothing was written."
        )
        assert list((tmp_path / "out").iterdir()) == []
        with Journal(paths.journal_path()) as journal:
            info = journal.run(run_id_of(out))
        assert info.status == "done" and info.counts.ok == 5
