"""Cells as calamine types them, checked a batch at a time, convert exactly as the cleaned
cells convert one by one (records.build_record over sheets.clean_cells)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opus_desktop.core.mapping import RowReader
from opus_desktop.core.records import build_record
from opus_desktop.core.sheets import (
    ExcelError,
    SheetData,
    SheetRow,
    clean_cells,
    open_sheet,
    raw_batches,
    read_sheet,
)
from opus_desktop.core.validation import Validator, validate
from tests.helpers.workbooks import demo_settings, demo_template, write_workbook

HEADERS = ["Row key", "Name", "Created time", "Modified time", "Page count", "Security level",
           "Departments", "Record owner", "Description", "Date received"]  # fmt: skip
MOMENTS = st.datetimes(datetime(1901, 1, 1), datetime(2100, 1, 1))
# What calamine hands over: text untrimmed, every number a float, dates and times that
# Excel's fractions of a day leave a few microseconds off.
RAW = st.one_of(
    st.just(""),
    st.sampled_from([" Public", "internal ", "  ", "\t", "Finance; Legal", "x" * 300, "a\nb"]),
    st.sampled_from(["alice.nguyen@contoso.example ", "2024-02-30", " 7 ", "03/04/2019"]),
    st.text(max_size=6),
    st.integers(-3, 400),
    st.integers(-3, 400).map(float),
    st.floats(-1e9, 1e9) | st.sampled_from([float("nan"), float("inf"), 2.5, 2.0**60]),
    st.booleans(),
    MOMENTS,
    MOMENTS.map(lambda d: d.replace(microsecond=0)),
    MOMENTS.map(lambda d: d.replace(tzinfo=UTC)),
    st.dates(date(1901, 1, 1), date(2100, 1, 1)),
    st.times(),
    st.just(ExcelError("#N/A")),
)
# A column mostly of one kind, as sheets are: the batch may then be taken whole.
COLUMN_KINDS = st.sampled_from(
    [
        st.text(min_size=1, max_size=6).map(lambda t: f" K{t}"),
        MOMENTS,
        MOMENTS.map(lambda d: d.replace(microsecond=0)),
        st.dates(date(1901, 1, 1), date(2100, 1, 1)),
        st.integers(1, 400).map(float),
    ]
)


def _check(rows: list[list[object]]) -> None:
    template, profile = demo_template(), demo_settings()
    numbered = [(n, list(cells)) for n, cells in enumerate(rows, start=2)]
    clean = [SheetRow(n, clean_cells(cells)) for n, cells in numbered]
    sheet = SheetData(Path("any.xlsx"), "Any", HEADERS, 1, 0, clean)
    validator = Validator(sheet, template, profile)
    read = RowReader(validator.plan)
    for _ in range(2):  # the second time through remembered conversions
        validator.first_row_of.clear()
        records = validator.records(validator.check_batch(numbered))
        for row, record in zip(clean, records, strict=True):
            expected = build_record(template, read(row), profile, row.number, "Any")
            assert record.values == expected.values
            assert [p for p in record.problems if "also used" not in p.message] == expected.problems
            assert record.raw == expected.raw


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(RAW, min_size=len(HEADERS), max_size=len(HEADERS)), max_size=20))
def test_raw_cells_convert_as_their_cleaned_cells_do(rows: list[list[object]]) -> None:
    _check(rows)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_columns_of_one_kind_with_strays_convert_as_cleaned_cells(data: st.DataObject) -> None:
    count = data.draw(st.integers(1, 40))
    columns = []
    for _ in HEADERS:
        usual = data.draw(COLUMN_KINDS)
        cells = st.one_of(usual, usual, usual, RAW)
        columns.append(data.draw(st.lists(cells, min_size=count, max_size=count)))
    _check([list(row) for row in zip(*columns, strict=True)])


def test_rows_of_spaces_only_are_blank_and_the_rest_keep_their_numbers(tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path / "b.xlsx",
        {"S": [["Row key", "Name"], ["  ", "\t"], ["K1", " n "], [None, None], [" ", 0]]},
    )
    batches = list(raw_batches(open_sheet(path), 512))
    assert [[number for number, _ in batch] for batch in batches] == [[3, 5]]
    assert [row.number for row in read_sheet(path).rows] == [3, 5]


@pytest.mark.parametrize("noise", [0, 999_994, 500_000, 499_999])
def test_times_a_few_microseconds_off_round_to_the_nearest_second(noise: int) -> None:
    moment = datetime(2024, 1, 2, 8, 0, 6, noise)
    rows = [[f"K{n}", "N", moment + timedelta(days=n), moment] for n in range(600)]
    template, profile = demo_template(), demo_settings()
    sheet = SheetData(Path("t.xlsx"), "T", ["Row key", "Name", "Created", "Modified"], 1, 0, [])
    validator = Validator(sheet, template, profile)
    checked = validator.check_batch(list(enumerate(rows, start=2)))
    seconds = 7 if noise >= 500_000 else 6
    assert checked.column("timeModified") == [f"2024-01-02 08:00:{seconds:02d}"] * 600
    assert checked.column("timeCreated")[1] == f"2024-01-03 08:00:{seconds:02d}"  # type: ignore[index]


def test_a_stream_and_the_whole_sheet_read_first_find_the_same(tmp_path: Path) -> None:
    moment = datetime(2024, 1, 2, 8, 0, 6, 999_994)
    rows: list[list[object]] = [HEADERS]
    for n in range(1_500):
        rows.append([f" K{n % 1_400} ", f"Doc {n}", moment + timedelta(hours=n),
                     "soon" if n % 97 == 0 else moment, float(n % 7) or " ", "Internal ",
                     "Finance", "bob at contoso" if n % 50 == 0 else "b@contoso.example",
                     time(8, 0) if n % 300 == 0 else "", date(2024, 1, 1 + n % 28)])  # fmt: skip
    path = write_workbook(tmp_path / "s.xlsx", {"Records": rows})
    template, profile = demo_template(), demo_settings()
    streamed = validate(open_sheet(path), template, profile, keep_records=False)
    whole = validate(read_sheet(path), template, profile)
    assert streamed.problems == whole.problems and len(whole.problems) > 100
    assert (streamed.rows, streamed.invalid_rows, streamed.duplicates) == (
        whole.rows, whole.invalid_rows, whole.duplicates)  # fmt: skip
    assert streamed.duplicates == 100 and streamed.records == []
    by_record = [p for r in whole.records for p in r.problems]
    assert by_record == whole.problems
