"""The bar of issue 16 through the CLI, against the sandbox: 60 due records with 45-character
keys and 20 not yet due; 30 of them signed off (Decision Destroy, the others Keep) and
destroyed; resuming or retrying the finished run sends nothing and changes neither the
certificate nor the manifest (a copy only on request); an import sheet naming due keys is
refused with no destroy call; a due list's unknown, not-due, destroyed and stale keys each
get their own words, in the output and in the run's records."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from opus_desktop.cli import main
from opus_desktop.core.datetimes import format_datetime
from opus_desktop.jobs.audit import AuditLog
from opus_desktop.jobs.journal import Journal
from opus_desktop.sandbox import Sandbox
from tests.helpers.signoff import due_dates, signed_list
from tests.integration.test_disposal_sandbox import open_connection

CLASS = "Records/Finance/Invoices"  # seven years' retention in the demo tenant


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def long_key(n: int, batch: str = "2010-Q1") -> str:
    key = f"ARCHIVE/FINANCE/INVOICES/{batch}/BATCH-{n:06d}"
    assert len(key) == 45
    return key


def submit(sandbox: Sandbox, keys: list[str], created: datetime) -> None:
    """Store records under `keys`, created at `created` (so due seven years on)."""
    fmt = sandbox.pattern.pattern
    records = [
        {
            "rowKey": key,
            "leafName": f"Invoice {n}.pdf",
            "termFullPath": CLASS,
            "timeCreated": format_datetime(created + timedelta(minutes=n), fmt),
            "timeModified": format_datetime(created + timedelta(minutes=n, hours=1), fmt),
        }
        for n, key in enumerate(keys)
    ]
    with open_connection(sandbox) as connection:
        for start in range(0, len(records), 15):
            result = connection.client.submit(records[start : start + 15])
            assert not result.failed and not result.unmatched


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def destroy_calls(sandbox: Sandbox) -> int:
    stats = sandbox.stats()
    return stats.get("graph.destroy", 0) + stats.get("legacy.destroy", 0)


@pytest.fixture
def tenant(sandbox: Sandbox) -> tuple[Sandbox, list[str], list[str]]:
    """The demo tenant plus 60 due records with 45-character keys and 20 not due yet."""
    due = [long_key(n) for n in range(60)]
    later = [long_key(n, "2025-Q4") for n in range(20)]
    submit(sandbox, due, datetime(2010, 1, 4, 9, 0))
    submit(sandbox, later, datetime.now(UTC).replace(tzinfo=None) - timedelta(days=365))
    moment = datetime.now(UTC)
    assert set(due) <= sandbox.due_keys(moment) and not set(later) & sandbox.due_keys(moment)
    return sandbox, due, later


@pytest.fixture
def in_tmp(tmp_path: Path) -> Iterator[Path]:
    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(previous)


def sign_off(path: Path, destroy: set[str]) -> int:
    """The officer marks Keep on every row of the due list but `destroy`, in Excel."""
    book = load_workbook(path)
    sheet = book.active
    assert sheet is not None
    headers = [cell.value for cell in sheet[1]]
    key, decision = headers.index("Row key") + 1, headers.index("Decision") + 1
    kept = 0
    for row in range(2, sheet.max_row + 1):
        assert sheet.cell(row, decision).value == "Destroy"  # as `due --out` writes it
        if sheet.cell(row, key).value not in destroy:
            sheet.cell(row, decision).value = "Keep"
            kept += 1
    book.save(path)
    return kept


def test_thirty_signed_off_destroyed_and_the_finished_run_stays_finished(
    tenant: tuple[Sandbox, list[str], list[str]],
    in_tmp: Path,
    capsys: pytest.CaptureFixture[str],
    qapp: object,
) -> None:
    sandbox, due, _ = tenant
    code, _, err = run(
        capsys, "due", "--profile", "Sandbox", "--before", "now", "--out", "due.xlsx"
    )
    assert code == 0, err
    chosen = set(due[::2])
    assert len(chosen) == 30
    kept = sign_off(in_tmp / "due.xlsx", chosen)
    assert kept == 120 + 30  # the demo tenant's due records and the other 30

    code, out, err = run(
        capsys,
        "destroy", "--profile", "Sandbox", "--input", "due.xlsx", "--yes",
        "--justification", "Retention over (schedule 4.2)", "--certificate", "cert.pdf",
    )  # fmt: skip
    assert code == 0, err
    assert sandbox.destroyed() == chosen
    assert "due.xlsx lists 30 row keys; 30 of them are due for disposal." in out
    assert "150 more are marked Keep: never sent." in out
    found = re.search(r"Run (\w{8}) finished: 30 destroyed, 0 not destroyed\.", out)
    assert found is not None
    run_id = found.group(1)
    pdf, manifest = in_tmp / "cert.pdf", in_tmp / "cert-manifest.xlsx"
    hashes = (sha(pdf), sha(manifest))
    calls = sandbox.stats()

    for again in ("--resume", "--retry-failed"):
        code, out, err = run(capsys, "destroy", again, run_id)
        assert code == 0, err
        assert f"Run {run_id} is finished: 30 destroyed, 0 not destroyed." in out
        assert "Nothing is left to send, so nothing was sent." in out
        assert f"Certificate of destruction: {pdf} (left as it was)" in out
        assert f"Manifest: {manifest} (SHA-256 {hashes[1]})" in out
        assert (sha(pdf), sha(manifest)) == hashes
    assert sandbox.stats() == calls  # not even a sign-in
    assert len(list(AuditLog().entries())) == 1  # a run that did nothing writes no entry

    (in_tmp / "copies").mkdir()
    copy = in_tmp / "copies" / "second.pdf"
    code, out, err = run(capsys, "destroy", "--resume", run_id, "--certificate", str(copy))
    assert code == 0, err
    assert f"Copy of the certificate: {copy}" in out
    copied_manifest = copy.with_name("cert-manifest.xlsx")  # the name the certificate gives
    assert f"Copy of the manifest: {copied_manifest}" in out
    assert (sha(copy), sha(copied_manifest)) == hashes == (sha(pdf), sha(manifest))
    code, out, err = run(capsys, "destroy", "--resume", run_id, "--certificate", str(copy))
    assert code == 2 and "exists already" in err  # a copy never replaces a file
    assert (sha(copy), sha(pdf), sha(manifest)) == (hashes[0], *hashes)
    assert sandbox.stats() == calls and sandbox.destroyed() == chosen


def test_an_import_sheet_naming_due_keys_is_refused_with_no_destroy_call(
    tenant: tuple[Sandbox, list[str], list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox, due, _ = tenant
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Row key", "Name", "Classification", "Created time", "Modified time"])
    for n, key in enumerate(due[:10]):
        sheet.append([key, f"Invoice {n}.pdf", CLASS, "2010-01-04 09:00:00", "2010-01-04 10:00:00"])
    book.save(tmp_path / "import.xlsx")
    calls = sandbox.stats()

    code, out, err = run(
        capsys,
        "destroy", "--profile", "Sandbox", "--input", str(tmp_path / "import.xlsx"),
        "--justification", "Schedule 4.2", "--yes",
    )  # fmt: skip

    assert code == 2 and out == ""
    assert err.count("\n") == 1 and 'has no "Disposal due date" column' in err
    assert "import.xlsx" in err
    assert sandbox.stats() == calls and destroy_calls(sandbox) == 0  # nothing asked of Opus
    assert sandbox.destroyed() == set()

    dates = due_dates(sandbox)
    odd = signed_list(
        tmp_path / "odd.xlsx", due[:3], dates, decisions={due[1]: "Maybe"}
    )  # a Decision that is neither
    code, out, err = run(
        capsys,
        "destroy", "--profile", "Sandbox", "--input", str(odd),
        "--justification", "Schedule 4.2", "--yes",
    )  # fmt: skip
    assert code == 2 and out == ""
    assert 'row 3: the Decision "Maybe"; write Destroy or Keep' in err
    assert destroy_calls(sandbox) == 0 and sandbox.destroyed() == set()


def test_each_key_left_out_says_why_in_its_own_words(
    tenant: tuple[Sandbox, list[str], list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    qapp: object,
) -> None:
    sandbox, due, later = tenant
    dates = due_dates(sandbox)
    first = signed_list(tmp_path / "first.xlsx", due[:2], dates)
    code, out, err = run(
        capsys,
        "destroy", "--profile", "Sandbox", "--input", str(first),
        "--justification", "Schedule 4.2", "--yes",
    )  # fmt: skip
    assert code == 0, err
    earlier = re.search(r"Run (\w{8}) finished", out)
    assert earlier is not None
    gone, stale, fine, not_due = due[0], due[5], due[6], later[3]
    signed = signed_list(
        tmp_path / "signed.xlsx", [gone, "NO-SUCH-KEY", not_due, stale, fine], dates
    )
    submit(sandbox, [stale], datetime(2011, 6, 1, 9, 0))  # its retention moved after sign-off
    assert stale in sandbox.due_keys(datetime.now(UTC))  # still due, on another date
    stale_now = due_dates(sandbox)[stale]
    assert stale_now != dates[stale]

    code, out, err = run(
        capsys,
        "destroy", "--profile", "Sandbox", "--input", str(signed),
        "--justification", "Schedule 4.2", "--yes",
    )  # fmt: skip

    assert code == 1, err  # some records of the list were not destroyed
    assert sandbox.destroyed() == {*due[:2], fine}
    assert "signed.xlsx lists 5 row keys; 1 of them is due for disposal." in out
    assert "4 left out:" in out
    lines = {line.split(":")[0].strip(): line for line in out.splitlines() if " (row " in line}
    unknown, later_line = lines["NO-SUCH-KEY (row 3)"], lines[f"{not_due} (row 4)"]
    assert "Unknown to Opus: no record with this key is listed for disposal at any date" in unknown
    assert f"Not due yet: its disposal is due on {dates[not_due]}, after " in later_line
    assert unknown.split(": ", 1)[1] != later_line.split(": ", 1)[1]
    assert (
        f"Already destroyed: run {earlier.group(1)} marked it destroyed on "
        in lines[f"{gone} (row 2)"]
    )
    held = lines[f"{stale} (row 5)"]
    assert f"Held back: Opus now gives its disposal due date as {stale_now}, not " in held
    assert f"{dates[stale]} as on the signed-off list, so the retention changed after" in held

    found = re.search(r"Run (\w{8}) finished: 1 destroyed, 0 not destroyed, 4 left out\.", out)
    assert found is not None
    with Journal() as journal:
        messages = {item.key: item.message for item in journal.items(found.group(1))}
    assert messages[fine] == ""
    assert messages["NO-SUCH-KEY"].startswith("Unknown to Opus:")
    assert messages[not_due].startswith(f"Not due yet: its disposal is due on {dates[not_due]}")
    assert messages[gone].startswith(f"Already destroyed: run {earlier.group(1)}")
    assert messages[stale].startswith("Held back:")
    audited = list(AuditLog().entries())[-1].entry["answers"]
    assert {key: audited[key]["message"] for key in messages if key != fine} == {
        key: message for key, message in messages.items() if key != fine
    }
