"""Validating whole sheets: exactly the planted problems, by Excel row and column name."""

from __future__ import annotations

import gc
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opus_desktop.core.mapping import Mapping, RowReader
from opus_desktop.core.records import Record, build_record
from opus_desktop.core.schema import Template
from opus_desktop.core.sheets import SheetData, SheetInfo, SheetRow, open_sheet, read_sheet
from opus_desktop.core.validation import BATCH, ValidationResult, Validator, validate
from opus_desktop.core.values import ValueSettings
from tests.helpers.workbooks import (
    LONG_NAME,
    PLANTED,
    VALID_ROWS,
    demo_settings,
    demo_template,
    messy_workbook,
    write_csv,
)

OWNER = "_Record_%20_Owner"
LEVEL = "_Security_%20_Level"
DEPARTMENTS = "_Departments"


@pytest.fixture(scope="module")
def template() -> Template:
    return demo_template()


@pytest.fixture(scope="module")
def profile() -> ValueSettings:
    return demo_settings()


@pytest.fixture
def messy(tmp_path: Path, template: Template, profile: ValueSettings) -> ValidationResult:
    return validate(read_sheet(messy_workbook(tmp_path / "Transfer.xlsx")), template, profile)


def test_exactly_the_planted_problems_are_reported(messy: ValidationResult) -> None:
    assert {(p.row, p.column) for p in messy.problems} == PLANTED
    assert len(messy.problems) == len(PLANTED)
    assert all(p.sheet == "Records" for p in messy.problems)
    assert (messy.rows, messy.invalid_rows, messy.valid_rows, messy.duplicates) == (10, 6, 4, 1)
    assert [r.row for r in messy.records if messy.is_valid(r)] == sorted([*VALID_ROWS, 8])
    assert messy.sheet_problems == [] and not messy.blocked
    assert messy.summary() == 'Transfer.xlsx, sheet "Records": 10 rows, 4 valid, 6 invalid.'


def test_problems_carry_the_original_value_and_a_sentence(messy: ValidationResult) -> None:
    found = {(p.row, p.column): p for p in messy.problems}
    assert found[(9, "Date Received")].value == "2024-02-30"
    assert "February 2024 has no day 30" in found[(9, "Date Received")].message
    assert found[(10, "Record Owner")].message == "'bob at contoso' is not an e-mail address."
    assert found[(11, "Security Level")].value == "Top secret"
    assert found[(12, "Name")].value == LONG_NAME
    assert found[(13, "Row key")].message == "The row key 'REC-003' is also used on row 8."
    assert found[(14, "Name")].value is None
    assert str(found[(14, "Name")]) == "Records, row 14, Name: A value is required."
    assert messy.problems_by_column == {
        "Date Received": 1,
        "Record Owner": 1,
        "Security Level": 1,
        "Name": 2,
        "Row key": 1,
    }


def test_valid_rows_become_the_payload_that_will_be_sent(messy: ValidationResult) -> None:
    first = messy.records[0]
    assert first.row == 5 and first.ok
    assert first.payload() == {
        "rowKey": "REC-001",
        "leafName": "Annual report 2023.pdf",
        "termFullPath": "Records/Finance/Invoices",
        "timeCreated": "2024-01-15 09:30:00",
        "timeModified": "2024-01-16 08:00:07",  # Excel's 08:00:06.99999 rounded
        "_Case_%20_Number": "C-1001",
        "_Date_%20_Received": "2024-01-10 00:00:00",
        "_Page_%20_Count": 12,
        LEVEL: 1,
        OWNER: ["alice.nguyen@contoso.example"],
    }
    second = messy.records[1]  # text dates, a number as text, a label in lower case
    assert second.values["timeCreated"] == "2024-02-01 10:00:00"
    assert second.values["_Page_%20_Count"] == 7 and second.values[LEVEL] == 2
    assert second.values["leafName"] == "Zoë Ångström – personnel file"
    assert messy.records[2].values["_Date_%20_Received"] == "2024-03-01 00:00:00"


def test_records_are_what_build_record_makes(
    tmp_path: Path, template: Template, profile: ValueSettings
) -> None:
    sheet = read_sheet(messy_workbook(tmp_path / "m.xlsx"))
    validator = Validator(sheet, template, profile)
    read = RowReader(validator.plan)
    for row, record in zip(sheet.rows, validator.check_rows(sheet.rows), strict=True):
        expected = build_record(template, read(row), profile, row.number, sheet.sheet)
        duplicate = [p for p in record.problems if "also used" in p.message]
        assert record.values == expected.values
        assert record.problems == expected.problems + duplicate
        assert record.raw == expected.raw and record.columns == expected.columns


CELLS = st.one_of(
    st.none(),
    st.sampled_from(["Public", "internal", " Secret ", "Top secret", "Finance; Legal", "x" * 300]),
    st.sampled_from(["alice.nguyen@contoso.example", "bob at contoso", "2024-02-30", "7"]),
    st.sampled_from(["Records/Finance/Invoices", "Records/Nowhere", "2021-03-14 13:45:00"]),
    st.text(max_size=8),
    st.integers(-3, 400),
    # Excel date numbers and others (from_excel_serial overflows on floats beyond ~1e303).
    st.floats(-1e9, 1e9) | st.sampled_from([float("nan"), float("inf"), 2.5, 45000.25]),
    st.booleans(),
    st.datetimes(datetime(1899, 1, 1), datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
)
HEADERS = ["Row key", "Name", "Created time", "Modified time", "Page count", "Security level",
           "Departments", "Record owner", "Classification", "Date received"]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(CELLS, min_size=len(HEADERS), max_size=len(HEADERS)), max_size=30))
def test_any_cells_convert_as_build_record_converts_them(cells: list[list[object]]) -> None:
    template, profile = demo_template(), demo_settings()
    rows = [SheetRow(n, list(c)) for n, c in enumerate(cells, start=2)]
    sheet = SheetData(Path("any.xlsx"), "Any", HEADERS, 1, 0, rows)
    validator = Validator(sheet, template, profile)
    read = RowReader(validator.plan)
    # Twice, so the second pass runs on remembered conversions.
    for _ in range(2):
        validator.first_row_of.clear()
        for row, record in zip(rows, validator.check_rows(rows), strict=True):
            expected = build_record(template, read(row), profile, row.number, "Any")
            assert record.values == expected.values
            assert [p for p in record.problems if "also used" not in p.message] == expected.problems


def test_a_required_column_without_a_source_is_reported_once(
    tmp_path: Path, template: Template, profile: ValueSettings
) -> None:
    rows = [["Row key", "Name", "Created time"]]
    rows += [[f"K{i}", f"Doc {i}", "2024-01-01"] for i in range(50)]
    sheet = read_sheet(write_csv(tmp_path / "no-modified.csv", rows))
    result = validate(sheet, template, profile)
    assert result.blocked and result.rows == 50 and result.valid_rows == 0
    assert [(p.row, p.column) for p in result.problems] == [(1, "Modified time")]
    assert result.problems[0].message == (
        "No header in the sheet feeds Modified time, which every record needs: map a header "
        "to it or give it a constant."
    )
    assert all(r.ok and not result.is_valid(r) for r in result.records)
    assert result.summary().endswith("50 rows, 0 valid, 50 invalid; 1 problem with the mapping.")


def test_stale_mapping_entries_are_reported_once_and_do_not_block(
    tmp_path: Path, template: Template, profile: ValueSettings
) -> None:
    rows = [["Ref", "Title", "Created", "Modified"], ["K1", "A", "2024-01-01", "2024-01-02"]]
    sheet = read_sheet(write_csv(tmp_path / "s.csv", rows))
    mapping = Mapping(
        columns={"Ref": "rowKey", "Title": "leafName", "Created": "timeCreated",
                 "Modified": "timeModified", "Case No": "_Case_%20_Number"},
        constants={"createdBy": "records.team@contoso.example"},
    )  # fmt: skip
    result = validate(sheet, template, profile, mapping)
    assert [str(p) for p in result.problems] == [
        "s, row 1: The mapping expects a header 'Case No', which this sheet no longer has."
    ]
    assert not result.blocked and result.valid_rows == 1
    assert result.records[0].values["createdBy"] == "records.team@contoso.example"


def test_streaming_gives_the_same_answer_and_keeps_no_records(
    tmp_path: Path, template: Template, profile: ValueSettings, messy: ValidationResult
) -> None:
    seen: list[Record] = []
    stream = open_sheet(messy_workbook(tmp_path / "Transfer.xlsx"))
    result = validate(stream, template, profile, keep_records=False, each=seen.append)
    assert result.records == []
    assert [r.row for r in seen] == [r.row for r in messy.records]
    assert result.problems == messy.problems
    assert (result.rows, result.invalid_rows, result.duplicates) == (10, 6, 1)


def test_duplicates_across_batches_and_value_maps_to_lists(
    template: Template, profile: ValueSettings
) -> None:
    start = datetime(2024, 1, 1)
    rows = [
        SheetRow(n, [f"K{n % (BATCH + 50)}", f"Doc {n}", start + timedelta(hours=n), start,
                     "Fin; Legal", "alice.nguyen@contoso.example"])
        for n in range(2, BATCH + 60)
    ]  # fmt: skip
    headers = ["Row key", "Name", "Created", "Modified", "Departments", "Record owner"]
    mapping = Mapping(
        columns={h: n for h, n in zip(headers, ["rowKey", "leafName", "timeCreated",
                 "timeModified", DEPARTMENTS, OWNER], strict=True)},
        values={DEPARTMENTS: {"Fin": 1}},
    )  # fmt: skip
    result = validate(
        SheetData(Path("b.xlsx"), "B", headers, 1, 0, rows), template, profile, mapping
    )
    duplicated = [(p.row, p.message) for p in result.problems]
    assert duplicated == [
        (BATCH + 52, "The row key 'K2' is also used on row 2."),
        (BATCH + 53, "The row key 'K3' is also used on row 3."),
        (BATCH + 54, "The row key 'K4' is also used on row 4."),
        (BATCH + 55, "The row key 'K5' is also used on row 5."),
        (BATCH + 56, "The row key 'K6' is also used on row 6."),
        (BATCH + 57, "The row key 'K7' is also used on row 7."),
        (BATCH + 58, "The row key 'K8' is also used on row 8."),
        (BATCH + 59, "The row key 'K9' is also used on row 9."),
    ]
    first, second = result.records[0], result.records[1]
    assert first.values[DEPARTMENTS] == [1, 3]  # "Fin" by the value map, "Legal" by label
    # Lists are never shared: editing one record's people leaves the others alone.
    first.values[OWNER].append("x@contoso.example")  # type: ignore[attr-defined]
    assert second.values[OWNER] == ["alice.nguyen@contoso.example"]
    assert result.records[-1].values[OWNER] == ["alice.nguyen@contoso.example"]


def test_columns_with_unique_values_stop_remembering(
    template: Template, profile: ValueSettings
) -> None:
    start = datetime(2024, 1, 1)
    rows = [
        SheetRow(n, [f"K{n}", "Same name", f"2024-01-01 {n % 24:02d}:00:00",
                     start + timedelta(days=n // 20)])
        for n in range(2, 12_100)
    ]  # fmt: skip
    info = SheetInfo(Path("u.xlsx"), "U", ["Row key", "Name", "Created", "Modified"], 1)
    validator = Validator(info, template, profile)
    validator.run(rows, keep_records=False)
    memory = {c.name: len(c.memory) for c in validator.columns}
    # Text in text columns and datetimes in date columns are taken a batch at a time:
    # nothing is remembered of them.
    assert memory["rowKey"] == memory["leafName"] == memory["timeModified"] == 0
    assert memory["timeCreated"] == 24  # dates as text: each read once

    # Cell by cell, a column of unique values stops remembering; repeated ones are kept.
    mixed = [SheetRow(r.number, [r.number, 7, r.cells[2], r.cells[2]]) for r in rows]
    validator = Validator(info, template, profile)
    validator.run(mixed, keep_records=False)
    kept = {c.name: (c.remember, len(c.memory)) for c in validator.columns}
    assert kept["rowKey"] == (False, 0)  # unique numbers: nothing kept
    assert kept["leafName"] == (True, 1)  # the number 7, as text
    assert kept["timeCreated"][1] == 24


def test_the_collector_is_paused_only_during_a_run(
    template: Template, profile: ValueSettings
) -> None:
    info = SheetInfo(Path("g.xlsx"), "G", ["Row key", "Name"], 1)
    states: list[bool] = []

    def each(record: Record) -> None:
        states.append(gc.isenabled())
        raise RuntimeError("stop")

    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        Validator(info, template, profile).run([SheetRow(2, ["K", "N"])], each=each)
    assert states == [False] and gc.isenabled()
