"""Day-first sheets end to end: validate and submit a UK CSV and a German Excel CSV to the
sandbox, and check the dates it stores, with and without --date-order."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from opus_desktop.cli import main
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import save_sandbox_profiles

HEADERS = ["Row key", "Name", "Created time", "Modified time", "Date Received"]
UK = [
    ["UK-1", "Tenancy file", "03/04/2019 09:30", "04/04/2019 10:15:20", "01/02/2019"],
    ["UK-2", "Payroll", "05/06/2019 2:05 PM", "06/06/19 14:05", "25 Dec 2019"],
    ["UK-3", "Contract", "25/12/2019 09:30", "26/12/2019 11:11", "17/07/2019"],
]
EXPECTED_UK = {
    "UK-1": ("2019-04-03 09:30:00", "2019-04-04 10:15:20", "2019-02-01 00:00:00"),
    "UK-2": ("2019-06-05 14:05:00", "2019-06-06 14:05:00", "2019-12-25 00:00:00"),
    "UK-3": ("2019-12-25 09:30:00", "2019-12-26 11:11:00", "2019-07-17 00:00:00"),
}
GERMAN = [
    ["DE-1", "Mietvertrag Müller", "03.04.2019 09:30", "04.04.2019 10:15", "01.02.2019"],
    ["DE-2", "Gehälter März", "24.12.2019 08:00", "27.12.2019 09:00", "15.01.2020"],
]
EXPECTED_GERMAN = {
    "DE-1": ("2019-04-03 09:30:00", "2019-04-04 10:15:00", "2019-02-01 00:00:00"),
    "DE-2": ("2019-12-24 08:00:00", "2019-12-27 09:00:00", "2020-01-15 00:00:00"),
}


@pytest.fixture
def demo(sandbox: Sandbox) -> Sandbox:
    save_sandbox_profiles(sandbox)
    return sandbox


def write(path: Path, rows: list[list[str]], encoding: str, delimiter: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as stream:
        writer = csv.writer(stream, delimiter=delimiter)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    return path


def stored(sandbox: Sandbox, keys: list[str]) -> dict[str, tuple[object, ...]]:
    records = sandbox.records()
    return {
        key: (
            records[key]["timeCreated"],
            records[key]["timeModified"],
            records[key].get("_Date_%20_Received"),
        )
        for key in keys
        if key in records
    }


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


@pytest.mark.parametrize(
    ("rows", "encoding", "delimiter", "expected"),
    [(UK, "utf-8-sig", ",", EXPECTED_UK), (GERMAN, "cp1252", ";", EXPECTED_GERMAN)],
    ids=["uk", "german"],
)
def test_submit_with_date_order_dmy_stores_the_exact_dates(
    demo: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    rows: list[list[str]],
    encoding: str,
    delimiter: str,
    expected: dict[str, tuple[str, ...]],
) -> None:
    sheet = write(tmp_path / "dates.csv", rows, encoding, delimiter)
    code, out = run(capsys, "validate", "--profile", "Sandbox", "--input", str(sheet))
    assert code == 0, out
    assert "Created time: read day first (25/12/2019), decided by row" in out
    code, out = run(
        capsys, "submit", "--profile", "Sandbox", "--input", str(sheet), "--date-order", "DMY"
    )
    assert code == 0, out
    assert "Created time: read day first (25/12/2019), as chosen." in out
    assert stored(demo, list(expected)) == expected
    code, out = run(capsys, "runs", "show", "last")  # the run keeps how it read its dates
    assert "Dates:    Created time: read day first (25/12/2019), as chosen." in out
    names = {key: demo.records()[key]["leafName"] for key in expected}
    assert names == {row[0]: row[1] for row in rows}  # the umlauts survive cp1252


def test_without_a_date_order_the_uk_sheet_is_read_right(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = write(tmp_path / "uk.csv", UK, "utf-8-sig", ",")
    code, out = run(capsys, "submit", "--profile", "Sandbox", "--input", str(sheet))
    assert code == 0, out
    assert "Created time: read day first (25/12/2019), decided by row 4." in out
    assert "Date Received: read day first (25/12/2019), decided by row 4." in out
    assert stored(demo, list(EXPECTED_UK)) == EXPECTED_UK


def test_an_undecidable_sheet_is_refused_with_a_sentence_never_swapped(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [[*row[:2], "03/04/2019 09:30", "2019-04-04 10:00:00", ""] for row in UK]
    sheet = write(tmp_path / "ambiguous.csv", rows, "utf-8-sig", ",")
    code, out = run(capsys, "submit", "--profile", "Sandbox", "--input", str(sheet))
    assert code == 1
    assert (
        "row 2, Created time: '03/04/2019 09:30' could be 3 April 2019 or 4 March 2019: "
        "choose the date order: day first (DMY) or month first (MDY)."
    ) in out
    assert "0 stored" in out
    assert stored(demo, ["UK-1", "UK-2", "UK-3"]) == {}
    code, out = run(
        capsys, "submit", "--profile", "Sandbox", "--input", str(sheet), "--date-order", "mdy"
    )
    assert code == 0, out
    assert stored(demo, ["UK-1"])["UK-1"][0] == "2019-03-04 09:30:00"
