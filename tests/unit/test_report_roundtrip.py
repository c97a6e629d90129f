"""Issue 15: the failed rows sent again store exactly their original values, and a report
that cannot be written (a full disk) says so in one sentence and leaves nothing behind."""

from __future__ import annotations

import errno
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from opus_desktop.core.csvtext import (
    MARKER,
    is_own_report,
    is_own_report_text,
    protect,
    unprotect,
)
from opus_desktop.core.reports import ReportError, write_table
from opus_desktop.core.sheets import SheetData, decode_text, read_sheet
from opus_desktop.core.validation import validate
from opus_desktop.jobs.report import Outcome, Source, failed_csv_path, file_sha256, write_report
from tests.helpers.workbooks import demo_settings, demo_template, write_csv

TIME = "2024-01-02 03:04:05"
HEADERS = ["Row key", "Name", "Created time", "Modified time", "Description"]
# Each a value Excel would run as a formula, or one that starts with an apostrophe.
NAMES = ['=HYPERLINK("x")', "-2+3", "+61 2 9999", "@home", "'quoted", "plain"]


def input_rows() -> list[list[object]]:
    return [
        HEADERS,
        *([f"K{n}", name, TIME, TIME, f"={name}"] for n, name in enumerate(NAMES, 1)),
    ]


def failed(count: int) -> list[Outcome]:
    return [
        Outcome(row, f"K{row - 1}", "failed", "Name is reserved.", {"rowKey": f"K{row - 1}"})
        for row in range(2, 2 + count)
    ]


def read_back(path: Path, sheet: str | None = None) -> SheetData:
    """The report's failed rows as the import reads them (a CSV's apostrophes come off)."""
    return read_sheet(path, sheet)


def stored_names(data: SheetData) -> list[object]:
    result = validate(data, demo_template(), demo_settings())
    assert not result.problems
    return [record.values["leafName"] for record in result.records]


@pytest.mark.parametrize("input_kind", ["csv", "xlsx"])
@pytest.mark.parametrize("report_kind", ["csv", "xlsx"])
def test_failed_rows_sent_again_store_their_original_values(
    tmp_path: Path, input_kind: str, report_kind: str
) -> None:
    source = tmp_path / f"in.{input_kind}"
    if input_kind == "csv":
        write_csv(source, input_rows())
    else:  # text cells, as Excel keeps what is typed with a leading '
        rows = input_rows()
        write_table(source, [str(h) for h in rows[0]], rows[1:], "Register")
    assert stored_names(read_sheet(source)) == NAMES

    out = tmp_path / f"out.{report_kind}"
    summary = write_report(out, failed(len(NAMES)), Source(source, file_sha256(source)))
    assert summary.from_input and summary.to_fix == len(NAMES)

    if report_kind == "csv":
        written = failed_csv_path(out)
        text = decode_text(written.read_bytes())
        assert text.splitlines()[0] == MARKER and "'=HYPERLINK" in text
        data = read_back(written)
    else:
        book = openpyxl.load_workbook(out)
        cells = [row[1] for row in book["Failed rows"].iter_rows(min_row=2)]
        assert [c.value for c in cells] == NAMES  # as they are: no apostrophe added
        assert {c.data_type for c in cells} == {"s"}  # text, never a formula
        data = read_back(out, "Failed rows")
    assert stored_names(data) == NAMES
    descriptions = [row.cells[data.headers.index("Description")] for row in data.rows]
    assert descriptions == [f"={name}" for name in NAMES]


def test_rows_rebuilt_from_the_journal_come_back_unchanged_too(tmp_path: Path) -> None:
    outcomes = [
        Outcome(n + 1, f"K{n}", "failed", "refused", {"rowKey": f"K{n}", "leafName": name})
        for n, name in enumerate(NAMES, 1)
    ]
    write_report(tmp_path / "out.csv", outcomes, Source(None, None))
    data = read_back(tmp_path / "out.failed.csv")
    assert [row.cells[data.headers.index("leafName")] for row in data.rows] == NAMES


def test_the_import_itself_takes_the_apostrophes_off(tmp_path: Path) -> None:
    write_table(tmp_path / "t.csv", ["Row key", "Name"], [["K1", "=1+1"]])
    assert read_sheet(tmp_path / "t.csv").rows[0].cells == ["K1", "=1+1"]


def test_an_apostrophe_the_user_typed_in_their_own_csv_stays(tmp_path: Path) -> None:
    rows = [HEADERS, ["K1", "'=not a formula", TIME, TIME], ["K2", "'x", TIME, TIME]]
    own = write_csv(tmp_path / "mine.csv", rows)
    assert not is_own_report_text(decode_text(own.read_bytes()))
    assert stored_names(read_back(own)) == ["'=not a formula", "'x"]


def test_protect_and_unprotect_are_each_others_inverse() -> None:
    for text in [*NAMES, "''two", "'", "-5", "+1.5e3", "", "=", "'-5", "a'b"]:
        assert unprotect(protect(text)) == text
    assert (
        protect("-5") == "-5"
        and protect("'x") == "'x"
        and protect("'=x") == "''=x"
        and protect("=1") == "'=1"
    )
    assert unprotect("'-5") == "'-5"  # never written so: left as it is


def test_the_marker_is_recognised_also_as_excel_saves_it_again() -> None:
    assert is_own_report([MARKER]) and is_own_report([MARKER, None, ""])
    assert not is_own_report([MARKER, "x"]) and not is_own_report(["Row key", "Name"])
    assert is_own_report_text(f"\ufeff{MARKER},,,\r\nRow key,Name\r\n")
    assert is_own_report_text(f"{MARKER};;;\nRow key;Name\n")
    assert not is_own_report_text(f"{MARKER},more\r\n")
    assert not is_own_report_text("Row key,Name\r\nK1,'=x\r\n")


def test_a_csv_that_needed_no_apostrophe_has_no_marker(tmp_path: Path) -> None:
    write_table(tmp_path / "t.csv", ["Row key", "Count"], [["K1", -5], ["K2", "-5"]])
    lines = (tmp_path / "t.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines == ["Row key,Count", "K1,-5", "K2,-5"]


def test_error_like_text_is_kept_as_text_in_xlsx(tmp_path: Path) -> None:
    write_table(tmp_path / "t.xlsx", ["Row key", "Note"], [["K1", "#N/A"], ["K2", "#REF!"]])
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    assert sheet is not None
    assert [(c.value, c.data_type) for c in sheet["B"][1:]] == [("#N/A", "s"), ("#REF!", "s")]


# -- a full disk ------------------------------------------------------------------------------


class _Full:
    """A file on a disk with `room` bytes left."""

    def __init__(self, handle: Any, room: int) -> None:
        self._handle = handle
        self._room = room

    def write(self, data: Any) -> int:
        if len(data) > self._room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= len(data)
        return int(self._handle.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _Full:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every file opened for writing under the test's folder has 2,000 bytes of room."""
    real_open = Path.open

    def opened(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(self, mode, *args, **kwargs)
        return _Full(handle, 2000) if "w" in mode else handle

    monkeypatch.setattr(Path, "open", opened)
    yield


def many_rows() -> Iterator[list[object]]:
    for n in range(5000):
        yield [f"K{n}", f"=formula {n}", "some text to fill the disk with"]


@pytest.mark.parametrize("name", ["out.csv", "out.xlsx"])
def test_a_full_disk_is_one_sentence_and_leaves_nothing(
    tmp_path: Path, full_disk: None, name: str
) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    with pytest.raises(ReportError) as raised:
        write_table(folder / name, ["Row key", "Name", "Note"], many_rows())
    assert raised.value.message == (
        f"Cannot write {folder / name}: the disk is full (no space left on device); "
        "nothing was written."
    )
    gc.collect()  # a half-saved workbook closing later would complain (filterwarnings=error)
    assert list(folder.iterdir()) == []


def test_a_full_disk_while_the_marker_goes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = Path.open

    def opened(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(self, mode, *args, **kwargs)
        return _Full(handle, 10) if mode == "wb" else handle  # only the marked copy

    monkeypatch.setattr(Path, "open", opened)
    folder = tmp_path / "reports"
    folder.mkdir()
    with pytest.raises(ReportError, match="the disk is full"):
        write_table(folder / "t.csv", ["Row key", "Name"], [["K1", "=1+1"]])
    assert list(folder.iterdir()) == []
