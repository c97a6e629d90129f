"""A sheet is read twice for a new run (checked, then journalled as it is read again): a
file that changed in between, or while it was read the second time, sends nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opus_desktop import paths
from opus_desktop.cli import main, submit_cmd
from opus_desktop.core.records import Record
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.state import RunState
from opus_desktop.sandbox import Sandbox
from opus_desktop.usecases.connection import Access
from opus_desktop.usecases.submitting import (
    FileStamp,
    NewRun,
    Origin,
    SheetChanged,
    file_stamp,
    sheet_records,
    start_run,
)
from tests.integration.test_submit_sandbox import write_sheet
from tests.integration.test_usecases_submit import profile_of


def touched(path: Path) -> None:
    """The same bytes, saved again: what an editor's save does to an unchanged sheet."""
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def no_runs() -> bool:
    if not paths.journal_path().exists():
        return True
    with Journal(paths.journal_path()) as journal:
        return journal.runs(5) == []


def request_for(sandbox: Sandbox, path: Path, checked: FileStamp | None) -> NewRun:
    return NewRun(profile_of(sandbox), Access(), origin=Origin(path, None, 1, checked=checked))


def test_the_stamp_changes_with_the_size_or_the_time(tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "s.csv", 3)
    first = file_stamp(path)
    assert first is not None and first == file_stamp(path)
    touched(path)
    assert file_stamp(path) != first
    assert file_stamp(tmp_path / "gone.csv") is None


def test_a_sheet_changed_after_its_check_is_refused_before_anything_is_sent(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = write_sheet(tmp_path / "s.csv", 20)
    request = request_for(sandbox, path, file_stamp(path))
    profile = request.profile
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n")  # the officer saved it again after the check

    def records() -> Iterator[Record]:
        template, settings = profile.template(), profile.value_settings()
        return sheet_records(path, None, 1, template, settings)

    with pytest.raises(SheetChanged, match=r"^s\.csv changed after it was checked: nothing"):
        start_run(request, records, RunState())
    assert sandbox.stats().get("records_written", 0) == 0
    assert no_runs()


def test_a_sheet_changed_while_it_is_journalled_drops_the_run(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = write_sheet(tmp_path / "s.csv", 40)
    request = request_for(sandbox, path, file_stamp(path))
    profile = request.profile

    def records() -> Iterator[Record]:
        read = sheet_records(path, None, 1, profile.template(), profile.value_settings())
        for n, record in enumerate(read):
            if n == 10:
                touched(path)
            yield record

    with pytest.raises(SheetChanged):
        start_run(request, records, RunState())
    assert sandbox.stats().get("records_written", 0) == 0
    assert no_runs()


def test_an_unchanged_sheet_is_sent_whole(sandbox: Sandbox, tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "s.csv", 20)
    request = request_for(sandbox, path, file_stamp(path))
    profile = request.profile

    def records() -> Iterator[Record]:
        return sheet_records(path, None, 1, profile.template(), profile.value_settings())

    summary = start_run(request, records, RunState())
    assert summary is not None and summary.counts.ok == 20
    assert sandbox.stats()["records_written"] == 20


def test_submit_keeps_the_stamp_of_the_sheet_it_checked(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile_of(sandbox)
    path = write_sheet(tmp_path / "s.csv", 5)
    code = main(["submit", "--profile", "Sandbox", "--input", str(path)])
    assert code == 0, capsys.readouterr().err
    with Journal(paths.journal_path()) as journal:
        (run,) = journal.runs(5)
    assert run.counts.ok == 5


def test_submit_refuses_a_sheet_saved_again_after_its_check(
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile_of(sandbox)
    path = write_sheet(tmp_path / "s.csv", 5)
    checked = submit_cmd.validate

    def check_then_save(*args: Any, **kwargs: Any) -> Any:
        result = checked(*args, **kwargs)
        touched(path)  # saved in Excel while the terminal showed the problems
        return result

    monkeypatch.setattr(submit_cmd, "validate", check_then_save)
    code = main(["submit", "--profile", "Sandbox", "--input", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "s.csv changed after it was checked: nothing was sent." in err
    assert sandbox.stats().get("records_written", 0) == 0
    assert no_runs()
