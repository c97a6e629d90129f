"""Sheets as old systems export them: .xls and .ods, misnamed files, Excel error cells,
formulas never calculated, very long text, and CSV files with a quote never closed."""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from opus_desktop.core.errors import SheetError
from opus_desktop.core.sheets import (
    ExcelError,
    Uncalculated,
    open_sheet,
    read_sheet,
    sheet_names,
)
from tests.helpers.formats import write_ods, write_xls
from tests.helpers.workbooks import write_workbook

ERROR_CODES = ["#N/A", "#DIV/0!", "#REF!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!"]


def message(path: Path, **kwargs: object) -> str:
    with pytest.raises(SheetError) as caught:
        read_sheet(path, **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


def patch_sheet_xml(path: Path, change: Callable[[bytes], bytes]) -> Path:
    """Rewrite the first worksheet's XML of an .xlsx file (what openpyxl cannot write)."""
    original = path.with_suffix(".orig")
    shutil.move(path, original)
    with zipfile.ZipFile(original) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
            target.writestr(item, data)
    original.unlink()
    return path


TABLE = [
    ["Exported from RecordsPro"],
    [],
    ["Row key", "Name", "Pages"],
    ["K1", "Minutes", 12],
    ["K2", "Budget", 3.5],
]


# -- .xls and .ods ------------------------------------------------------------------------


@pytest.mark.parametrize("write", [write_xls, write_ods], ids=["xls", "ods"])
def test_old_and_open_formats_read_like_xlsx(tmp_path: Path, write: Callable[..., Path]) -> None:
    suffix = ".xls" if write is write_xls else ".ods"
    sheets = {"Hidden": [["Row key", "Name"], ["X", "Y"]], "Cover": [["Title"]], "Data": TABLE}
    path = write(tmp_path / f"Register{suffix}", sheets, hidden=frozenset({"Hidden"}))
    assert sheet_names(path) == ["Hidden", "Cover", "Data"]
    data = read_sheet(path)
    # The hidden sheet is skipped, the cover has no header row: the data sheet it is.
    assert data.sheet == "Data"
    assert data.header_row == 3
    assert data.headers == ["Row key", "Name", "Pages"]
    assert [(r.number, r.cells) for r in data.rows] == [
        (4, ["K1", "Minutes", 12]),
        (5, ["K2", "Budget", 3.5]),
    ]
    assert data.notes == []
    assert read_sheet(path, sheet="hidden").rows[0].cells == ["X", "Y"]


def test_a_300_row_xls(tmp_path: Path) -> None:
    rows: list[list[object]] = [["Row key", "Name", "Pages"]]
    rows += [[f"K{i}", f"File {i}", i] for i in range(300)]
    data = read_sheet(write_xls(tmp_path / "Big.xls", {"Records": rows}))
    assert len(data.rows) == 300
    assert data.rows[-1].number == 301 and data.rows[-1].cells == ["K299", "File 299", 299]


# -- the content decides ------------------------------------------------------------------


def test_an_xlsx_named_xls_is_read_as_xlsx_and_said(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "book.xlsx", {"Data": TABLE})
    renamed = path.rename(tmp_path / "Register.xls")
    data = read_sheet(renamed)
    assert data.headers == ["Row key", "Name", "Pages"] and len(data.rows) == 2
    assert data.notes == [
        "Register.xls is an Excel workbook (.xlsx), though its name ends in .xls: "
        "it is read as one."
    ]
    assert sheet_names(renamed) == ["Data"]


def test_an_xlsx_named_csv_is_read_as_xlsx(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "book.xlsx", {"Data": TABLE}).rename(tmp_path / "r.csv")
    stream = open_sheet(path)
    assert stream.sheet == "Data"
    assert [r.cells for r in stream.rows] == [["K1", "Minutes", 12], ["K2", "Budget", 3.5]]
    assert stream.notes[0].startswith("r.csv is an Excel workbook (.xlsx), though")


def test_a_csv_named_xlsx_is_read_as_csv(tmp_path: Path) -> None:
    path = tmp_path / "Export.xlsx"
    path.write_text("Row key;Name\nK1;Minutes\n", encoding="cp1252")
    data = read_sheet(path)
    assert data.sheet == "Export" and data.rows[0].cells == ["K1", "Minutes"]
    assert data.notes == [
        "Export.xlsx is a text (CSV) file, though its name ends in .xlsx: it is read as one."
    ]


def test_an_xls_named_xlsx_is_read_as_xls(tmp_path: Path) -> None:
    path = write_xls(tmp_path / "a.xls", {"Data": TABLE}).rename(tmp_path / "Old.xlsx")
    data = read_sheet(path)
    assert data.rows[1].cells == ["K2", "Budget", 3.5]
    assert data.notes[0].startswith("Old.xlsx is an Excel 97-2003 workbook (.xls), though")


def test_an_ods_named_xlsx(tmp_path: Path) -> None:
    path = write_ods(tmp_path / "a.ods", {"Data": TABLE}).rename(tmp_path / "Calc.xlsx")
    assert read_sheet(path).notes[0].startswith("Calc.xlsx is an OpenDocument spreadsheet")


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (
            b"%PDF-1.4\n%\xe2\xe3\n1 0 obj",
            "Scan.xls is a PDF document, not a workbook or a CSV file.",
        ),
        (
            b"<html><body><table><tr><td>Row key</td></tr></table></body></html>",
            "Scan.xls is a web page (HTML), not a workbook or a CSV file: "
            "open it in Excel and save it as .xlsx.",
        ),
        (
            b'<?xml version="1.0"?>\n'
            b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">',
            "Scan.xls is an Excel 2003 XML spreadsheet, not a workbook or a CSV file: "
            "open it in Excel and save it as .xlsx.",
        ),
        (
            b"\x00\x01\x02\x03binary\x00\x00\xff" * 20,
            "Scan.xls is not a workbook or a CSV file: it holds binary data "
            "(it may be damaged, or another kind of file renamed).",
        ),
    ],
    ids=["pdf", "html", "xml-2003", "binary"],
)
def test_files_that_are_no_sheet_get_one_sentence(
    tmp_path: Path, content: bytes, said: str
) -> None:
    path = tmp_path / "Scan.xls"
    path.write_bytes(content)
    assert message(path) == said


def test_other_zips(tmp_path: Path) -> None:
    word = tmp_path / "Letter.xlsx"
    with zipfile.ZipFile(word, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    assert message(word) == "Letter.xlsx is a Word document, not a workbook or a CSV file."
    binary = tmp_path / "Book.xlsb"
    with zipfile.ZipFile(binary, "w") as archive:
        archive.writestr("xl/workbook.bin", b"\x83\x01\x00")
    # Read as .xlsb (calamine's reader refuses this one): not called a zip archive.
    assert message(binary).startswith("Book.xlsb is damaged and cannot be read (")


def test_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "Nothing.xlsx"
    path.write_bytes(b"")
    assert message(path) == "Nothing.xlsx is empty."


def test_the_header_row_must_be_1_or_more(tmp_path: Path) -> None:
    path = write_xls(tmp_path / "a.xls", {"Data": TABLE})
    with pytest.raises(SheetError, match="the header row must be 1 or more, not 0"):
        open_sheet(path, header_row=0)


# -- error cells, formulas never calculated, long text -----------------------------------


def test_excel_errors_and_uncalculated_formulas_are_not_empty(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Row key", "Value"])
    for index, code in enumerate(ERROR_CODES, start=2):
        sheet.cell(index, 1, f"K{index}")
        cell = sheet.cell(index, 2)
        cell.value = code
        cell.data_type = "e"  # an error with its cached code, as Excel saves it
    sheet["A9"] = "K9"
    sheet["B9"] = "=1+1"  # openpyxl saves formulas without a result
    sheet["A10"] = "K10"
    sheet["B10"] = "plain"
    sheet["C11"] = "=SUM(A1:A2)"  # past the last column and row with a value
    book.save(tmp_path / "Errors.xlsx")

    data = read_sheet(tmp_path / "Errors.xlsx")
    values = {row.number: row.cells[1] for row in data.rows}
    assert [values[n] for n in range(2, 9)] == [ExcelError(code) for code in ERROR_CODES]
    assert values[9] == Uncalculated("1+1")
    assert values[10] == "plain"
    assert ExcelError("#DIV/0!").problem == (
        "The cell holds the Excel error #DIV/0!, not a value: correct it in Excel."
    )
    assert str(ExcelError("#N/A")) == "#N/A" and str(Uncalculated("1+1")) == "=1+1"
    assert Uncalculated().problem == (
        "The cell holds a formula Excel has not calculated: open and save the file in Excel."
    )
    # C11 lies outside the header span; its row is still read (and blank there).
    assert 11 not in values


def test_cached_formula_results_and_empty_text_results_stay_values(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "f.xlsx", {"S": [["Row key", "Value", "Text"], ["K", 1, "x"]]})

    def cache(xml: bytes) -> bytes:
        # B2 a formula with its result, C2 one whose result is empty text, x: prefixed.
        xml = re.sub(rb'<c r="B2"([^>]*)>.*?</c>', rb'<c r="B2"\1><f>0+1</f><v>1</v></c>', xml)
        return re.sub(
            rb'<c r="C2"[^>]*>.*?</c>', rb'<x:c r="C2" t="str"><x:f>""</x:f><x:v></x:v></x:c>', xml
        )

    data = read_sheet(patch_sheet_xml(path, cache))
    assert data.rows[0].cells[:2] == ["K", 1]
    assert not any(isinstance(v, ExcelError | Uncalculated) for v in data.rows[0].cells)


def test_prefixed_error_cells(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "x.xlsx", {"S": [["Row key", "Value"], ["K", "v"]]})

    def error(xml: bytes) -> bytes:
        return re.sub(
            rb'<c r="B2"[^>]*>.*?</c>',
            rb'<x:c r="B2" s="0" t="e"><x:f>1/0</x:f><x:v>#DIV/0!</x:v></x:c>',
            xml,
        )

    assert read_sheet(patch_sheet_xml(path, error)).rows[0].cells == ["K", ExcelError("#DIV/0!")]


def test_text_longer_than_32767_characters_is_kept_whole(tmp_path: Path) -> None:
    # openpyxl itself cuts text to 32,767 characters when it writes, so it is put in after.
    path = write_workbook(tmp_path / "long.xlsx", {"S": [["Row key", "Notes"], ["K", "SHORT"]]})
    long_text = "word " * 8000 + "end"
    path = patch_sheet_xml(path, lambda xml: xml.replace(b"SHORT", long_text.encode()))
    cell = read_sheet(path).rows[0].cells[1]
    assert isinstance(cell, str) and len(cell) == len(long_text) > 32767
    assert cell.endswith("end")


# -- CSV ----------------------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_a_quote_never_closed_names_its_line(tmp_path: Path, newline: str) -> None:
    lines = ["Row key,Name", "K1,Minutes", 'K2,"Budget, draft', "K3,Report", "K4,Letter"]
    path = tmp_path / "open.csv"
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    with pytest.raises(SheetError) as caught:
        list(open_sheet(path).rows)
    assert str(caught.value) == "open.csv, line 3: a quote opens here and is never closed."


def test_a_quote_never_closed_in_a_big_file(tmp_path: Path) -> None:
    # The open cell outgrows csv's field limit long before the end of the file.
    path = tmp_path / "big.csv"
    rows = "".join(f'K{i},"a ""quoted"" name"\n' for i in range(5))
    path.write_text("Row key,Name\n" + rows + 'K9,"oops\n' + "K,x\n" * 40000, encoding="utf-8")
    with pytest.raises(SheetError, match=r"^big\.csv, line 7: a quote opens here and is never"):
        list(open_sheet(path).rows)


def test_a_closed_multiline_last_cell_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text('Row key,Name\nK1,"two\nlines"\n', encoding="utf-8")
    assert read_sheet(path).rows[0].cells == ["K1", "two\nlines"]


def test_no_header_row_names_the_closest_row(tmp_path: Path) -> None:
    # Row 3 is half text: not enough for a header row, but the nearest to one.
    rows: list[list[object]] = [[1, 2, 3, 4], [5, 6, 7, 8], ["Notes", "x", 3, 4]]
    path = write_workbook(tmp_path / "keys.xlsx", {"Keys": rows})
    said = message(path)
    assert said.startswith('keys.xlsx, sheet "Keys" has no header row')
    assert "at least two columns (row 3 comes closest). Check" in said
