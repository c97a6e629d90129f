"""Error cells in .xls, .xlsb and .ods files: calamine reads them as empty, the app as
what they are, at their place, in files written by LibreOffice and Excel and by hand."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
import xlwt

from opus_desktop.core import cell_marks
from opus_desktop.core.cell_marks import problems
from opus_desktop.core.sheets import ExcelError, Uncalculated, read_sheet, sheet_names
from tests.helpers.formats import XlsbError, write_ods_content, write_xlsb

DATA = Path(__file__).parents[1] / "data" / "sheets"


@pytest.mark.parametrize("suffix", [".ods", ".xls"])
def test_libreoffice_error_cells_are_read_as_errors(suffix: str) -> None:
    sheet = read_sheet(DATA / f"register-errors{suffix}")
    cells = {(row.number, c): v for row in sheet.rows for c, v in enumerate(row.cells)}
    assert cells[3, 4] == ExcelError("#DIV/0!")  # E3: =1/0
    assert cells[4, 5] == ExcelError("#N/A")  # F4: =NA()
    assert cells[5, 4] == ExcelError("#VALUE!")  # E5: =B5*2 over text
    assert [row.cells[0] for row in sheet.rows] == [f"LOERR-{n:04d}" for n in range(1, 5)]
    others = [v for place, v in cells.items() if place not in {(3, 4), (4, 5), (5, 4)}]
    assert not any(isinstance(v, ExcelError | Uncalculated) for v in others)


def test_xls_errors_of_every_code_at_their_place(tmp_path: Path) -> None:
    book = xlwt.Workbook()
    book.add_sheet("Before").write(0, 0, "other")
    sheet = book.add_sheet("Register")
    codes = {0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!"}
    codes |= {0x1D: "#NAME?", 0x24: "#NUM!", 0x2A: "#N/A"}
    sheet.write(0, 2, "Row key")
    sheet.write(0, 3, "Value")
    for n, code in enumerate(codes, start=1):
        sheet.write(n, 2, f"K{n}")
        sheet.row(n).set_cell_error(3, code)
    path = tmp_path / "codes.xls"
    book.save(str(path))
    marks = problems(path, "xls", "Register")
    assert marks == {(n, 3): ExcelError(text) for n, text in enumerate(codes.values(), start=1)}
    assert problems(path, "xls", "Before") == {}
    assert problems(path, "xls", "No such sheet") == {}
    rows = read_sheet(path, sheet="Register").rows
    assert [row.cells[1] for row in rows] == [ExcelError(text) for text in codes.values()]


def test_an_xls_xlrd_cannot_read_gives_no_marks(tmp_path: Path) -> None:
    path = tmp_path / "broken.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    assert problems(path, "xls", "Sheet1") == {}


def test_a_real_excel_xlsb_is_read() -> None:
    path = DATA / "calamine-issues.xlsb"
    assert sheet_names(path)[:2] == ["datatypes", "issue2"]
    sheet = read_sheet(path, sheet="issue2", header_row=1)
    assert sheet.headers == ["1", "a"]
    assert [row.cells for row in sheet.rows] == [[2, "b"], [3, "c"]]
    assert problems(path, "xlsb", "issue2") == {}


def test_xlsb_error_cells_and_error_formulas(tmp_path: Path) -> None:
    path = write_xlsb(
        tmp_path / "register.xlsb",
        {
            "Other": [["x", XlsbError(0x07)]],
            "Register": [
                ["Row key", "Pages", "Title"],
                ["K1", 4, "fine"],
                ["K2", XlsbError(0x07), XlsbError(0x2A, formula=True)],
                ["K3", XlsbError(0x17, formula=True), "also fine"],
            ],
        },
    )
    assert problems(path, "xlsb", "Register") == {
        (2, 1): ExcelError("#DIV/0!"),
        (2, 2): ExcelError("#N/A"),
        (3, 1): ExcelError("#REF!"),
    }
    rows = read_sheet(path, sheet="Register").rows
    assert [row.cells for row in rows] == [
        ["K1", 4, "fine"],
        ["K2", ExcelError("#DIV/0!"), ExcelError("#N/A")],
        ["K3", ExcelError("#REF!"), "also fine"],
    ]


def test_an_xlsb_cut_short_gives_no_marks(tmp_path: Path) -> None:
    good = write_xlsb(tmp_path / "good.xlsb", {"S": [["a", XlsbError(0x07)]]})
    cut = tmp_path / "cut.xlsb"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(cut, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, data[:-5] if item.filename.endswith("sheet1.bin") else data)
    assert problems(cut, "xlsb", "S") == {}


_ODS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
    ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    ' xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0">'
    "<office:body><office:spreadsheet>"
)
_ERROR = (
    '<table:table-cell table:formula="of:=1/0" office:value-type="string"'
    ' office:string-value="" calcext:value-type="error"><text:p>#DIV/0!</text:p>'
    "</table:table-cell>"
)
_TEXT = '<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>'


def test_ods_places_count_repeated_rows_and_columns(tmp_path: Path) -> None:
    rows = (
        "<table:table-row>" + _TEXT.format("Row key") + _TEXT.format("Pages") + "</table:table-row>"
        '<table:table-row table:number-rows-repeated="3">'
        '<table:table-cell table:number-columns-repeated="2"/></table:table-row>'
        "<table:table-row>"
        + _TEXT.format("K5")
        + '<table:covered-table-cell table:number-columns-repeated="2"/>'
        + _ERROR
        + "</table:table-row>"
        "<table:table-row>"
        '<table:table-cell table:formula="of:=[.A1]*2"/>'
        '<table:table-cell table:formula="of:=2" office:value-type="float" office:value="2">'
        "<text:p>2</text:p></table:table-cell></table:table-row>"
    )
    content = (
        _ODS_HEAD + '<table:table table:name="First">'
        "<table:table-row>" + _ERROR + "</table:table-row></table:table>"
        f'<table:table table:name="Register">{rows}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    path = write_ods_content(tmp_path / "register.ods", content)
    assert problems(path, "ods", "Register") == {
        (4, 3): ExcelError("#DIV/0!"),
        (5, 0): Uncalculated("[.A1]*2"),
    }


def test_ods_error_texts_of_libreoffice_are_kept() -> None:
    marks = problems(DATA / "register-errors.ods", "ods", "Register")
    assert sorted(marks.values(), key=str) == [
        ExcelError("#DIV/0!"),
        ExcelError("#N/A"),
        ExcelError("#VALUE!"),
    ]


def test_an_ods_whose_content_is_not_xml_gives_no_marks(tmp_path: Path) -> None:
    path = tmp_path / "bad.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("content.xml", "<office:document-content><unclosed")
    assert problems(path, "ods", "S") == {}
    assert problems(tmp_path / "missing.ods", "ods", "S") == {}


def test_csv_has_no_marks(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("#DIV/0!\n")
    assert problems(path, "csv", "a") == {}


def test_xls_sheet_names_in_both_encodings_far_rows_and_booleans(tmp_path: Path) -> None:
    book = xlwt.Workbook()
    names = ["Über", "Регистр"]  # stored as latin-1 and as UTF-16
    for n, name in enumerate(names):
        sheet = book.add_sheet(name)
        sheet.write(0, 0, True)  # BOOLERR records holding booleans, not errors
        sheet.write(0, 1, False)
        sheet.row(40_000 + n).set_cell_error(2 + n, "#REF!")
        sheet.write(40_001 + n, 0, "after")
    path = tmp_path / "names.xls"
    book.save(str(path))
    assert problems(path, "xls", "Über") == {(40_000, 2): ExcelError("#REF!")}
    assert problems(path, "xls", "Регистр") == {(40_001, 3): ExcelError("#REF!")}


def _biff(typ: int, body: bytes) -> bytes:
    return struct.pack("<HH", typ, len(body)) + body


def test_xls_records_of_unknown_codes_and_other_results() -> None:
    cell = struct.pack("<HHH", 3, 1, 15)
    data = b"".join(
        [
            _biff(0x0205, cell + bytes([0x99, 1])),  # BOOLERR: an error code never seen
            _biff(
                0x0006, struct.pack("<HHH", 4, 2, 15) + bytes([2, 0, 0x07, 0, 0, 0]) + b"\xff\xff"
            ),
            # FORMULA with a text result (0) and one with a number: not errors
            _biff(0x0006, struct.pack("<HHH", 5, 2, 15) + bytes([0, 0, 0, 0, 0, 0]) + b"\xff\xff"),
            _biff(0x0006, struct.pack("<HHH", 6, 2, 15) + struct.pack("<d", 2.0)),
            _biff(
                0x0006, struct.pack("<HHH", 7, 2, 15) + bytes([2, 0, 0x99, 0, 0, 0]) + b"\xff\xff"
            ),
            _biff(
                0x0006,
                struct.pack("<HHH", 40_000, 3, 15) + bytes([2, 0, 0x2A, 0, 0, 0]) + b"\xff\xff",
            ),
            _biff(0x000A, b""),
            _biff(0x0205, cell + bytes([0x07, 1])),  # after the sheet's end: another sheet's
        ]
    )
    assert cell_marks._xls_errors(data, 0) == {
        (3, 1): ExcelError("#VALUE!"),
        (4, 2): ExcelError("#DIV/0!"),
        (7, 2): ExcelError("#VALUE!"),
        (40_000, 3): ExcelError("#N/A"),
    }


def test_a_compound_file_without_a_workbook_stream_gives_no_marks(tmp_path: Path) -> None:
    book = xlwt.Workbook()
    book.add_sheet("S").row(1).set_cell_error(0, "#DIV/0!")
    path = tmp_path / "renamed.xls"
    book.save(str(path))
    assert problems(path, "xls", "S") == {(1, 0): ExcelError("#DIV/0!")}
    path.write_bytes(
        path.read_bytes().replace("Workbook".encode("utf-16-le"), "Workbool".encode("utf-16-le"))
    )
    assert problems(path, "xls", "S") == {}


def test_xlsb_codes_never_seen_and_null_strings(tmp_path: Path) -> None:
    path = write_xlsb(
        tmp_path / "codes.xlsb",
        {"S": [["Row key", "A"], ["K1", XlsbError(0x99)], ["K2", XlsbError(0x99, formula=True)]]},
    )
    assert problems(path, "xlsb", "S") == {
        (1, 1): ExcelError("#VALUE!"),
        (2, 1): ExcelError("#VALUE!"),
    }
    null = struct.pack("<I", 0xFFFFFFFF)
    assert cell_marks._wide_string(b"12345678" + null + b"rest", 8) == ("", 12)
    named = struct.pack("<I", 2) + "Ab".encode("utf-16-le")
    assert cell_marks._wide_string(named + b"more", 0) == ("Ab", 8)


def test_ods_repeated_error_cells_odd_counts_and_formulas(tmp_path: Path) -> None:
    error = '<table:table-cell table:number-columns-repeated="3" ' + _ERROR.removeprefix(
        "<table:table-cell "
    )
    blank_error = (
        '<table:table-cell table:formula="of:=X()" calcext:value-type="error">'
        "<text:p></text:p></table:table-cell>"
    )
    odd_error = (
        '<table:table-cell table:formula="of:=X()" calcext:value-type="error">'
        "<text:p>#¡DIV/0!</text:p></table:table-cell>"
    )
    rows = (
        f"<table:table-row>{error}</table:table-row>"
        '<table:table-row><table:table-cell table:number-columns-repeated="x"/>'
        f"{blank_error}{odd_error}</table:table-row>"
        "<table:table-row>"
        '<table:table-cell table:formula="of:=SUM([.A1:.B2])"/>'
        '<table:table-cell table:formula="=XLOOKUP(1)"/>'
        "</table:table-row>"
    )
    content = (
        _ODS_HEAD + f'<table:table table:name="S">{rows}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    path = write_ods_content(tmp_path / "odd.ods", content)
    assert problems(path, "ods", "S") == {
        (0, 0): ExcelError("#DIV/0!"),
        (0, 1): ExcelError("#DIV/0!"),
        (0, 2): ExcelError("#DIV/0!"),
        (1, 1): ExcelError("#VALUE!"),
        (1, 2): ExcelError("#¡DIV/0!"),
        (2, 0): Uncalculated("SUM([.A1:.B2])"),
        (2, 1): Uncalculated("XLOOKUP(1)"),
    }


@pytest.mark.parametrize("data", [b"\x03", b"\x03\x09abc", b"\x83"])
def test_xlsb_records_cut_short_are_told(data: bytes) -> None:
    with pytest.raises(EOFError):
        list(cell_marks.records(io.BytesIO(data)))


def test_xlsb_records_read_whole() -> None:
    data = b"\x03\x02ab" + b"\x9c\x01\x01c"
    assert list(cell_marks.records(io.BytesIO(data))) == [(3, b"ab"), (156, b"c")]


def test_xls_streams_cut_before_their_end_keep_what_was_read() -> None:
    error = _biff(0x0205, struct.pack("<HHH", 2, 0, 15) + bytes([0x07, 1]))
    assert cell_marks._xls_errors(error, 0) == {(2, 0): ExcelError("#DIV/0!")}
    sheet = _biff(0x0085, struct.pack("<I", 99) + bytes([0, 0, 1, 0]) + b"S")
    assert cell_marks._xls_sheet_offset(sheet, "S") == 99
    assert cell_marks._xls_sheet_offset(sheet, "T") is None


def test_a_hostile_ods_repeat_marks_at_most_1024_cells(tmp_path: Path) -> None:
    error = '<table:table-cell table:number-columns-repeated="5000" ' + _ERROR.removeprefix(
        "<table:table-cell "
    )
    content = (
        _ODS_HEAD + f'<table:table table:name="S"><table:table-row>{error}</table:table-row>'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    marks = problems(write_ods_content(tmp_path / "wide.ods", content), "ods", "S")
    assert sorted(marks) == [(0, column) for column in range(1024)]
