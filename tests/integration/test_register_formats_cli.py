"""Registers in the formats offices keep, sent to the sandbox: every value stored exactly,
and cells that hold no value (an Excel error, a formula never calculated) refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from opus_desktop.cli import main
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import save_sandbox_profiles
from tests.helpers.formats import XlsbError, write_ods, write_xls, write_xlsb

DATA = Path(__file__).parents[1] / "data" / "sheets"
HEADERS = ["Row key", "Name", "Created time", "Modified time", "Page Count", "Case Number"]


@pytest.fixture
def demo(sandbox: Sandbox) -> Sandbox:
    save_sandbox_profiles(sandbox)
    return sandbox


def register(rows: int, prefix: str) -> list[list[object]]:
    return [HEADERS] + [
        [
            f"{prefix}-{n:04d}",
            f"Dossier Ünal {n}",
            f"2019-{n % 12 + 1:02d}-{n % 28 + 1:02d} 09:{n % 60:02d}:00",
            "2020-01-31 23:59:59",
            n,
            f"CASE-{n}",
        ]
        for n in range(1, rows + 1)
    ]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def saved_by_libreoffice(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """The same register as LibreOffice saved it (tests/data/sheets/README.md)."""
    source = DATA / f"register-300{path.suffix}"
    assert sheets == {"Register": register(300, "LO")}
    path.write_bytes(source.read_bytes())
    return path


@pytest.mark.parametrize(
    ("write", "suffix", "prefix"),
    [
        (write_xls, ".xls", "XLS"),
        (write_ods, ".ods", "ODS"),
        (write_xlsb, ".xlsb", "XLSB"),
        (saved_by_libreoffice, ".xls", "LO"),
        (saved_by_libreoffice, ".ods", "LO"),
    ],
)
def test_300_rows_of_xls_and_ods_are_stored_exactly(
    demo: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    write: Callable[..., Path],
    suffix: str,
    prefix: str,
) -> None:
    rows = register(300, prefix)
    sheet = write(tmp_path / f"register{suffix}", {"Register": rows})
    code, out = run(capsys, "submit", "--profile", "Sandbox", "--input", str(sheet))
    assert code == 0, out
    records = demo.records()
    for key, name, created, modified, pages, case in rows[1:]:
        stored = records[str(key)]
        assert (stored["leafName"], stored["timeCreated"], stored["timeModified"]) == (
            name,
            created,
            modified,
        )
        assert stored["_Page_%20_Count"] == pages
        assert stored["_Case_%20_Number"] == case
    assert len([k for k in records if str(k).startswith(f"{prefix}-")]) == 300


def test_error_cells_and_uncalculated_formulas_are_problems_and_not_sent(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in register(4, "ERR"):
        sheet.append(row)
    sheet["E3"].value = "#DIV/0!"
    sheet["E3"].data_type = "e"  # cached as Excel saves an error
    sheet["F4"].value = "#N/A"
    sheet["F4"].data_type = "e"  # in a text column: never sent as the text "#N/A"
    sheet["E5"] = "=B5*2"  # openpyxl saves a formula without its result
    path = tmp_path / "errors.xlsx"
    book.save(path)
    code, out = run(capsys, "submit", "--profile", "Sandbox", "--input", str(path))
    assert code == 1, out
    assert (
        "row 3, Page Count: The cell holds the Excel error #DIV/0!, not a value: "
        "correct it in Excel."
    ) in out
    assert "row 4, Case Number: The cell holds the Excel error #N/A, not a value" in out
    assert (
        "row 5, Page Count: The cell holds a formula Excel has not calculated: "
        "open and save the file in Excel."
    ) in out
    assert set(demo.records()) & {"ERR-0001", "ERR-0002", "ERR-0003", "ERR-0004"} == {"ERR-0001"}


@pytest.mark.parametrize("suffix", [".ods", ".xls", ".xlsb"])
def test_error_cells_of_other_formats_are_problems_and_not_sent(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    if suffix == ".xlsb":
        rows = register(4, "LOERR")
        rows[2][4] = XlsbError(0x07, formula=True)
        rows[3][5] = XlsbError(0x2A)
        rows[4][4] = XlsbError(0x0F, formula=True)
        path = write_xlsb(tmp_path / "errors.xlsb", {"Register": rows})
    else:
        path = DATA / f"register-errors{suffix}"  # saved by LibreOffice
    code, out = run(capsys, "submit", "--profile", "Sandbox", "--input", str(path))
    assert code == 1, out
    assert "row 3, Page Count: The cell holds the Excel error #DIV/0!, not a value" in out
    assert "row 4, Case Number: The cell holds the Excel error #N/A, not a value" in out
    assert "row 5, Page Count: The cell holds the Excel error #VALUE!, not a value" in out
    keys = {f"LOERR-{n:04d}" for n in range(1, 5)}
    assert set(demo.records()) & keys == {"LOERR-0001"}


def test_a_workbook_misnamed_is_read_by_its_content_and_said(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in register(2, "MIS"):
        sheet.append(row)
    path = tmp_path / "register.xls"
    book.save(path)  # an .xlsx under an old name
    code, out = run(capsys, "validate", "--profile", "Sandbox", "--input", str(path))
    assert code == 0, out
    assert out.startswith(
        "register.xls is an Excel workbook (.xlsx), though its name ends in .xls: "
        "it is read as one.\n"
    )
    assert "2 valid" in out


def test_text_longer_than_a_cell_holds_is_a_problem_never_cut(
    demo: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = register(2, "LONG")
    rows[0].append("Description")
    rows[1].append("x" * 40_000)  # calamine reads it whole; Excel could not hold it
    rows[2].append("short")
    path = write_ods(tmp_path / "long.ods", {"Register": rows})
    report = tmp_path / "outcome.xlsx"
    code, out = run(
        capsys, "submit", "--profile", "Sandbox", "--input", str(path), "--report", str(report)
    )
    assert code == 1, out
    assert "row 2, Description: 'xxxx" in out
    assert "is 40,000 characters long; a cell holds at most 32,767 (Excel's limit)" in out
    assert set(demo.records()) & {"LONG-0001", "LONG-0002"} == {"LONG-0002"}
    book = openpyxl.load_workbook(report, read_only=True)
    cells = [str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row]
    long = [c for c in cells if c.startswith("xxxx")]
    assert long and all(
        c.endswith("[cut here: the whole text has 40,000 characters]") for c in long
    )
    assert all(len(c) <= 32_767 for c in long)
