"""The .xlsx writer under the reports (XlsxWriter, constant_memory), read back with openpyxl."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest

from opus_desktop.core.reports import ReportError, SheetSpec, write_table, write_workbook
from opus_desktop.core.values import MAX_CELL_TEXT
from opus_desktop.core.xlsx_writer import safe_text, sheet_title


@pytest.fixture
def own_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder XlsxWriter's files go to, the test's own."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_text_stays_text_and_dates_stay_dates(tmp_path: Path, own_temp: Path) -> None:
    path = tmp_path / "t.xlsx"
    rows: list[list[object]] = [
        ["=1+1", datetime(2024, 5, 1, 8, 30), date(2024, 5, 2), time(9, 15), 3, 2.5, True],
        ['=HYPERLINK("http://x")', None, "#DIV/0!", "http://example.com", "007", "", False],
    ]
    headers = ["=Header", "At", "On", "Time", "Int", "Float", "Flag"]
    assert write_table(path, headers, rows, "Due") == 2
    sheet = openpyxl.load_workbook(path)["Due"]
    assert [(c.value, c.data_type) for c in sheet[1]][:1] == [("=Header", "s")]
    first, second = sheet[2], sheet[3]
    assert (first[0].value, first[0].data_type) == ("=1+1", "s")
    assert first[1].value == datetime(2024, 5, 1, 8, 30) and first[1].is_date
    assert first[1].number_format == "yyyy-mm-dd h:mm:ss"
    assert first[2].value == datetime(2024, 5, 2) and first[2].number_format == "yyyy-mm-dd"
    assert first[3].value == time(9, 15) and first[3].number_format == "h:mm:ss"
    assert [c.value for c in first[4:]] == [3, 2.5, True]
    assert [c.data_type for c in first[4:]] == ["n", "n", "b"]
    assert [(c.value, c.data_type) for c in second[:5:2]] == [
        ('=HYPERLINK("http://x")', "s"), ("#DIV/0!", "s"), ("007", "s"),
    ]  # fmt: skip
    assert second[3].value == "http://example.com" and second[3].hyperlink is None
    assert second[1].value is None and second[6].value is False
    assert second[5].value is None  # empty text is an empty cell, as openpyxl wrote it
    assert list(own_temp.iterdir()) == []  # XlsxWriter's temporary files are gone


def test_the_decision_column_gets_a_drop_down(tmp_path: Path) -> None:
    path = tmp_path / "due.xlsx"
    rows = [["K1", "Destroy"], ["K2", "Destroy"]]
    write_table(path, ["Row key", "Decision"], rows, "Due", choices={1: ("Destroy", "Keep")})
    sheet = openpyxl.load_workbook(path)["Due"]
    [rule] = sheet.data_validations.dataValidation
    assert rule.type == "list" and rule.formula1 == '"Destroy,Keep"'
    assert str(rule.sqref) == "B2:B1048576"
    assert [c.value for c in sheet["B"][1:]] == ["Destroy", "Destroy"]

    write_table(tmp_path / "plain.xlsx", ["Row key", "Decision"], rows)
    assert not openpyxl.load_workbook(tmp_path / "plain.xlsx").active.data_validations.count  # type: ignore[union-attr]
    write_table(tmp_path / "due.csv", ["Row key", "Decision"], rows, choices={1: ("Keep",)})
    assert (tmp_path / "due.csv").read_text(encoding="utf-8-sig").splitlines()[1] == "K1,Destroy"


def test_long_text_is_cut_with_a_note_counting_as_excel_does() -> None:
    assert safe_text("a\x00b\x1fc\td") == "abc\td"
    assert safe_text("x" * MAX_CELL_TEXT) == "x" * MAX_CELL_TEXT
    cut = safe_text("x" * 40_000)
    assert len(cut) == MAX_CELL_TEXT and cut.endswith(
        " [cut here: the whole text has 40,000 characters]"
    )
    # Characters beyond the BMP count twice in Excel's 32,767.
    wide = safe_text("😀" * 20_000)
    assert len(wide.encode("utf-16-le")) // 2 <= MAX_CELL_TEXT
    assert wide.endswith(" [cut here: the whole text has 20,000 characters]")
    assert wide.startswith("😀" * 16_000)


def test_a_long_text_cell_is_cut_in_the_file(tmp_path: Path) -> None:
    write_table(tmp_path / "t.xlsx", ["Note"], [["y" * 33_000]])
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    assert sheet is not None
    value = sheet["A2"].value
    assert len(value) == MAX_CELL_TEXT and value.endswith("33,000 characters]")


def test_sheet_titles_excel_takes(tmp_path: Path) -> None:
    assert sheet_title("'Due: [May]'") == "Due   May"
    assert sheet_title("") == "Sheet1" and len(sheet_title("x" * 40)) == 31
    write_workbook(
        tmp_path / "b.xlsx",
        [SheetSpec("Records", ["A"], [[1]]), SheetSpec("records", ["A"], [[2]])],
    )
    assert openpyxl.load_workbook(tmp_path / "b.xlsx").sheetnames == ["Records", "records1"]


def test_a_failed_workbook_leaves_no_temporary_files(tmp_path: Path, own_temp: Path) -> None:
    def rows() -> Iterator[list[object]]:
        for n in range(3000):
            yield [f"K{n}", "text"]
        raise RuntimeError("the journal went away")

    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RuntimeError):
        write_workbook(
            out / "t.xlsx",
            [SheetSpec("A", ["Key"], [["K0"]]), SheetSpec("B", ["Key", "V"], rows())],
        )
    assert list(out.iterdir()) == [] and list(own_temp.iterdir()) == []
    with pytest.raises(ReportError, match="does not exist"):
        write_table(tmp_path / "missing" / "t.xlsx", ["A"], [])
    assert list(own_temp.iterdir()) == []


def test_importing_the_reports_loads_no_workbook_library() -> None:
    code = (
        "import sys, opus_desktop.core.reports\n"
        "print(sorted(m for m in ('openpyxl', 'xlsxwriter') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
