"""The fast paths of an import give what the slow ones do: the editor's rows built down
the columns (usecases.importing) as rows_from_records makes them from Records; a date
column's texts written once per new value; a batch of one kind with a few strays; the
row-key index keeping a lone row without a list."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opus_desktop.core.column_checks import ColumnCheck
from opus_desktop.core.mapping import auto_match
from opus_desktop.core.schema import Column
from opus_desktop.core.sheets import ExcelError, clean_value, open_sheet
from opus_desktop.core.validation import Validator, validate
from opus_desktop.core.values import ValueProblem, make_converter
from opus_desktop.usecases.importing import ImportRequest, load_records
from opus_desktop.usecases.rows import ColumnSet, KeyIndex, Row, tally
from tests.helpers.workbooks import (
    ALMOST_0800_07,
    DateSerial,
    demo_settings,
    demo_template,
    messy_workbook,
    write_csv,
    write_workbook,
)

SHEETS = Path(__file__).resolve().parents[1] / "data" / "sheets"
HEADERS = ["Row key", "Name", "Created time", "Modified time", "Created by", "Case number",
           "Date received", "Page count", "Security level", "Departments"]  # fmt: skip


def _strays_workbook(path: Path) -> Path:
    """1,300 rows (three batches) of the usual kinds, with strays of other kinds, repeated
    keys, blank and spaced cells, times a hair off the second, error cells."""
    start = datetime(2024, 1, 2, 8, 0, 6, 999_994)
    rows: list[list[object]] = [HEADERS]
    for n in range(1_300):
        created = start + timedelta(minutes=7 * n)
        modified: object = created + timedelta(days=n % 5)
        received: object = (created - timedelta(days=n % 3)).date()
        if n % 97 == 0:
            modified = ["2023-02-30", "soon", 45000.5, date(2024, 5, 1), None][n % 5]
        if n % 89 == 0:
            received = ["not yet", "2024-03-14", datetime(2024, 3, 14, 9, 30), " "][n % 4]
        if n % 101 == 0:
            modified = created - timedelta(hours=1)  # earlier than created: a warning
        rows.append([
            f"K{n % 1_250}" if n % 211 else "  ",
            f" Doc {n} " if n % 53 else None,
            created if n % 149 else "yesterday",
            modified,
            ["alice.nguyen@contoso.example ", "bob.smith@contoso.example", "x at y"][n % 3],
            f"C-{n % 40:04d}",
            received,
            [float(n % 9), " 7 ", 2.5, "many", None][n % 5] if n % 7 == 0 else n % 9 + 1,
            ["Public", " internal", "Top secret", "Secret"][n % 4],
            ["Finance", "Finance; Legal", "Nowhere", None][n % 4],
        ])  # fmt: skip
    rows.append(["K-last", "Last", DateSerial(ALMOST_0800_07), "", "", "", "", "", "", ""])
    return write_workbook(path, {"Records": rows})


def _csv(path: Path) -> Path:
    rows: list[list[object]] = [HEADERS]
    for n in range(700):
        rows.append([f"K{n % 650}", f"Doc {n}", f"2024-01-{1 + n % 28:02d} 08:00:{n % 60:02d}",
                     "2024-02-30" if n % 31 == 0 else "2024-02-01", "bob.smith@contoso.example",
                     f"C-{n % 9}", "", str(n % 5), "Internal", "Legal"])  # fmt: skip
    return write_csv(path, rows)


def _fixtures(tmp: Path) -> list[Path]:
    made = [_strays_workbook(tmp / "strays.xlsx"), messy_workbook(tmp / "messy.xlsx")]
    made.append(_csv(tmp / "plain.csv"))
    return made + sorted(SHEETS.glob("register-*"))  # saved by LibreOffice: .ods, .xls


def _slow_rows(path: Path) -> tuple[list[Row], KeyIndex]:
    """The editor's rows the slow way: every Record made, then rows_from_records."""
    template, profile = demo_template(), demo_settings()
    stream = open_sheet(path)
    mapping = auto_match(stream.headers, template)
    result = validate(stream, template, profile, mapping)
    columns = ColumnSet(template, profile)
    fed = set(Validator(open_sheet(path), template, profile, mapping).fed_names)
    unfed = [i for i, name in enumerate(columns.names) if name not in fed]
    rows = columns.rows_from_records(result.records, unfed)
    keys = KeyIndex(columns.key_index)
    keys.build(rows)
    return rows, keys


def _shape(row: Row) -> tuple[object, ...]:
    duplicate = row.duplicate_of.seq if row.duplicate_of is not None else None
    return (row.source, row.seq, row.values, row.problems, row.order, duplicate)


def test_the_editor_load_gives_the_rows_the_records_give(tmp_path: Path) -> None:
    paths = _fixtures(tmp_path)
    assert len(paths) >= 7
    for path in paths:
        loaded = load_records(ImportRequest(path, demo_template(), demo_settings()))
        slow, slow_keys = _slow_rows(path)
        assert loaded.rows and loaded.keys is not None, path.name
        assert [_shape(r) for r in loaded.rows] == [_shape(r) for r in slow], path.name
        for key in slow_keys.groups:
            assert [r.seq for r in loaded.keys.rows_with(key)] == [
                r.seq for r in slow_keys.rows_with(key)
            ], path.name
        assert loaded.counts == _counted(slow), path.name
    strays = load_records(ImportRequest(paths[0], demo_template(), demo_settings()))
    assert strays.invalid_rows > 100 and any(r.order for r in strays.rows)
    assert any(r.duplicate_of is not None for r in strays.rows)


def _counted(rows: list[Row]) -> tuple[int, int, int]:
    """tally by hand: invalid rows, their problems, the next free seq."""
    flagged = [r for r in rows if r.problems is not None or r.duplicate_of is not None]
    problems = sum(len(r.problems or {}) + (r.duplicate_of is not None) for r in flagged)
    return len(flagged), problems, max([r.seq + 1 for r in rows] + [0])


def _one_by_one(column: Column, cells: list[object]) -> list[object]:
    """What the converter makes of each cleaned cell, None for a problem."""
    convert = make_converter(column, demo_settings())
    out: list[object] = []
    for cell in cells:
        try:
            out.append(convert(clean_value(cell)))
        except ValueProblem:
            out.append(None)
    return out


def _column(name: str) -> Column:
    return next(c for c in demo_template() if c.internal_name == name)


def _batches(cells: list[object], size: int = 512) -> list[list[object]]:
    return [cells[i : i + size] for i in range(0, len(cells), size)]


@pytest.mark.parametrize("name", ["timeCreated", "_Date_%20_Received"])
def test_dates_repeated_within_a_batch_are_written_as_one_by_one(name: str) -> None:
    # New days 200 rows long (each batch meets two or three), then times that repeat
    # across batches, then none that repeat at all (the memory stops looking them up).
    start = datetime(2024, 1, 2, 8, 0, 6, 999_994)
    days: list[object] = [(start + timedelta(days=n // 200)).date() for n in range(3_000)]
    times: list[object] = [start + timedelta(seconds=n % 700) for n in range(3_000)]
    unique: list[object] = [start + timedelta(seconds=n, microseconds=n) for n in range(14_000)]
    mixed = days[:600] + [d for pair in zip(days, times, strict=True) for d in pair][:1_400]
    for cells in (days, times, unique, mixed):
        check = ColumnCheck(_column(name), demo_settings(), True)
        got: list[object] = []
        for batch in _batches(cells):
            got += check.convert_all(batch, range(len(batch)), "S", {})
        assert got == _one_by_one(_column(name), cells)


STRAYS = st.sampled_from(
    [None, "", "  ", " soon ", "2024-02-30", "2024-03-14", 7.0, 2.5, True, date(2024, 5, 1),
     datetime(2024, 5, 1, 9, 30, 0, 999_999), time(8, 0), ExcelError("#N/A"), 3]
)  # fmt: skip
USUAL = {
    "timeModified": st.datetimes(datetime(1990, 1, 1), datetime(2090, 1, 1)),
    "_Date_%20_Received": st.dates(date(1990, 1, 1), date(2090, 1, 1)),
    "_Case_%20_Number": st.sampled_from(["C-1", " C-2", "C-3 ", "C-4"]),
    "leafName": st.text(min_size=1, max_size=5),
    "_Page_%20_Count": st.integers(1, 400).map(float),
}


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_a_batch_of_one_kind_with_strays_converts_as_one_by_one(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(USUAL)))
    usual = USUAL[name]
    cells = data.draw(st.lists(st.one_of(usual, usual, usual, usual, STRAYS), max_size=60))
    column = _column(name)
    check = ColumnCheck(column, demo_settings(), True)
    problems: dict[int, list[object]] = {}
    got = check.convert_all(cells, range(len(cells)), "S", problems)  # type: ignore[arg-type]
    expected = _one_by_one(column, cells)
    assert got == expected
    assert sorted(problems) == [i for i in range(len(cells)) if _bad(column, i, cells)]


def _bad(column: Column, index: int, cells: list[object]) -> bool:
    try:
        make_converter(column, demo_settings())(clean_value(cells[index]))
    except ValueProblem:
        return True
    return False


# -- the row-key index ----------------------------------------------------------------------


def _reference(rows: list[Row], keys: dict[int, str | None]) -> dict[int, int | None]:
    """Each row's duplicate mark by brute force: of the rows sharing a key, the first
    made keeps it and the others name it."""
    marks: dict[int, int | None] = {}
    for row in rows:
        key = keys[row.seq]
        sharing = [r for r in rows if key is not None and keys[r.seq] == key]
        first = min(sharing, key=lambda r: r.seq) if sharing else None
        marks[row.seq] = None if first is None or first is row else first.seq
    return marks


KEYS = st.sampled_from(["A", "B", "C", "D", None])


@settings(max_examples=120, deadline=None)
@given(st.lists(KEYS, max_size=12), st.lists(st.tuples(st.integers(0, 20), KEYS), max_size=25))
def test_the_key_index_marks_duplicates_as_a_brute_force_count(
    first: list[str | None], edits: list[tuple[int, str | None]]
) -> None:
    index = KeyIndex(0)
    rows = [Row([key, "x"], None, n + 2, n) for n, key in enumerate(first)]
    index.build(rows)
    keys = {row.seq: row.values[0] for row in rows}
    for position, key in edits:
        if rows and position % 3 == 0:  # a key edited in place: out under the old, in anew
            row = rows[position % len(rows)]
            index.remove(row, index.key_of(row))
            row.values[0] = key
            index.add(row)
        elif rows and position % 3 == 1:  # a row deleted
            row = rows.pop(position % len(rows))
            index.remove(row, index.key_of(row))
            row.duplicate_of = None
        else:  # a row added
            row = Row([key, "x"], None, None, len(keys))
            rows.append(row)
            index.add(row)
        keys[row.seq] = row.values[0]  # type: ignore[assignment]
        marks = _reference(rows, keys)
        assert tally(rows) == _counted(rows)
        got = {r.seq: r.duplicate_of.seq if r.duplicate_of is not None else None for r in rows}
        assert got == marks
        for key_text in {k for k in keys.values() if k}:
            holding = [r.seq for r in rows if r.values[0] == key_text]
            assert sorted(r.seq for r in index.rows_with(key_text)) == holding
