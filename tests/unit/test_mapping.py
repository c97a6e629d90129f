"""Matching headers to columns, the mapping file, and rows turned into raw records."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from opus_desktop.core.errors import MappingError
from opus_desktop.core.mapping import (
    Mapping,
    RowReader,
    apply,
    auto_match,
    match_key,
    parse_pattern,
    raw_row,
)
from opus_desktop.core.schema import Template
from opus_desktop.core.sheets import SheetRow
from tests.helpers.workbooks import MESSY_HEADERS, demo_template

CASE = "_Case_%20_Number"
LEVEL = "_Security_%20_Level"
DEPARTMENTS = "_Departments"


@pytest.fixture
def template() -> Template:
    return demo_template()


def test_match_key_ignores_case_spaces_and_punctuation() -> None:
    assert match_key("  Case No. ") == match_key("case-no") == "caseno"
    assert match_key("Zoë's Ångström") == "zoësångström"
    assert match_key("東京 (office)") == "東京office"


def test_auto_match_the_messy_headers(template: Template) -> None:
    headers = [" ".join(h.split()) if h else "" for h in MESSY_HEADERS]
    assert auto_match(headers, template).columns == {
        "row KEY": "rowKey",
        "NAME": "leafName",
        "Created": "timeCreated",
        "modified time": "timeModified",
        "Case number": CASE,
        "Date received": "_Date_%20_Received",
        "Page count": "_Page_%20_Count",
        "Security level": LEVEL,
        "Record owner": "_Record_%20_Owner",
        "Classification": "termFullPath",
    }


@pytest.mark.parametrize(
    ("header", "internal"),
    [
        ("Title", "leafName"), ("File name", "leafName"), ("Filename", "leafName"),
        ("Document name", "leafName"), ("ID", "rowKey"), ("Key", "rowKey"),
        ("Unique key", "rowKey"), ("Record ID", "rowKey"), ("Created", "timeCreated"),
        ("Date created", "timeCreated"), ("Creation date", "timeCreated"),
        ("Modified", "timeModified"), ("Last modified", "timeModified"),
        ("Date modified", "timeModified"), ("Author", "createdBy"), ("Creator", "createdBy"),
        ("Editor", "modifiedBy"), ("Modified By", "modifiedBy"), ("Category", "termFullPath"),
        ("Classification path", "termFullPath"), ("Record category", "termFullPath"),
        ("record-id", "rowKey"), ("_Case_%20_Number", CASE), ("rowKey", "rowKey"),
        ("CASE NUMBER", CASE),
    ],
)  # fmt: skip
def test_auto_match_synonyms_and_names(template: Template, header: str, internal: str) -> None:
    assert auto_match(["Unrelated", header], template).columns == {header: internal}


def test_a_real_name_beats_a_synonym_and_each_column_takes_one_header(template: Template) -> None:
    mapping = auto_match(["Title", "Name", "File name", "Created by", "Author"], template)
    assert mapping.columns == {"Name": "leafName", "Created by": "createdBy"}
    assert apply(
        mapping, ["Title", "Name", "File name", "Created by", "Author"], template
    ).unmatched == [
        "Title",
        "File name",
        "Author",
    ]


# -- the file --------------------------------------------------------------------------------


def full_mapping() -> Mapping:
    return Mapping(
        columns={"Case No": CASE, "Title": "leafName", "Level": LEVEL, "Depts": DEPARTMENTS},
        constants={"createdBy": "records.team@contoso.example"},
        values={LEVEL: {"Restricted": 3, "Open": 1}, DEPARTMENTS: {"Fin": 1, "HR": 2}},
        row_key_pattern="{Case No}-{Row}",
    )


def test_the_file_format_is_the_documented_one(tmp_path: Path) -> None:
    path = tmp_path / "maps" / "transfer.json"
    full_mapping().save(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document == {
        "columns": {"Case No": CASE, "Title": "leafName", "Level": LEVEL, "Depts": DEPARTMENTS},
        "constants": {"createdBy": "records.team@contoso.example"},
        "values": {LEVEL: {"Restricted": 3, "Open": 1}, DEPARTMENTS: {"Fin": 1, "HR": 2}},
        "rowKey": {"compose": "{Case No}-{Row}"},
    }
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600
    assert Mapping.load(path) == full_mapping()


def test_a_minimal_file_and_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(b'\xef\xbb\xbf{"columns": {"Ref": "rowKey"}}')
    assert Mapping.load(path) == Mapping(columns={"Ref": "rowKey"})
    assert Mapping.from_json("{}") == Mapping()


MALFORMED = [
    (
        '{"columns": {"A": "rowKey",}}',
        "is not valid JSON: Expecting property name enclosed in double quotes at line 1, "
        "column 28.",
    ),
    (
        "[1, 2]",
        'must be a JSON object with "columns", not a list.',
    ),
    (
        '{"colums": {}}',
        'has the unknown entry "colums" (known: "columns", "constants", "values", "rowKey", '
        '"dateOrder").',
    ),
    (
        '{"columns": ["A"]}',
        '"columns" must be a JSON object, not a list.',
    ),
    (
        '{"columns": {"A": 3}}',
        "the header 'A' must name a column's internal name, not a number.",
    ),
    (
        '{"columns": {" ": "rowKey"}}',
        '"columns" has an empty header.',
    ),
    (
        '{"constants": {"createdBy": ["x"]}}',
        "the constant for 'createdBy' must be text or a number, not a list.",
    ),
    (
        '{"values": {"L": {"Open": "1"}}}',
        "the label 'Open' of 'L' must map to an option number (1, 2, ...), not \"1\".",
    ),
    (
        '{"values": {"L": {"Open": 0}}}',
        "must map to an option number (1, 2, ...), not 0.",
    ),
    (
        '{"values": {"L": {"Open": true}}}',
        "not true.",
    ),
    (
        '{"rowKey": "{Row}"}',
        '"rowKey" must be a JSON object, not a string.',
    ),
    (
        '{"rowKey": {"pattern": "{Row}"}}',
        '"rowKey" must look like {"compose": "{Case number}-{Row}"}.',
    ),
    (
        '{"rowKey": {"compose": "K-{Row"}}',
        "has a stray or empty brace at character 3",
    ),
    (
        '{"rowKey": {"compose": "fixed"}}',
        "names no {Header} or {Row}, so every row would get the same key.",
    ),
    (
        '{"columns": {"Case No": "x", "case no.": "y"}}',
        "lists the headers 'Case No' and 'case no.', which read the same; keep one.",
    ),
    (
        '{"columns": {"A": "leafName", "B": "leafName"}}',
        "sends both 'A' and 'B' to the column 'leafName'; a column takes one header.",
    ),
    (
        '{"columns": {"A": "createdBy"}, "constants": {"createdBy": "x"}}',
        "both reads the column 'createdBy' from the header 'A' and sets it to a "
        "constant; keep one.",
    ),
    (
        '{"columns": {"Ref": "rowKey"}, "rowKey": {"compose": "{Row}"}}',
        "both composes the row key and takes it from the header 'Ref'; keep one.",
    ),
    (
        "  ",
        "is empty.",
    ),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_malformed_files_are_refused_with_a_sentence(text: str, message: str) -> None:
    with pytest.raises(MappingError) as caught:
        Mapping.from_json(text, "The mapping m.json")
    assert str(caught.value).startswith("The mapping m.json")
    assert message in str(caught.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"Cannot read the mapping .*nowhere\.json"):
        Mapping.load(tmp_path / "nowhere.json")
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"columns": {"Réf": "rowKey"}}'.encode("latin-1"))
    with pytest.raises(
        MappingError, match=r"The mapping latin\.json is not UTF-8 text \(byte 15\)\."
    ):
        Mapping.load(latin)


def test_parse_pattern() -> None:
    assert parse_pattern("{Case No}-{{{Row}}}") == [
        (True, "Case No"),
        (False, "-"),
        (False, "{"),
        (True, "Row"),
        (False, "}"),
    ]


# -- applying a mapping to a sheet -------------------------------------------------------------

HEADERS = ["Case No", "Title", "Created", "Modified", "Level", "Depts", "Notes", ""]


def test_apply_resolves_headers_constants_and_the_row_key(template: Template) -> None:
    mapping = full_mapping()
    mapping.columns.update({"Created": "timeCreated", "Modified": "timeModified"})
    plan = apply(mapping, HEADERS, template)
    assert plan.sources == {
        CASE: 0,
        "leafName": 1,
        LEVEL: 4,
        DEPARTMENTS: 5,
        "timeCreated": 2,
        "timeModified": 3,
    }
    assert plan.unmatched == ["Notes"]
    assert plan.missing == [] and plan.stale == [] and plan.messages == []


def test_a_saved_mapping_reapplies_to_the_next_sheet(tmp_path: Path, template: Template) -> None:
    first = ["Ref", "Title", "Date created", "Last modified", "Case number"]
    auto_match(first, template).save(tmp_path / "m.json")
    reloaded = Mapping.load(tmp_path / "m.json")
    again = apply(reloaded, first, template)
    assert again == apply(auto_match(first, template), first, template)
    # Next month's sheet: same headers, other case and punctuation, columns moved.
    second = ["case number", "LAST MODIFIED", "Title", "date-created"]
    plan = apply(reloaded, second, template)
    assert plan.sources == {"leafName": 2, "timeCreated": 3, "timeModified": 1, CASE: 0}
    assert [c.display_name for c in plan.missing] == ["Row key"]  # "Ref" matched nothing
    assert "Ref" not in reloaded.columns


def test_stale_entries_are_precise_sentences(template: Template) -> None:
    mapping = Mapping(
        columns={"Case No": CASE, "Title": "leafName", "Owner": "_Owner_%20_Gone"},
        constants={"_Retired": "x"},
        values={"_Old_%20_Choice": {"A": 1}},
        row_key_pattern="{Reference}-{Row}",
    )
    plan = apply(mapping, ["Case Number", "Title", "Created", "Modified"], template)
    assert plan.stale == [
        "The mapping expects a header 'Case No', which this sheet no longer has; "
        "did you mean 'Case Number'?",
        "The mapping sends the header 'Owner' to the column '_Owner_%20_Gone', "
        "which the template does not have.",
        "The mapping sets the column '_Retired' to 'x' on every row, but the template has "
        "no such column.",
        "The mapping translates values of the column '_Old_%20_Choice', which the template "
        "does not have.",
        "The row key pattern '{Reference}-{Row}' uses a header 'Reference', which this sheet "
        "no longer has.",
    ]
    assert [c.internal_name for c in plan.missing] == ["rowKey", "timeCreated", "timeModified"]
    assert plan.messages[-1] == (
        "Nothing in the sheet feeds the required column Modified time: map a header to it "
        "or give it a constant."
    )
    assert plan.unmatched == ["Case Number", "Created", "Modified"]


# -- rows --------------------------------------------------------------------------------------


def test_raw_row_applies_constants_value_maps_and_the_row_key(template: Template) -> None:
    plan = apply(full_mapping(), HEADERS, template)
    cells: list[object] = [
        "C-77", "Lease", datetime(2024, 1, 2), None, "  restricted ", "Fin; hr, Legal", "n", None,
    ]  # fmt: skip
    raw = raw_row(plan, SheetRow(12, cells))
    assert raw == {
        CASE: "C-77",
        "leafName": "Lease",
        LEVEL: 3,  # value map, ignoring case and spaces
        DEPARTMENTS: [1, 2, "Legal"],  # each known label mapped, the rest left for the profile
        "createdBy": "records.team@contoso.example",
        "rowKey": "C-77-12",
    }
    unknown = raw_row(plan, SheetRow(13, ["C-78", "x", None, None, "Top secret", None, None, None]))
    assert unknown[LEVEL] == "Top secret"  # left for the conversion to report
    assert DEPARTMENTS in unknown and unknown[DEPARTMENTS] is None


def test_a_composed_key_from_typed_cells_or_an_empty_one(template: Template) -> None:
    mapping = Mapping(columns={"Title": "leafName"}, row_key_pattern="{Date}/{No}/{{x}}")
    plan = apply(mapping, ["Title", "Date", "No"], template)
    reader = RowReader(plan)
    assert reader(SheetRow(2, ["a", datetime(2024, 5, 1), 7]))["rowKey"] == "2024-05-01/7/{x}"
    assert reader(SheetRow(3, ["a", datetime(2024, 5, 1, 8, 30), True]))["rowKey"] == (
        "2024-05-01 08:30:00/TRUE/{x}"
    )
    assert reader(SheetRow(4, ["a", None, 7]))["rowKey"] is None  # reported as missing


def test_row_reader_many_matches_one_by_one(template: Template) -> None:
    plan = apply(
        auto_match(["Row key", "Name", "Notes"], template), ["Row key", "Name", "Notes"], template
    )
    rows = [SheetRow(2, ["K1", "A", "x"]), SheetRow(3, ["K2", None, None])]
    reader = RowReader(plan)
    assert (
        reader.many(rows)
        == [reader(r) for r in rows]
        == [
            {"rowKey": "K1", "leafName": "A"},
            {"rowKey": "K2", "leafName": None},
        ]
    )
    single = apply(Mapping(columns={"Name": "leafName"}), ["Name"], template)
    assert RowReader(single).many([SheetRow(2, ["A"])]) == [{"leafName": "A"}]
    nothing = apply(Mapping(), ["Name"], template)
    assert RowReader(nothing).many([SheetRow(2, ["A"])]) == [{}]


def test_apply_refuses_a_mapping_that_contradicts_itself(template: Template) -> None:
    built = Mapping(columns={"A": "leafName", "B": "leafName"})
    with pytest.raises(MappingError, match="sends both 'A' and 'B' to the column 'leafName'"):
        apply(built, ["A", "B"], template)
