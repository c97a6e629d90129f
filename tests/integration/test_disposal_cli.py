"""`opus-desktop due`, `destroy` and `audit verify` through the CLI entry point, against the
sandbox: the sign-off sheet, exactly its keys destroyed, confirmation, keys not due, a kill
mid-destroy then resume, the certificate's text, and a tampered audit log."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from opus_desktop import paths
from opus_desktop.cli import main
from opus_desktop.jobs.audit import AuditLog
from opus_desktop.jobs.journal import Journal
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from tests.helpers.signoff import due_dates, signed_list
from tests.helpers.tools import pdftotext
from tests.integration.conftest import MakeSandbox


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def pdf_text(path: Path) -> str:
    return subprocess.run(
        [pdftotext(), "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def keys_sheet(sandbox: Sandbox, path: Path, keys: list[str], header: str = "Row key") -> Path:
    """A signed-off due list of `keys`, each with the due date Opus gives it."""
    return signed_list(path, keys, due_dates(sandbox), key_header=header)


@pytest.fixture
def demo(sandbox: Sandbox) -> Sandbox:
    save_sandbox_profiles(sandbox)
    return sandbox


@pytest.fixture
def in_tmp(tmp_path: Path) -> Iterator[Path]:
    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(previous)


# -- due ---------------------------------------------------------------------------------------


def test_due_writes_a_sign_off_sheet_and_prints_a_table(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "due.xlsx"
    code, printed, err = run(
        capsys, "due", "--profile", "Sandbox", "--before", "now", "--out", str(out)
    )
    assert code == 0, err
    assert re.search(
        r"^120 records due for disposal before .* UTC, written to .*due\.xlsx\.$", printed, re.M
    )
    book = load_workbook(out, read_only=True)
    try:
        rows = list(book.active.iter_rows(values_only=True))
    finally:
        book.close()
    headers = list(rows[0])
    assert headers[0] == "Row key" and headers[-1] == "Disposal due date"
    assert {"Name", "Classification", "Case Number", "Security Level", "Storage Location"} <= set(
        headers
    )
    assert {row[0] for row in rows[1:]} == demo.due_keys(now())

    code, printed, err = run(capsys, "due", "--profile", "Sandbox", "--before", "now")
    assert code == 0, err
    lines = printed.splitlines()
    assert lines[0].split() == ["Row", "key", "Name", "Classification", "Disposal", "due", "date"]
    assert len(lines) == 2 + 120 + 1


def test_due_takes_iso_offsets_and_the_profile_format_and_refuses_nonsense(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "due.csv"
    moment = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)
    expected = demo.due_keys(moment)
    for before in ("2024-06-30 12:00:00", "2024-06-30T14:00:00+02:00"):
        code, printed, err = run(
            capsys, "due", "--profile", "Sandbox", "--before", before, "--out", str(out)
        )
        assert code == 0, err
        assert f"{len(expected)} records due" in printed
        lines = out.read_text(encoding="utf-8-sig").splitlines()
        assert {line.split(",")[0] for line in lines[1:]} == expected
    code, _, err = run(capsys, "due", "--profile", "Sandbox", "--before", "next tuesday")
    assert code == 2 and "--before 'next tuesday' is not a date and time" in err
    code, _, err = run(
        capsys, "due", "--profile", "Sandbox", "--before", "now", "--out", str(tmp_path / "due.txt")
    )
    assert code == 2 and "due.txt" in err


# -- destroy -----------------------------------------------------------------------------------


def test_export_keep_some_rows_destroy_exactly_those(
    demo: Sandbox, in_tmp: Path, capsys: pytest.CaptureFixture[str], qapp: object
) -> None:
    assert (
        run(capsys, "due", "--profile", "Sandbox", "--before", "now", "--out", "due.xlsx")[0] == 0
    )
    book = load_workbook("due.xlsx")
    sheet = book.active
    assert sheet is not None
    sheet.delete_rows(2, 20)  # the officer keeps the rows the owners signed off
    sheet.delete_rows(60, sheet.max_row)
    book.save("due.xlsx")
    kept = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert len(kept) == 58

    code, out, err = run(
        capsys,
        "destroy",
        "--profile",
        "Sandbox",
        "--input",
        "due.xlsx",
        "--justification",
        "Retention over (schedule 4.2)",
        "--yes",
        "--certificate",
        "cert.pdf",
        "--operator",
        "Jane Officer",
    )

    assert code == 0, err
    assert demo.destroyed() == kept
    assert "due.xlsx lists 58 row keys; 58 of them are due for disposal." in out
    assert re.search(r"Run \w{8} finished: 58 destroyed, 0 not destroyed\.", out)
    manifest = in_tmp / "cert-manifest.xlsx"
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert f"Manifest: {manifest} (SHA-256 {digest})" in out
    entry = next(iter(AuditLog().entries()))
    assert f"Audit log entry 1: SHA-256 {entry.hash}" in out
    assert entry.entry["operator"]["name"] == "Jane Officer"
    text = pdf_text(in_tmp / "cert.pdf")
    assert all(key in text for key in kept)
    assert digest in text and entry.hash in text
    assert "Retention over (schedule 4.2)" in text and "Jane Officer" in text


def test_keys_not_due_are_listed_and_left_out_unless_asked(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], qapp: object
) -> None:
    due = sorted(demo.due_keys(now()))
    assert demo.records()  # the demo tenant
    not_due = sorted(set(demo.records()) - set(due))[0]
    demo.set_record_state(due[1], "awaiting approval")  # due, but not yet approved in Opus
    sheet = keys_sheet(demo, tmp_path / "signed.xlsx", [due[0], "NO-SUCH-KEY", not_due, due[2]])

    code, out, err = run(
        capsys,
        "destroy",
        "--profile",
        "Sandbox",
        "--input",
        str(sheet),
        "--justification",
        "Schedule 4.2",
        "--yes",
    )
    assert code == 1, err
    assert "signed.xlsx lists 4 row keys; 2 of them are due for disposal." in out
    assert "2 left out:" in out
    assert "  NO-SUCH-KEY (row 3): Unknown to Opus: no record with this key" in out
    not_due_on = due_dates(demo)[not_due]
    assert f"  {not_due} (row 4): Not due yet: its disposal is due on {not_due_on}, after" in out
    assert demo.destroyed() == {due[0], due[2]}
    run_id = re.search(r"Run (\w{8}) finished: 2 destroyed, 0 not destroyed, 2 left out", out)
    assert run_id is not None
    certificate = tmp_path / f"certificate-of-destruction-{run_id.group(1)}.pdf"
    assert f"Certificate of destruction: {certificate} (" in out

    sheet = keys_sheet(
        demo, tmp_path / "again.xlsx", [due[0], "NO-SUCH-KEY", due[1]], header="rowKey"
    )
    code, out, err = run(
        capsys,
        "destroy",
        "--profile",
        "Sandbox",
        "--input",
        str(sheet),
        "--justification",
        "Schedule 4.2",
        "--yes",
        "--include-not-due",
    )
    assert code == 1, err
    assert f"  {due[0]} (row 2): Record '{due[0]}' is already destroyed." in out
    assert "  NO-SUCH-KEY (row 3): Record 'NO-SUCH-KEY' was not found." in out
    assert (
        f"  {due[1]} (row 4): Record '{due[1]}' cannot be destroyed: its disposal is "
        "awaiting approval." in out
    )
    assert "No record was destroyed, so no certificate was written." in out
    retry = re.search(r"destroy --retry-failed (\w{8})", out)  # awaiting approval may change
    assert retry is not None
    assert demo.destroyed() == {due[0], due[2]}

    demo.set_record_state(due[1], "active")  # approved in Opus meanwhile
    code, out, err = run(capsys, "destroy", "--retry-failed", retry.group(1))
    assert code == 1, err  # the other two still fail, for good
    assert f"Run {retry.group(1)}: 3 failed records to send" in out
    assert "1 destroyed, 2 not destroyed" in out
    assert demo.destroyed() == {due[0], due[1], due[2]}


def test_confirmation_is_typed_or_refused(
    demo: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    qapp: object,
) -> None:
    keys = sorted(demo.due_keys(now()))[:3]
    sheet = keys_sheet(demo, tmp_path / "signed.xlsx", keys)
    command = [
        "destroy",
        "--profile",
        "Sandbox",
        "--input",
        str(sheet),
        "--justification",
        "Schedule",
    ]

    code, out, err = run(capsys, *command)  # pytest's stdin is not a terminal
    assert code == 2 and "no terminal" in err and "--yes" in err
    assert out == "" and demo.destroyed() == set()

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    answers = iter(["2", "3"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    code, out, err = run(capsys, *command)
    assert code == 2 and "does not match. Nothing was destroyed." in err
    assert "About to mark 3 records destroyed in Opus." in out
    assert demo.destroyed() == set()

    code, out, err = run(capsys, *command)
    assert code == 0, err
    assert demo.destroyed() == set(keys)


def test_a_sheet_without_row_keys_is_refused(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = keys_sheet(demo, tmp_path / "wrong.xlsx", ["REC-00001"], header="Key")
    code, _, err = run(
        capsys,
        "destroy",
        "--profile",
        "Sandbox",
        "--input",
        str(sheet),
        "--justification",
        "Schedule",
        "--yes",
    )
    assert code == 2 and 'no column headed "Row key"' in err and "wrong.xlsx" in err
    code, _, err = run(
        capsys,
        "destroy",
        "--profile",
        "Sandbox",
        "--input",
        str(sheet),
        "--justification",
        "  ",
        "--yes",
    )
    assert code == 2 and "justification is empty" in err
    assert demo.destroyed() == set()


# -- a kill mid-destroy ------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.slow
def test_a_killed_destroy_resumes_and_destroys_every_key_once(
    make_sandbox: MakeSandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    qapp: object,
) -> None:
    sandbox = make_sandbox(latency_ms=300)
    save_sandbox_profiles(sandbox)
    keys = sorted(sandbox.due_keys(now()))[:40]
    sheet = keys_sheet(sandbox, tmp_path / "signed.xlsx", keys)
    command = [
        sys.executable, "-m", "opus_desktop", "destroy", "--profile", "Sandbox",
        "--input", str(sheet), "--justification", "Schedule 4.2", "--yes",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        deadline = time.monotonic() + 60
        while len(sandbox.destroyed()) < 15:  # the first call is done: the second is next
            if process.poll() is not None:
                raise AssertionError(f"destroy ended before the kill: {process.communicate()}")
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    with Journal(paths.journal_path()) as journal:
        (killed,) = journal.runs(1)
    assert killed.kind == "destroy" and killed.status == "interrupted"
    assert killed.counts.ok < 40
    # The journal never says more than Opus did; what Opus did beyond it (a call answered
    # but not yet journalled, or one in flight) the resume finds out by sending again.
    assert killed.counts.ok <= len(sandbox.destroyed()) <= killed.counts.ok + 30

    code, out, err = run(capsys, "runs", "resume", "last")  # handed to the disposal run

    assert code == 0, err
    assert f"Run {killed.id} finished: 40 destroyed, 0 not destroyed." in out
    assert sandbox.destroyed() == set(keys)
    assert sandbox.stats()["records_destroyed"] == 40  # each key destroyed once
    code, out, err = run(capsys, "audit", "verify")
    assert code == 0, err
    answers: dict[str, str] = {}
    for entry in AuditLog().entries():
        answers.update({k: a["outcome"] for k, a in entry.entry["answers"].items()})
    assert answers == dict.fromkeys(keys, "destroyed")
    text = pdf_text(tmp_path / f"certificate-of-destruction-{killed.id}.pdf")
    assert all(key in text for key in keys)


# -- audit verify ------------------------------------------------------------------------------


@pytest.fixture
def three_disposals(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], qapp: object
) -> Path:
    keys = sorted(demo.due_keys(now()))
    for n in range(3):
        sheet = keys_sheet(demo, tmp_path / f"signed-{n}.xlsx", keys[n * 2 : n * 2 + 2])
        code, _, err = run(
            capsys,
            "destroy",
            "--profile",
            "Sandbox",
            "--input",
            str(sheet),
            "--justification",
            f"Schedule item {n}",
            "--yes",
        )
        assert code == 0, err
    code, out, err = run(capsys, "audit", "verify")
    assert code == 0, err
    assert out.splitlines()[0] == f"{paths.audit_log_path()}: intact, 3 entries."
    return paths.audit_log_path()


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_audit_verify_finds_an_altered_justification(
    three_disposals: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = lines_of(three_disposals)
    assert "Schedule item 1" in lines[1]
    lines[1] = lines[1].replace("Schedule item 1", "Schedule item 9")
    three_disposals.write_text("".join(lines), encoding="utf-8")
    code, out, err = run(capsys, "audit", "verify")
    assert code == 1
    assert "The first bad entry is entry 2." in out
    assert "Entry 2 was changed after it was written" in err


def test_audit_verify_finds_a_removed_entry(
    three_disposals: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = lines_of(three_disposals)
    three_disposals.write_text(lines[0] + lines[2], encoding="utf-8")
    code, _, err = run(capsys, "audit", "verify")
    assert code == 1 and "Entry 2 is missing" in err

    three_disposals.write_text(lines[0] + lines[1], encoding="utf-8")  # the last one cut
    code, _, err = run(capsys, "audit", "verify")
    assert code == 1 and "entries were removed from the end" in err


def test_audit_verify_finds_a_reordering(
    three_disposals: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = lines_of(three_disposals)
    three_disposals.write_text(lines[0] + lines[2] + lines[1], encoding="utf-8")
    code, out, err = run(capsys, "audit", "verify")
    assert code == 1 and "The first bad entry is entry 2." in out
    assert json.loads(lines[2])["seq"] == 3 and "Entry 2 is missing" in err


def test_audit_verify_with_no_log_yet(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "audit", "verify")
    assert code == 0, err
    assert "intact, 0 entries" in out
