"""The mapping file's exact messages and text, and the corners of resolving and reading rows."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from opus_desktop.core.errors import MappingError
from opus_desktop.core.mapping import Mapping, RowReader, apply, auto_match, parse_pattern
from opus_desktop.core.schema import Column, ColumnType, Template
from opus_desktop.core.sheets import SheetRow
from tests.helpers.workbooks import demo_template

LEVEL = "_Security_%20_Level"
DEPARTMENTS = "_Departments"


def refused(text: str) -> str:
    with pytest.raises(MappingError) as caught:
        Mapping.from_json(text)
    return str(caught.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"constants": []}, 'The mapping: "constants" must be a JSON object, not a list.'),
        ({"values": 3}, 'The mapping: "values" must be a JSON object, not a number.'),
        (
            {"values": {LEVEL: "Secret"}},
            f'The mapping: "values.{LEVEL}" must be a JSON object, not a string.',
        ),
        (
            {"columns": {"Title": True}},
            "The mapping: the header 'Title' must name a column's internal name, not true/false.",
        ),
        (
            {"columns": {"Title": None}},
            "The mapping: the header 'Title' must name a column's internal name, not null.",
        ),
        (
            {"columns": {"Title": {"name": "leafName"}}},
            "The mapping: the header 'Title' must name a column's internal name, not an object.",
        ),
    ],
)
def test_each_wrong_entry_is_named_with_its_path_and_kind(document: dict, message: str) -> None:
    assert refused(json.dumps(document)) == message


def test_a_document_that_is_not_an_object_is_named_by_kind() -> None:
    assert refused("null") == 'The mapping must be a JSON object with "columns", not null.'


def test_the_default_source_is_the_mapping() -> None:
    assert refused("") == "The mapping is empty."
    with pytest.raises(MappingError, match=r"^The mapping: the row key pattern '\{' has a stray"):
        parse_pattern("{")
    clash = Mapping(constants={"rowKey": "K"}, row_key_pattern="{Row}")
    with pytest.raises(MappingError) as caught:
        clash.check()
    assert str(caught.value) == (
        "The mapping both composes the row key and takes it from a constant; keep one."
    )


@pytest.mark.parametrize(
    "row_key",
    [{"compose": "  "}, {"compose": 5}, {"compose": "{Row}", "separator": "-"}, {}],
)
def test_a_row_key_other_than_one_compose_pattern_is_refused(row_key: dict) -> None:
    assert refused(json.dumps({"rowKey": row_key})) == (
        'The mapping: "rowKey" must look like {"compose": "{Case number}-{Row}"}.'
    )


def test_a_byte_order_mark_before_text_is_ignored() -> None:
    assert Mapping.from_json('\ufeff{"columns": {"Title": "leafName"}}').columns == {
        "Title": "leafName"
    }
    assert Mapping.from_json('\ufeff{"columns": {"Title": "leafName"}}'.encode()).columns == {
        "Title": "leafName"
    }


def test_the_file_is_written_indented_by_two_with_letters_as_they_are() -> None:
    mapping = Mapping(columns={"Größe": "leafName"}, constants={"createdBy": "Zoë"})
    assert mapping.to_json() == (
        '{\n  "columns": {\n    "Größe": "leafName"\n  },\n'
        '  "constants": {\n    "createdBy": "Zoë"\n  }\n}\n'
    )


def test_a_missing_file_names_the_reason_not_the_errno(tmp_path: Path) -> None:
    path = tmp_path / "gone.json"
    with pytest.raises(MappingError) as caught:
        Mapping.load(path)
    assert str(caught.value) == f"Cannot read the mapping {path}: No such file or directory."


def test_pattern_literals_are_kept_at_the_start_and_doubled_braces_read_as_one() -> None:
    assert parse_pattern("K-{Row}") == [(False, "K-"), (True, "Row")]
    assert parse_pattern("{{{Row}}}") == [(False, "{"), (True, "Row"), (False, "}")]


def test_a_stale_column_entry_does_not_stop_the_entries_after_it() -> None:
    template = demo_template()
    mapping = Mapping(columns={"Old": "_Gone", "Title": "leafName"})
    plan = apply(mapping, ["Title"], template)
    assert plan.sources == {"leafName": 0}
    assert plan.stale == [
        "The mapping sends the header 'Old' to the column '_Gone', which the template does "
        "not have."
    ]


def test_a_header_used_only_by_the_row_key_is_not_unmatched() -> None:
    plan = apply(
        Mapping(columns={"Title": "leafName"}, row_key_pattern="{Case}-{Row}"),
        ["Title", "Case", "Notes"],
        demo_template(),
    )
    assert plan.unmatched == ["Notes"]
    assert plan.row_key == ((True, 1), (False, "-"), (True, "row"))


def test_value_labels_are_keyed_with_single_spaces_case_folded() -> None:
    mapping = Mapping(columns={"Level": LEVEL}, values={LEVEL: {"Top  Secret": 4}})
    assert apply(mapping, ["Level"], demo_template()).values == {LEVEL: {"top secret": 4}}


def test_a_header_matched_by_name_is_not_taken_again_by_a_synonym() -> None:
    # "Key" is a synonym of the row key, but here it is also a column's own name.
    columns = (
        Column("rowKey", "Row key", ColumnType.SINGLE_TEXT, True, True),
        Column("_Key", "Key", ColumnType.SINGLE_TEXT, False, False),
    )
    template = Template("c", "Overwrite", columns)
    assert auto_match(["Key"], template).columns == {"Key": "_Key"}


def test_one_mapped_column_reads_the_whole_cell() -> None:
    plan = apply(Mapping(columns={"Title": "leafName"}), ["Title", "Notes"], demo_template())
    reader = RowReader(plan)
    assert reader(SheetRow(2, ["Lease", "x"])) == {"leafName": "Lease"}
    assert reader.many([SheetRow(2, ["Lease", "x"])]) == [{"leafName": "Lease"}]


def test_composed_keys_write_false_and_whole_floats_plainly() -> None:
    plan = apply(
        Mapping(columns={"Title": "leafName"}, row_key_pattern="{Flag}/{No}"),
        ["Title", "Flag", "No"],
        demo_template(),
    )
    reader = RowReader(plan)
    assert reader(SheetRow(2, ["a", False, 7.0]))["rowKey"] == "FALSE/7"
    assert reader(SheetRow(3, ["a", True, 7.5]))["rowKey"] == "TRUE/7.5"
    assert reader(SheetRow(4, ["a", datetime(2024, 5, 1), 0.0]))["rowKey"] == "2024-05-01/0"


def test_multiple_choice_labels_holding_separators_are_read_whole() -> None:
    labels = {"HR": 1, "R&D; Labs": 6, "Finance, Legal": 5}
    plan = apply(
        Mapping(columns={"Departments": DEPARTMENTS}, values={DEPARTMENTS: labels}),
        ["Departments"],
        demo_template(),
    )
    reader = RowReader(plan)
    assert reader(SheetRow(2, ["R&D; Labs"]))[DEPARTMENTS] == [6]
    assert reader(SheetRow(3, ["HR; Finance, Legal"]))[DEPARTMENTS] == [1, 5]
    assert reader(SheetRow(4, ["HR, Sales"]))[DEPARTMENTS] == [1, "Sales"]


def test_text_that_is_not_json_is_named_so_even_if_it_is_one_letter() -> None:
    assert refused("X") == "The mapping is not valid JSON: Expecting value at line 1, column 1."
