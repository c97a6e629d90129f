"""`opus-desktop submit` and `opus-desktop runs ...` through the CLI entry point, against the
sandbox: the demo sheet, reports ready to fix and send again, dry runs, exit codes."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest

from opus_desktop import paths
from opus_desktop.cli import main
from opus_desktop.core.sheets import read_sheet
from opus_desktop.core.validation import validate
from opus_desktop.jobs.journal import Journal
from opus_desktop.opus.retry import RetryPolicy
from opus_desktop.profiles import find_profile, save_profile
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import demo_sheet_path, save_sandbox_profiles
from opus_desktop.usecases import connection as access
from tests.helpers.workbooks import write_csv
from tests.integration.conftest import MakeSandbox
from tests.integration.test_submit_sandbox import (
    SHEET_HEADERS,
    key,
    sheet_row,
    stored_exactly,
    write_sheet,
)

DEMO_INVALID_ROWS = {9, 17, 28, 41, 56, 73}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_id_of(out: str) -> str:
    found = re.search(r"^Run ([0-9a-f]{8}) started", out, re.MULTILINE)
    assert found, out
    return found.group(1)


def journal_runs() -> int:
    if not paths.journal_path().exists():
        return 0
    with Journal(paths.journal_path()) as journal:
        return len(journal.runs())


@pytest.fixture
def demo(sandbox: Sandbox) -> Sandbox:
    save_sandbox_profiles(sandbox)
    return sandbox


def test_the_demo_sheet_is_stored_exactly_and_its_invalid_rows_reported(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "outcome.xlsx"
    code, out, err = cli(
        capsys, "submit", "--profile", "Sandbox", "--input", demo_sheet_path(),
        "--report", str(report),
    )  # fmt: skip

    assert code == 1, err  # six rows were invalid
    run_id = run_id_of(out)
    assert (
        f"Run {run_id} started: 194 records to send, 6 invalid rows skipped (see the report)."
        in out
    )
    assert f"Run {run_id} finished after" in out and "194 stored, 0 failed, 6 skipped." in out
    assert "records" in err  # the progress went to stderr

    profile = find_profile("Sandbox")
    expected = validate(
        read_sheet(Path(demo_sheet_path())), profile.template(), profile.value_settings()
    )
    stored = demo.records()
    for record in expected.records:
        if record.ok:
            assert stored[record.row_key or ""] == record.payload(), record.row
        else:
            assert record.row in DEMO_INVALID_ROWS

    book = openpyxl.load_workbook(report)
    outcome = list(book["Outcome"].iter_rows(values_only=True))
    assert outcome[0] == ("Row", "Row key", "Outcome", "Message")
    assert len(outcome) == 201
    skipped = {row[0]: row for row in outcome[1:] if row[2] == "skipped"}
    assert set(skipped) == DEMO_INVALID_ROWS
    assert "Page Count: 'twelve' is not a number." in skipped[73][3]
    assert all(row[2] == "stored" for row in outcome[1:] if row[0] not in DEMO_INVALID_ROWS)
    failed = list(book["Failed rows"].iter_rows(values_only=True))
    headers = read_sheet(Path(demo_sheet_path())).headers
    assert list(failed[0]) == [*headers, "Reason"]  # the sheet's own headers
    assert len(failed) == 7


def test_the_failed_rows_sheet_can_be_fixed_and_sent_again(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "outcome.xlsx"
    cli(capsys, "submit", "--profile", "Sandbox", "--input", demo_sheet_path(), "--report",
        str(report))  # fmt: skip

    book = openpyxl.load_workbook(report)
    sheet = book["Failed rows"]
    header = [cell.value for cell in sheet[1]]
    page = header.index("Page Count") + 1
    for row in sheet.iter_rows(min_row=2):
        if row[page - 1].value == "twelve":
            row[page - 1].value = 12  # the officer's fix, in Excel
            fixed_key = row[0].value
    del book["Outcome"]
    fixed = tmp_path / "fixed.xlsx"
    book.save(fixed)

    code, out, err = cli(capsys, "submit", "--profile", "Sandbox", "--input", str(fixed))

    assert code == 1, err  # the five rows not fixed are still invalid
    assert "1 record to send, 5 invalid rows skipped" in out
    assert demo.records()[str(fixed_key)]["_Page_%20_Count"] == 12


def test_a_dry_run_builds_everything_and_sends_nothing(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "dry.xlsx"
    before = demo.records()
    code, out, _ = cli(
        capsys, "submit", "--profile", "Sandbox", "--input", demo_sheet_path(), "--dry-run",
        "--report", str(report),
    )  # fmt: skip

    assert code == 1
    assert "Dry run: 194 records would be sent in 13 calls; 6 invalid rows would be skipped" in out
    assert demo.records() == before
    assert demo.stats().get("graph.submit", 0) == 0
    assert journal_runs() == 0
    outcome = list(openpyxl.load_workbook(report)["Outcome"].iter_rows(values_only=True))
    assert {row[2] for row in outcome[1:]} == {"pending", "skipped"}


def test_runs_list_and_show_describe_the_run(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = write_sheet(tmp_path / "ten.csv", 10)
    _, out, _ = cli(capsys, "submit", "--profile", "Sandbox", "--input", str(sheet))
    run_id = run_id_of(out)

    code, out, _ = cli(capsys, "runs", "list")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith(run_id))
    assert "submit" in line and "done" in line and "Sandbox / ten.csv" in line

    report = tmp_path / "later.xlsx"
    code, out, _ = cli(capsys, "runs", "show", run_id[:5], "--report", str(report))
    assert code == 0
    assert f"Run:      {run_id}" in out
    assert "Records:  10: 10 stored, 0 failed, 0 skipped, 0 not sent yet" in out
    assert f"Report written to {report}." in out
    rows = list(openpyxl.load_workbook(report)["Outcome"].iter_rows(values_only=True))
    assert [row[1] for row in rows[1:]] == [key(n) for n in range(1, 11)]


def test_retry_failed_sends_only_the_failed_rows_once_the_cause_is_gone(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The profile knows no terms, so only the service can refuse an unknown one.
    profile = find_profile("Sandbox")
    save_profile(replace(profile, terms={**profile.terms, "termFullPath": []}))
    rows = [sheet_row(n) for n in range(1, 31)]
    for index in (4, 20):
        rows[index][2] = "Records/Finance/Receipts"
    sheet = write_csv(tmp_path / "thirty.csv", [SHEET_HEADERS, *rows])

    code, out, err = cli(capsys, "submit", "--profile", "Sandbox", "--input", str(sheet))
    assert code == 1, err
    run_id = run_id_of(out)
    assert "28 stored, 2 failed, 0 skipped." in out
    assert f"row 6 ({key(5)}): " in out and "Records/Finance/Receipts" in out
    assert f"opus-desktop runs retry-failed {run_id}" in out

    # An administrator adds the term in Opus.
    connection = demo.tenant.connection(demo.connection_id)
    assert connection is not None
    connection.terms["termFullPath"]["Records/Finance/Receipts"] = 7
    calls = demo.stats()["graph.submit"]

    code, out, err = cli(capsys, "runs", "retry-failed", "last")

    assert code == 0, err
    assert f"Run {run_id} resumed: 2 failed records to send (28 stored already)." in out
    assert "30 stored, 0 failed, 0 skipped." in out
    assert demo.stats()["graph.submit"] == calls + 1
    assert demo.records()[key(5)]["termFullPath"] == "Records/Finance/Receipts"


@pytest.mark.slow
def test_an_outage_exits_4_and_runs_resume_last_completes(
    make_sandbox: MakeSandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(access, "retry_policy", lambda: RetryPolicy(attempts=3, base=0.02, cap=0.1))
    sandbox = make_sandbox(fail_rate=1.0)
    save_sandbox_profiles(sandbox)
    sheet = write_sheet(tmp_path / "sixty.csv", 60)

    code, out, err = cli(
        capsys, "submit", "--profile", "Sandbox", "--input", str(sheet), "--outage-limit", "1"
    )

    assert code == 4
    run_id = run_id_of(out)
    assert "0 stored, 0 failed, 0 skipped, 60 not sent yet." in out
    assert f"Continue with: opus-desktop runs resume {run_id}" in out
    assert "The service gave no answer for 1 second, so the run stopped." in err

    sandbox.faults.fail_rate = 0.0
    code, out, err = cli(capsys, "runs", "resume", "last")

    assert code == 0, err
    assert f"Run {run_id} resumed: 60 records to send (0 stored already)." in out
    stored_exactly(sandbox, range(1, 61))


def test_a_refused_sign_in_exits_3_with_every_record_still_to_send(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_profile(replace(find_profile("Sandbox"), client_id=str(uuid.uuid4())))
    sheet = write_sheet(tmp_path / "five.csv", 5)

    code, out, err = cli(capsys, "submit", "--profile", "Sandbox", "--input", str(sheet))

    assert code == 3
    assert "5 not sent yet" in out
    assert err.strip().splitlines()[-1].startswith("opus-desktop: ")
    with Journal(paths.journal_path()) as journal:
        info = journal.run("last")
    assert info.status == "stopped" and info.counts.pending == 5


def test_bad_input_exits_2_before_any_run(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_names = write_csv(tmp_path / "no-names.csv", [["Row key", "Created time"], ["A", "x"]])
    code, out, err = cli(capsys, "submit", "--profile", "Sandbox", "--input", str(no_names))
    assert code == 2
    assert "Nothing can be sent from no-names.csv" in err
    assert "Name" in out

    code, _, err = cli(capsys, "submit", "--profile", "Sandbox", "--input", str(tmp_path / "x.csv"))
    assert code == 2 and "x.csv" in err

    code, _, err = cli(
        capsys, "submit", "--profile", "Sandbox", "--input", demo_sheet_path(),
        "--report", str(tmp_path / "out.txt"),
    )  # fmt: skip
    assert code == 2 and "out.txt" in err

    with pytest.raises(SystemExit) as exited:
        main(["submit", "--profile", "Sandbox", "--input", demo_sheet_path(), "--concurrency", "0"])
    assert exited.value.code == 2
    assert "--concurrency: choose from 1 to 32, not 0" in capsys.readouterr().err
    assert journal_runs() == 0
    assert demo.stats().get("graph.submit", 0) == 0


def test_resuming_an_unknown_run_says_how_to_find_one(
    demo: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "runs", "resume", "last")
    assert code == 2 and "no runs in the journal yet" in err
    code, _, err = cli(capsys, "runs", "show", "abcdef12")
    assert code == 2 and "runs list" in err
