"""Rows to records: values, per-cell problems, payloads and duplicate row keys."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from opus_desktop.core.records import Problem, Record, build_record, mark_duplicate_keys
from opus_desktop.core.schema import Template, parse_template
from opus_desktop.core.values import ValueSettings

TEMPLATE_JSON = {
    "id": "6f1c2a4e-3b7d-4e21-9a5c-0d8e7f6a1b2c",
    "conflictOption": "Overwrite",
    "data": [
        {
            "rowKey": "SingleText",
            "leafName": "SingleText",
            "termFullPath": "Taxonomy",
            "timeCreated": "DateTime",
            "timeModified": "DateTime",
            "createdBy": "SingleText",
            "modifiedBy": "SingleText",
            "_Description": "MultipleText",
            "_Page_%20_Count": "Number",
            "_Security_%20_Level": "SingleChoice",
            "_Departments": "MultipleChoice",
            "_Record_%20_Owner": "PeopleOrGroup",
        }
    ],
}
TEMPLATE = parse_template(json.dumps(TEMPLATE_JSON))
SETTINGS = ValueSettings(
    choices={
        "_Security_%20_Level": {"Public": 1, "Internal": 2},
        "_Departments": {"Finance": 1, "Legal": 3},
    },
    terms={"termFullPath": ["Records/Finance/Invoices", "Records/Legal/Contracts"]},
)
GOOD_ROW: dict[str, object] = {
    "_Departments": "legal; finance",  # deliberately not in template order
    "rowKey": " INV-1 ",
    "leafName": "Invoice 1.pdf",
    "termFullPath": "records > finance > invoices",
    "timeCreated": datetime(2021, 3, 4, 8, 0, 6, 999_990),
    "timeModified": "2021-03-05 09:30",
    "createdBy": "",
    "_Description": "Paid\nin full",
    "_Page_%20_Count": 3.0,
    "_Security_%20_Level": "internal",
    "_Record_%20_Owner": "Alice <alice@contoso.example>",
}


# -- problems --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("problem", "text"),
    [
        (
            Problem(7, "Created time", "31/02/2021", "'31/02/2021' is not a date.", "Sheet1"),
            "Sheet1, row 7, Created time: '31/02/2021' is not a date.",
        ),
        (Problem(7, "Row key", None, "A value is required."),
         "row 7, Row key: A value is required."),
        (Problem(None, "Name", "x", "Too long.", "Data"), "Data, Name: Too long."),
        (Problem(12, None, None, "The row is empty.", "Data"), "Data, row 12: The row is empty."),
        (Problem(None, None, None, "Nothing to send."), "Nothing to send."),
    ],
)
def test_problem_text(problem: Problem, text: str) -> None:
    assert str(problem) == text


# -- building records ------------------------------------------------------------------------


def test_build_record_converts_every_column() -> None:
    record = build_record(TEMPLATE, GOOD_ROW, SETTINGS, row=2, sheet="Sheet1")
    assert record.ok and record.problems == []
    assert record.row == 2 and record.sheet == "Sheet1"
    assert record.row_key == "INV-1"
    assert record.values == {
        "rowKey": "INV-1",
        "leafName": "Invoice 1.pdf",
        "termFullPath": "Records/Finance/Invoices",
        "timeCreated": "2021-03-04 08:00:07",
        "timeModified": "2021-03-05 09:30:00",
        "_Description": "Paid\nin full",
        "_Page_%20_Count": 3,
        "_Security_%20_Level": 2,
        "_Departments": [3, 1],
        "_Record_%20_Owner": ["alice@contoso.example"],
    }
    assert record.raw == GOOD_ROW and record.raw is not GOOD_ROW


def test_payload_follows_template_order_and_leaves_out_empties() -> None:
    record = build_record(TEMPLATE, GOOD_ROW, SETTINGS, row=2)
    payload = record.payload()
    assert list(payload) == [
        "rowKey",
        "leafName",
        "termFullPath",
        "timeCreated",
        "timeModified",
        "_Description",
        "_Page_%20_Count",
        "_Security_%20_Level",
        "_Departments",
        "_Record_%20_Owner",
    ]
    assert "createdBy" not in payload and "modifiedBy" not in payload
    # the editor changes values in place: order still follows the template
    del record.values["leafName"]
    record.values["modifiedBy"] = "bob"
    record.values["leafName"] = "Renamed.pdf"
    record.values["_Description"] = ""
    record.values["_Departments"] = []
    assert list(record.payload()) == [
        "rowKey",
        "leafName",
        "termFullPath",
        "timeCreated",
        "timeModified",
        "modifiedBy",
        "_Page_%20_Count",
        "_Security_%20_Level",
        "_Record_%20_Owner",
    ]
    assert json.loads(json.dumps(record.payload())) == record.payload()


def test_payload_of_a_record_made_by_hand() -> None:
    record = Record(row=3, values={"rowKey": "K", "leafName": None, "x": 0})
    assert record.payload() == {"rowKey": "K", "x": 0}


def test_problems_name_row_sheet_column_and_value() -> None:
    row = dict(GOOD_ROW)
    row["timeCreated"] = "31/02/2021"
    row["_Page_%20_Count"] = "12abc"
    row["_Security_%20_Level"] = "Secret"
    record = build_record(TEMPLATE, row, SETTINGS, row=7, sheet="Sheet1")
    assert not record.ok
    assert [(p.row, p.sheet, p.column, p.value) for p in record.problems] == [
        (7, "Sheet1", "Created time", "31/02/2021"),
        (7, "Sheet1", "Page Count", "12abc"),
        (7, "Sheet1", "Security Level", "Secret"),
    ]
    assert str(record.problems[0]) == (
        "Sheet1, row 7, Created time: '31/02/2021' is not a date in the format "
        "yyyy-MM-dd HH:mm:ss: February 2021 has no day 31."
    )
    assert str(record.problems[2]) == (
        "Sheet1, row 7, Security Level: 'Secret' is not one of the options: Public, Internal."
    )
    # the cells that were fine are still converted
    assert record.values["leafName"] == "Invoice 1.pdf"
    assert "timeCreated" not in record.values and "_Page_%20_Count" not in record.values


def test_absent_columns_count_as_empty() -> None:
    record = build_record(TEMPLATE, {"rowKey": "K-1", "_Unknown": "ignored"}, SETTINGS, row=4)
    assert record.values == {"rowKey": "K-1"}
    assert [(p.column, p.message) for p in record.problems] == [
        ("Name", "A value is required."),
        ("Created time", "A value is required."),
        ("Modified time", "A value is required."),
    ]
    assert record.raw == {"rowKey": "K-1", "_Unknown": "ignored"}
    assert "_Unknown" not in record.payload()


def test_row_key() -> None:
    assert build_record(TEMPLATE, {}, SETTINGS, row=1).row_key is None
    assert Record(row=1, values={"rowKey": ""}).row_key is None
    assert Record(row=1, values={"rowKey": 5}).row_key is None
    assert Record(row=1, values={"rowKey": "A-1"}).row_key == "A-1"


def test_each_settings_object_gets_its_own_conversions() -> None:
    row = dict(GOOD_ROW, timeModified="2021-07-15 10:00")
    plain = build_record(TEMPLATE, row, SETTINGS, row=2)
    sydney = ValueSettings(
        time_zone="Australia/Sydney", choices=SETTINGS.choices, terms=SETTINGS.terms
    )
    converted = build_record(TEMPLATE, row, sydney, row=2)
    assert plain.values["timeModified"] == "2021-07-15 10:00:00"
    assert converted.values["timeModified"] == "2021-07-15 00:00:00"
    # many settings in turn (more than are remembered) never mix up results
    for turn in range(20):
        pattern = "dd-MM-yyyy HH:mm:ss" if turn % 2 else "M-d-yy HH:mm:ss"
        values = build_record(TEMPLATE, row, ValueSettings(date_format=pattern), row=2).values
        expected = "15-07-2021 10:00:00" if turn % 2 else "7-15-21 10:00:00"
        assert values["timeModified"] == expected
    assert build_record(TEMPLATE, row, SETTINGS, row=2).values == plain.values


def test_a_different_template_is_not_confused_with_an_earlier_one() -> None:
    spec = json.loads(json.dumps(TEMPLATE_JSON))
    spec["data"][0]["_Page_%20_Count"] = "SingleText"
    other: Template = parse_template(json.dumps(spec))
    assert build_record(TEMPLATE, GOOD_ROW, SETTINGS, row=2).values["_Page_%20_Count"] == 3
    assert build_record(other, GOOD_ROW, SETTINGS, row=2).values["_Page_%20_Count"] == "3"


# -- duplicate row keys ----------------------------------------------------------------------


def keyed(row: int, key: str | None, sheet: str | None = "Sheet1") -> Record:
    return Record(row=row, values={} if key is None else {"rowKey": key}, sheet=sheet)


def test_mark_duplicate_keys() -> None:
    records = [keyed(2, "A-1"), keyed(3, "B-2"), keyed(4, "A-1"), keyed(5, None), keyed(6, "A-1")]
    assert mark_duplicate_keys(records) == 2
    assert [len(r.problems) for r in records] == [0, 0, 1, 0, 1]
    assert records[2].problems[0] == Problem(
        4, "Row key", "A-1", "The row key 'A-1' is also used on row 2.", "Sheet1"
    )
    assert str(records[4].problems[0]) == (
        "Sheet1, row 6, Row key: The row key 'A-1' is also used on row 2."
    )


def test_mark_duplicate_keys_twice_adds_nothing_new() -> None:
    records = [keyed(2, "A-1"), keyed(3, "A-1")]
    assert mark_duplicate_keys(records) == 1
    assert mark_duplicate_keys(records) == 1
    assert len(records[1].problems) == 1


def test_duplicates_across_sheets_name_the_other_sheet() -> None:
    records = [keyed(2, "A-1", "January"), keyed(9, "A-1", "February")]
    mark_duplicate_keys(records)
    assert records[1].problems[0].message == "The row key 'A-1' is also used on January, row 2."


def test_keys_differing_in_case_are_different_keys() -> None:
    assert mark_duplicate_keys([keyed(2, "a-1"), keyed(3, "A-1")]) == 0


def test_mark_duplicate_keys_on_built_records() -> None:
    rows = [dict(GOOD_ROW, rowKey=key) for key in ("K1", " K2", "K1 ", "K3")]
    records = [build_record(TEMPLATE, row, SETTINGS, row=n + 2) for n, row in enumerate(rows)]
    assert mark_duplicate_keys(records) == 1
    assert [r.ok for r in records] == [True, True, False, True]


def test_mark_duplicate_keys_scales_linearly() -> None:
    # 40,000 records sharing 2 keys: a pairwise comparison would take minutes, not moments.
    records = [keyed(n, f"K{n % 2}") for n in range(40_000)]
    assert mark_duplicate_keys(records) == 39_998
    assert records[-1].problems[0].message == "The row key 'K1' is also used on row 1."
