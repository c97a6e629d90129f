"""Reports and tables written as .xlsx and .csv."""

from __future__ import annotations

import csv
import gc
import os
import stat
from collections.abc import Iterator
from datetime import datetime, time
from pathlib import Path

import openpyxl
import pytest

from opus_desktop.core.csvtext import MARKER
from opus_desktop.core.reports import (
    ReportError,
    SheetSpec,
    ValidationReport,
    cell_text,
    is_own_report,
    records_csv_path,
    rows_of,
    unprotect,
    validate_into_report,
    write_table,
    write_validation_report,
    write_workbook,
)
from opus_desktop.core.schema import Template
from opus_desktop.core.sheets import open_sheet, read_sheet
from opus_desktop.core.validation import ValidationResult, validate
from opus_desktop.core.values import ValueSettings
from tests.helpers.workbooks import (
    LONG_NAME,
    PLANTED,
    demo_settings,
    demo_template,
    messy_workbook,
    write_csv,
)


@pytest.fixture(scope="module")
def template() -> Template:
    return demo_template()


@pytest.fixture(scope="module")
def profile() -> ValueSettings:
    return demo_settings()


@pytest.fixture
def messy(tmp_path: Path, template: Template, profile: ValueSettings) -> ValidationResult:
    return validate(read_sheet(messy_workbook(tmp_path / "Transfer.xlsx")), template, profile)


def sheet_rows(path: Path, title: str) -> list[tuple[object, ...]]:
    book = openpyxl.load_workbook(path)
    return list(book[title].iter_rows(values_only=True))


def csv_rows(path: Path, *, as_written: bool = False) -> list[list[str]]:
    """The rows of a CSV file the app wrote; unless `as_written`, as the app reads them
    again: without the marker line and the apostrophes it announces."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    if as_written or not rows or not is_own_report(rows[0]):
        return rows
    return [[unprotect(cell) for cell in row] for row in rows[1:]]


def test_the_workbook_report(
    tmp_path: Path, messy: ValidationResult, template: Template, profile: ValueSettings
) -> None:
    path = tmp_path / "report.xlsx"
    write_validation_report(path, messy, template, profile)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Problems", "Records"]
    problems = book["Problems"]
    assert problems.freeze_panes == "A2" and problems["A1"].font.b
    assert problems.column_dimensions["D"].width == 80
    rows = list(problems.iter_rows(values_only=True))
    assert rows[0] == ("Row", "Column", "Value", "Problem")
    assert {(r[0], r[1]) for r in rows[1:]} == PLANTED and len(rows) == len(PLANTED) + 1
    assert rows[1] == (
        9,
        "Date Received",
        "2024-02-30",
        "'2024-02-30' is not a date in the format yyyy-MM-dd HH:mm:ss: "
        "February 2024 has no day 30.",
    )

    records = book["Records"]
    assert records.freeze_panes == "A2" and records["B1"].font.b
    table = list(records.iter_rows(values_only=True))
    header = table[0]
    assert header[:4] == ("Row", "Row key", "Name", "Classification") and header[-1] == "Status"
    by_row = {r[0]: dict(zip(header, r, strict=True)) for r in table[1:]}
    assert [r[0] for r in table[1:]] == [5, 6, 8, 9, 10, 11, 12, 13, 14, 15]
    first = by_row[5]
    assert first["Status"] == "valid"
    assert first["Modified time"] == "2024-01-16 08:00:07"  # exactly what is sent
    assert first["Security Level"] == "Public" and first["Page Count"] == "12"
    assert first["Description"] is None
    assert by_row[6]["Security Level"] == "Internal"  # typed "internal": the profile's label
    assert by_row[6]["Record Owner"] == "bob.smith@contoso.example; carol.jones@contoso.example"
    assert by_row[11]["Status"] == "invalid"
    assert by_row[11]["Security Level"] == "Top secret"  # not sendable: shown as given
    assert by_row[12]["Name"] == LONG_NAME
    assert {r: v["Status"] for r, v in by_row.items()} == {
        5: "valid", 6: "valid", 8: "valid", 9: "invalid", 10: "invalid", 11: "invalid",
        12: "invalid", 13: "invalid", 14: "invalid", 15: "valid",
    }  # fmt: skip


def test_the_csv_report_is_two_files_with_the_same_content(
    tmp_path: Path, messy: ValidationResult, template: Template, profile: ValueSettings
) -> None:
    write_validation_report(tmp_path / "r.xlsx", messy, template, profile)
    write_validation_report(tmp_path / "r.csv", messy, template, profile)
    assert records_csv_path(tmp_path / "r.csv") == tmp_path / "r.records.csv"
    for title, path in (("Problems", tmp_path / "r.csv"), ("Records", tmp_path / "r.records.csv")):
        as_text = [[cell_text(v) for v in row] for row in sheet_rows(tmp_path / "r.xlsx", title)]
        assert csv_rows(path) == as_text


def test_streaming_writes_the_same_report(
    tmp_path: Path, messy: ValidationResult, template: Template, profile: ValueSettings
) -> None:
    write_validation_report(tmp_path / "whole.xlsx", messy, template, profile)
    stream = open_sheet(messy_workbook(tmp_path / "Transfer.xlsx"))
    result = validate_into_report(tmp_path / "streamed.xlsx", stream, template, profile)
    assert result.records == [] and result.problems == messy.problems
    for title in ("Problems", "Records"):
        assert sheet_rows(tmp_path / "streamed.xlsx", title) == sheet_rows(
            tmp_path / "whole.xlsx", title
        )


def test_a_blocked_sheet_reports_every_record_invalid_and_the_mapping_problem_first(
    tmp_path: Path, template: Template, profile: ValueSettings
) -> None:
    rows = [["Row key", "Name", "Created time"], ["K1", "A", "2024-01-01"], ["K2", "", "x"]]
    sheet = read_sheet(write_csv(tmp_path / "in.csv", rows))
    validate_into_report(tmp_path / "out.csv", sheet, template, profile)
    problems = csv_rows(tmp_path / "out.csv")
    assert [p[:2] for p in problems] == [
        ["Row", "Column"], ["1", "Modified time"], ["3", "Name"], ["3", "Created time"],
    ]  # fmt: skip
    records = csv_rows(tmp_path / "out.records.csv")
    assert [r[-1] for r in records] == ["Status", "invalid", "invalid"]


def test_write_table_xlsx_and_csv(tmp_path: Path) -> None:
    headers = ["Row key", "Due", "Owners", "Note"]
    rows: list[list[object]] = [
        ["K1", datetime(2024, 5, 1, 8, 30), ["a@x.example", "b@x.example"], "=SUM(A1:A3)"],
        ["K2", None, [], "bell\x07 and tab\tkept"],
        ["-5", 12.0, 3, "@home"],
        ["-abc", True, 2.5, "+1 555"],
    ]
    assert write_table(tmp_path / "due.xlsx", headers, rows, "Due records: [May]") == 4
    book = openpyxl.load_workbook(tmp_path / "due.xlsx")
    assert book.sheetnames == ["Due records   May"]
    sheet = book.active
    assert sheet is not None and sheet.freeze_panes == "A2" and sheet["A1"].font.b
    assert sheet["D2"].value == "=SUM(A1:A3)" and sheet["D2"].data_type == "s"  # not a formula
    assert sheet["B2"].value == datetime(2024, 5, 1, 8, 30)
    assert sheet["C2"].value == "a@x.example; b@x.example"
    assert sheet["D3"].value == "bell and tab\tkept"  # a control character cannot go in XML
    assert sheet.column_dimensions["B"].width == 21  # "2024-05-01 08:30:00" and a margin

    write_table(tmp_path / "due.csv", headers, iter(rows))
    assert csv_rows(tmp_path / "due.csv", as_written=True) == [
        [MARKER],  # some text got an apostrophe: the file says so first
        headers,
        ["K1", "2024-05-01 08:30:00", "a@x.example; b@x.example", "'=SUM(A1:A3)"],
        ["K2", "", "", "bell\x07 and tab\tkept"],
        ["-5", "12", "3", "'@home"],
        ["'-abc", "TRUE", "2.5", "'+1 555"],
    ]


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()

    def rows() -> Iterator[list[object]]:
        yield ["K1"]
        raise RuntimeError("the journal went away")

    for name in ("t.xlsx", "t.csv"):
        with pytest.raises(RuntimeError):
            write_table(folder / name, ["Row key"], rows())
    assert list(folder.iterdir()) == []

    (folder / "old.csv").write_text("keep me", encoding="utf-8")
    with (
        pytest.raises(RuntimeError),
        ValidationReport(folder / "old.csv", demo_template(), demo_settings()),
    ):
        raise RuntimeError("cancelled")
    assert sorted(p.name for p in folder.iterdir()) == ["old.csv"]
    assert (folder / "old.csv").read_text(encoding="utf-8") == "keep me"


def test_write_workbook_sheets_widths_wrapped_text_and_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    counts = write_workbook(
        path,
        [
            SheetSpec("Outcome", ("Row", "Message"), [[5, "=1+1"], [6, "fine"]], (8, 90)),
            SheetSpec("Facts", ("Field", "Value"), iter([["At", time(10, 30)], ["Why", "a\nb"]]),
                      wrap={1}),
        ],
    )  # fmt: skip
    assert counts == [2, 2]
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Outcome", "Facts"]
    outcome, facts = book["Outcome"], book["Facts"]
    assert outcome.freeze_panes == "A2" and outcome["B1"].font.b and facts["A1"].font.b
    assert outcome.column_dimensions["B"].width == 90
    assert outcome["B2"].value == "=1+1" and outcome["B2"].data_type == "s"
    assert not outcome["B3"].alignment.wrap_text
    assert facts["B2"].value == time(10, 30)  # a time stays a time
    assert facts["B3"].value == "a\nb" and facts["B3"].alignment.wrap_text
    assert facts["B3"].alignment.vertical == "top" and not facts["A3"].alignment.wrap_text
    assert facts.column_dimensions["A"].width == 9  # "Field" and a margin

    with pytest.raises(ReportError, match=r"book\.csv: a workbook must be an \.xlsx file\."):
        write_workbook(tmp_path / "book.csv", [])


def test_a_failed_workbook_leaves_nothing_and_closes_its_sheets(tmp_path: Path) -> None:
    def rows() -> Iterator[list[object]]:
        yield ["K1"]
        raise RuntimeError("the journal went away")

    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(RuntimeError):
        write_workbook(folder / "t.xlsx", [SheetSpec("A", ["Key"], [["K0"]]),
                                           SheetSpec("B", ["Key"], rows(), (10,))])  # fmt: skip
    gc.collect()  # an unsaved sheet still streaming would complain here (filterwarnings=error)
    assert list(folder.iterdir()) == []
    with pytest.raises(ReportError, match=r"the folder .*missing does not exist"):
        write_workbook(tmp_path / "missing" / "t.xlsx", [SheetSpec("A", ["Key"], [["K0"]])])


def test_bad_report_paths(tmp_path: Path) -> None:
    with pytest.raises(
        ReportError, match=r"report\.pdf: a report must be an \.xlsx or a \.csv file\."
    ):
        write_table(tmp_path / "report.pdf", ["A"], [])
    with pytest.raises(ReportError, match=r"the folder .*missing does not exist"):
        write_table(tmp_path / "missing" / "r.csv", ["A"], [])


def test_rows_of_records(
    messy: ValidationResult, template: Template, profile: ValueSettings
) -> None:
    first = next(rows_of(messy.records, template, profile))
    assert first[:3] == ["REC-001", "Annual report 2023.pdf", "Records/Finance/Invoices"]
    assert first[11] == "Public" and first[8] == ""  # Security Level, Description
