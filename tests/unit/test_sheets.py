"""Reading workbooks and CSV files: header detection, row numbers, cell values, bad input."""

from __future__ import annotations

import codecs
import os
import zipfile
from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest

from opus_desktop.core.errors import SheetError
from opus_desktop.core.sheets import (
    clean_cells,
    column_letter,
    decode_text,
    open_sheet,
    read_sheet,
    sheet_names,
    sniff_delimiter,
)
from tests.helpers.workbooks import (
    LONG_NAME,
    MESSY_HEADER_ROW,
    MESSY_ROWS,
    encrypted_workbook,
    messy_workbook,
    old_excel_file,
    write_csv,
    write_workbook,
)


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    return messy_workbook(tmp_path / "Transfer.xlsx")


def test_the_messy_sheet_is_found_below_its_title(messy: Path) -> None:
    data = read_sheet(messy)
    assert data.sheet == "Records"  # the cover sheet has no header row
    assert data.header_row == MESSY_HEADER_ROW  # title, "Exported on <date>" and a blank row above
    assert data.headers[:4] == ["row KEY", "NAME", "Created", "modified time"]
    assert data.headers[10] == ""  # the empty header cell between named ones
    assert data.headers[-1] == "Internal notes"
    assert data.first_column == 0 and data.column_letter(11) == "L"


def test_rows_keep_the_numbers_excel_shows(messy: Path) -> None:
    data = read_sheet(messy)
    assert [r.number for r in data.rows] == sorted(MESSY_ROWS)  # 7 is blank and skipped
    assert 7 not in [r.number for r in data.rows]
    assert all(len(r.cells) == len(data.headers) for r in data.rows)


def test_cells_are_normalised(messy: Path) -> None:
    rows = {r.number: r.cells for r in read_sheet(messy).rows}
    first = rows[5]
    assert first[2] == datetime(2024, 1, 15, 9, 30)
    # stored as 08:00:06.99999...: rounded to the second
    assert first[3] == datetime(2024, 1, 16, 8, 0, 7)
    assert first[5] == datetime(2024, 1, 10)  # a date-only cell is a datetime at midnight
    assert first[6] == 12 and type(first[6]) is int
    assert first[10] == "stray"  # read under the empty header, for the mapping to ignore
    second = rows[6]
    assert second[1] == "Zoë Ångström – personnel file"
    assert second[6] == "7"  # a number typed as text stays text
    assert second[10] is None and second[11] is None
    assert rows[8][1] == "東京 office lease"
    assert rows[12][1] == LONG_NAME
    assert rows[14][1] is None
    assert rows[15][1] == "padded name" and rows[15][6] == 5


def test_clean_cells_rules() -> None:
    cells = clean_cells(
        ["  a ", "", "   ", 3.0, 2.5, True, date(2024, 2, 29),
         datetime(2024, 1, 1, 23, 59, 59, 600_000), time(23, 59, 59, 700_000),
         time(8, 0, 6, 999_990), 7]
    )  # fmt: skip
    assert cells == [
        "a", None, None, 3, 2.5, True, datetime(2024, 2, 29),
        datetime(2024, 1, 2, 0, 0, 0), time(23, 59, 59), time(8, 0, 7), 7,
    ]  # fmt: skip
    assert type(cells[5]) is bool


def test_a_macro_enabled_workbook_reads_the_same(messy: Path, tmp_path: Path) -> None:
    xlsm = tmp_path / "Transfer.xlsm"
    xlsm.write_bytes(messy.read_bytes())
    assert read_sheet(xlsm).rows == read_sheet(messy).rows


def test_a_named_sheet_ignores_case_and_lists_the_others(messy: Path) -> None:
    assert read_sheet(messy, "records").sheet == "Records"
    with pytest.raises(SheetError) as caught:
        read_sheet(messy, "Data")
    assert (
        str(caught.value)
        == 'Transfer.xlsx has no sheet named "Data"; its sheets are "Cover", "Records".'
    )


def test_the_caller_may_choose_the_header_row(messy: Path) -> None:
    data = read_sheet(messy, "Records", header_row=4)
    assert data.header_row == 4 and data.rows[0].number == 5
    title = read_sheet(messy, "Records", header_row=1)
    assert title.headers == ["Records for transfer to Opus"]
    assert title.rows[0].number == 2
    with pytest.raises(SheetError, match=r'sheet "Records" has no row 99\.'):
        read_sheet(messy, "Records", header_row=99)
    with pytest.raises(SheetError, match=r"row 3, the header row, is empty"):
        read_sheet(messy, "Records", header_row=3)


def test_max_rows_and_streaming(messy: Path) -> None:
    assert [r.number for r in read_sheet(messy, max_rows=2).rows] == [5, 6]
    stream = open_sheet(messy)
    assert stream.header_row == 4
    assert [r.number for r in stream.rows] == sorted(MESSY_ROWS)
    assert list(stream.rows) == []  # read once


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to list open files")
def test_the_workbook_file_is_let_go_before_rows_are_read(messy: Path) -> None:
    def open_files() -> set[str]:
        return {os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")}

    stream = open_sheet(messy)
    assert os.path.realpath(messy) not in open_files()
    assert len(list(stream.rows)) == len(MESSY_ROWS)


def test_a_table_away_from_a1(tmp_path: Path) -> None:
    rows: list[list[object]] = [[], [], [], []]
    rows.append([None, None, "Row key", "Name", None, "Date"])
    rows.append([None, None, "K1", "One", None, datetime(2024, 5, 1)])
    rows.append([None, "left of the table", "K2", "Two", "under no header", None, "right of it"])
    path = write_workbook(tmp_path / "offset.xlsx", {"Sheet1": rows})
    data = read_sheet(path)
    assert data.header_row == 5
    assert data.headers == ["Row key", "Name", "", "Date"]
    assert data.column_letter(0) == "C" and data.column_letter(3) == "F"
    assert [(r.number, r.cells) for r in data.rows] == [
        (6, ["K1", "One", None, datetime(2024, 5, 1)]),
        (7, ["K2", "Two", "under no header", None]),
    ]


def test_a_hidden_sheet_is_not_the_default(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    hidden = book.active
    assert hidden is not None
    hidden.title = "Lookup"
    hidden.append(["Code", "Label"])
    hidden.sheet_state = "hidden"
    shown = book.create_sheet("Data")
    shown.append(["Row key", "Name"])
    shown.append(["K1", "One"])
    book.save(tmp_path / "hidden.xlsx")
    assert read_sheet(tmp_path / "hidden.xlsx").sheet == "Data"
    assert sheet_names(tmp_path / "hidden.xlsx") == ["Lookup", "Data"]


def test_header_row_detection_needs_a_mostly_text_row(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["Report"],
        [2024, 5, "x"],
        ["Row key", "Name", "Date"],
        ["K1", "A", 1],
    ]
    assert read_sheet(write_workbook(tmp_path / "a.xlsx", {"S": rows})).header_row == 3


# -- unreadable input -----------------------------------------------------------------------


def message(path: Path, **kwargs: object) -> str:
    with pytest.raises(SheetError) as caught:
        read_sheet(path, **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


def test_an_ole2_file_is_read_as_xls_whatever_its_name(tmp_path: Path) -> None:
    # A compound file with an empty Workbook stream: calamine finds no sheet in it.
    path = old_excel_file(tmp_path / "Legacy.xls")
    assert message(path).startswith("Legacy.xls has no sheet with a header row")
    renamed = old_excel_file(tmp_path / "Renamed.xlsx")
    assert message(renamed).startswith("Renamed.xlsx has no sheet with a header row")
    damaged = tmp_path / "Damaged.xls"
    damaged.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    assert message(damaged).startswith("Damaged.xls is an Excel 97-2003 file that cannot be read")
    assert message(damaged).endswith("open it in Excel and save it as .xlsx.")


def test_an_unknown_extension_is_read_by_its_content(tmp_path: Path) -> None:
    path = tmp_path / "notes.docx"
    path.write_bytes(b"PK\x03\x04")
    assert message(path).startswith("notes.docx is damaged and cannot be read (")
    text = tmp_path / "export.dat"
    text.write_text("Row key,Name\nK1,A\n", encoding="utf-8")
    data = read_sheet(text)
    assert data.headers == ["Row key", "Name"]
    assert data.notes == [
        "export.dat is a text (CSV) file, though its name ends in .dat: it is read as one."
    ]
    with pytest.raises(SheetError, match="README does not exist"):
        sheet_names(tmp_path / "README")


def test_a_password_protected_workbook(tmp_path: Path) -> None:
    path = encrypted_workbook(tmp_path / "Secret.xlsx")
    assert message(path).startswith("Secret.xlsx is protected by a password:")
    with pytest.raises(SheetError, match="protected by a password"):
        sheet_names(path)


def test_a_corrupt_workbook(tmp_path: Path) -> None:
    garbage = tmp_path / "Garbage.xlsx"
    garbage.write_bytes(b"this is not a workbook at all" * 10)
    assert message(garbage).startswith("Garbage.xlsx is not a workbook: it is text with no header")
    truncated = tmp_path / "Truncated.xlsx"
    truncated.write_bytes(messy_workbook(tmp_path / "whole.xlsx").read_bytes()[:2000])
    assert message(truncated).startswith("Truncated.xlsx is damaged and cannot be read (")
    other_zip = tmp_path / "Photos.xlsx"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("photo.txt", "not a workbook")
    assert message(other_zip) == "Photos.xlsx is a zip archive, not a workbook or a CSV file."


def test_a_missing_file(tmp_path: Path) -> None:
    assert message(tmp_path / "nowhere.xlsx") == f"{tmp_path / 'nowhere.xlsx'} does not exist."


def test_empty_sheets(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "Empty.xlsx", {"Sheet1": []})
    assert message(path) == 'Empty.xlsx, sheet "Sheet1" is empty.'
    two = write_workbook(tmp_path / "Two.xlsx", {"A": [], "B": [["only a title"]]})
    assert message(two).startswith("Two.xlsx has no sheet with a header row")
    assert message(two, sheet="A") == 'Two.xlsx, sheet "A" is empty.'


def test_no_header_row(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "List.xlsx", {"Keys": [["K1"], ["K2"], [None], ["K3"]]})
    assert message(path) == (
        'List.xlsx, sheet "Keys" has no header row: none of its first 20 rows names at least '
        "two columns. Check the sheet, or choose the header row."
    )


def test_duplicate_headers_are_named_with_their_columns(tmp_path: Path) -> None:
    rows = [
        ["Row key", "Name", "Date", "Owner", "Notes", "date"],
        ["K1", "A", None, None, None, None],
    ]
    path = write_workbook(tmp_path / "Dup.xlsx", {"Data": rows})
    assert message(path) == (
        'Dup.xlsx, sheet "Data": columns C and F are both headed "Date". '
        "Give each column its own header and try again."
    )
    three = write_workbook(
        tmp_path / "Three.xlsx", {"Data": [["Key", "Name", "Name", "x", "Name"]]}
    )
    assert 'columns B, C and E are all headed "Name"' in message(three)


# -- CSV --------------------------------------------------------------------------------

ROWS: list[list[object]] = [
    ["Row key", "Name", "Created time", "Notes"],
    ["K1", "Zoë Ångström", "2024-01-15 09:30:00", "costs 5,00 €; paid"],
    ["K2", "  Café  ", "2024-01-16", ""],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-be-bom", "cp1252"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_encodings_and_delimiters(tmp_path: Path, encoding: str, delimiter: str) -> None:
    path = tmp_path / "records.csv"
    if encoding == "utf-16-be-bom":
        write_csv(path, ROWS, encoding="utf-16-be", delimiter=delimiter)
        path.write_bytes(codecs.BOM_UTF16_BE + path.read_bytes())
    else:
        write_csv(path, ROWS, encoding=encoding, delimiter=delimiter)
    data = read_sheet(path)
    assert data.sheet == "records" and data.header_row == 1
    assert data.headers == ["Row key", "Name", "Created time", "Notes"]
    assert [(r.number, r.cells) for r in data.rows] == [
        (2, ["K1", "Zoë Ångström", "2024-01-15 09:30:00", "costs 5,00 €; paid"]),
        (3, ["K2", "Café", "2024-01-16", None]),
    ]


def test_csv_with_a_title_blank_lines_and_a_line_break_in_a_cell(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        'Export of 2 records\r\n\r\nRow key;Name\r\nK1;"two\nlines"\r\n\r\nK2;"a;b"\r\n',
        encoding="utf-8",
    )
    data = read_sheet(path)
    assert data.header_row == 3
    assert [(r.number, r.cells) for r in data.rows] == [
        (4, ["K1", "two\nlines"]),
        (6, ["K2", "a;b"]),
    ]
    assert sheet_names(path) == ["export"]


def test_csv_rows_shorter_or_longer_than_the_header(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("Row key,Name,Notes\nK1\nK2,B,n,extra\n", encoding="utf-8")
    assert [r.cells for r in read_sheet(path).rows] == [["K1", None, None], ["K2", "B", "n"]]


def test_csv_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\xef\xbb\xbf \r\n")
    assert message(empty) == "empty.csv is empty."
    single = tmp_path / "single.csv"
    single.write_text("Row key\nK1\n", encoding="utf-8")
    assert "has no header row" in message(single)
    assert read_sheet(single, header_row=1).headers == ["Row key"]
    broken = tmp_path / "broken.csv"
    broken.write_bytes(codecs.BOM_UTF16_LE + "Row key,Name\n".encode("utf-16-le") + b"\x00\xd8")
    assert message(broken).startswith("broken.csv says it is UTF-16 text but byte")


def test_decode_text_fallbacks() -> None:
    assert decode_text("Zoë".encode()) == "Zoë"
    assert decode_text("Zoë € ‰".encode("cp1252")) == "Zoë € ‰"
    assert decode_text(b"\x81ok") == "\x81ok"  # no Windows-1252 character: read as Latin-1


def test_sniff_delimiter() -> None:
    assert sniff_delimiter("a;b;c\n1,5;2,5;3\n") == ";"
    assert sniff_delimiter("a,b\n1,2\n") == ","
    assert sniff_delimiter("a\tb\tc,d\n1\t2\t3,4\n") == "\t"  # more columns win a tie
    assert sniff_delimiter("only one column\n") == ","


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AB",
        "ZZ",
        "AAA",
    ]
