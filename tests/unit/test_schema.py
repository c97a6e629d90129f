"""Connection templates: reading what Opus lets users download, refusing what it does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opus_desktop.cli import main
from opus_desktop.core.errors import TemplateError
from opus_desktop.core.schema import (
    BUILT_INS,
    ColumnType,
    decode_internal_name,
    load_template,
    parse_template,
)

SEED_EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "seed_example.json"
GUID = "6f1c2a4e-3b7d-4e21-9a5c-0d8e7f6a1b2c"
REQUIRED_BUILT_INS = {
    "rowKey": "SingleText",
    "leafName": "SingleText",
    "timeCreated": "DateTime",
    "timeModified": "DateTime",
}


def document(**changes: object) -> dict[str, object]:
    columns: dict[str, object] = {
        "rowKey": "SingleText",
        "leafName": "SingleText",
        "termFullPath": "Taxonomy",
        "timeCreated": "DateTime",
        "timeModified": "DateTime",
        "createdBy": "SingleText",
        "modifiedBy": "SingleText",
        "_Multiple_%20_Text_%20_Column": "MultipleText",
        "_Page_%20_Count": "Number",
        "_Security_%20_Level": "SingleChoice",
        "_Departments": "MultipleChoice",
        "_Record_%20_Owner": "PeopleOrGroup",
    }
    doc: dict[str, object] = {"id": GUID, "conflictOption": "Overwrite", "data": [columns]}
    doc.update(changes)
    return doc


def text(**changes: object) -> str:
    return json.dumps(document(**changes))


def refusal(source: str | bytes, *, require_id: bool = True) -> str:
    with pytest.raises(TemplateError) as caught:
        parse_template(source, "conn.json", require_id=require_id)
    assert caught.value.exit_code == 2
    return caught.value.message


# -- reading ---------------------------------------------------------------------------------


def test_parse_template() -> None:
    template = parse_template(text())
    assert template.connection_id == GUID
    assert template.conflict_option == "Overwrite"
    assert len(template) == 12


def test_columns_keep_the_templates_order() -> None:
    columns = dict(reversed(list(document()["data"][0].items())))  # type: ignore[index]
    template = parse_template(text(data=[columns]))
    assert template.internal_names == list(columns)
    assert [c.internal_name for c in template] == list(columns)


def test_built_in_and_custom_columns() -> None:
    template = parse_template(text())
    for name, builtin in BUILT_INS.items():
        column = template.column(name)
        assert column.builtin and column.display_name == builtin.display_name
        assert column.type is builtin.type and column.required is builtin.required
    assert {c.internal_name for c in template if c.required} == set(REQUIRED_BUILT_INS)
    custom = template.column("_Page_%20_Count")
    assert (custom.display_name, custom.type, custom.required, custom.builtin) == (
        "Page Count",
        ColumnType.NUMBER,
        False,
        False,
    )
    with pytest.raises(KeyError):
        template.column("_Nope")


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("conflictOption", "Skip", "Skip"),
        ("confilictOption", "Skip", "Skip"),  # Opus's own example misspells the key
        ("confilictOption", " overwrite ", "Overwrite"),
        ("ConflictOption", "SKIP", "Skip"),
    ],
)
def test_both_spellings_of_the_conflict_option(key: str, value: str, expected: str) -> None:
    doc = document()
    del doc["conflictOption"]
    doc[key] = value
    assert parse_template(json.dumps(doc)).conflict_option == expected


def test_conflict_option_defaults_to_overwrite() -> None:
    doc = document()
    del doc["conflictOption"]
    assert parse_template(json.dumps(doc)).conflict_option == "Overwrite"


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    raw = "\ufeff" + text()
    assert parse_template(raw).connection_id == GUID
    assert parse_template(raw.encode("utf-8")).connection_id == GUID
    path = tmp_path / "conn.json"
    path.write_bytes(raw.encode("utf-8"))
    assert load_template(path).connection_id == GUID


def test_connection_ids_are_normalised() -> None:
    assert parse_template(text(id=GUID.upper())).connection_id == GUID
    assert parse_template(text(id="{" + GUID + "}")).connection_id == GUID
    assert parse_template(text(id=f"  {GUID} ")).connection_id == GUID


@pytest.mark.parametrize(
    ("internal", "shown"),
    [
        ("_Multiple_%20_Text_%20_Column", "Multiple Text Column"),
        ("Multiple%20_Text_%20_Column", "Multiple Text Column"),
        ("People%20_or_%20_Group_%20_Column", "People or Group Column"),
        ("_Case_%20_Number", "Case Number"),
        ("_R%26D_%20_Budget", "R&D Budget"),
        ("_Under%5Fscore", "Under_score"),
        ("_Caf%C3%A9", "Café"),
        ("rowKey", "Row key"),
        ("termFullPath", "Classification"),
        ("___", "___"),
    ],
)
def test_decoded_names(internal: str, shown: str) -> None:
    assert decode_internal_name(internal) == shown


def test_decoded_names_in_a_template() -> None:
    shown = [c.display_name for c in parse_template(text())]
    assert shown[:7] == [b.display_name for b in BUILT_INS.values()]
    assert shown[7:] == [
        "Multiple Text Column",
        "Page Count",
        "Security Level",
        "Departments",
        "Record Owner",
    ]


def test_type_names_ignore_case_and_spaces() -> None:
    columns = dict(REQUIRED_BUILT_INS, _Pages=" number ")
    assert parse_template(text(data=[columns])).column("_Pages").type is ColumnType.NUMBER


def test_only_required_built_ins_are_needed() -> None:
    template = parse_template(text(data=[REQUIRED_BUILT_INS]))
    assert template.internal_names == list(REQUIRED_BUILT_INS)


# -- refusing --------------------------------------------------------------------------------


def test_not_json_names_line_and_column() -> None:
    assert refusal('{\n  "id": "x",\n  "data": [\n}') == (
        "conn.json is not valid JSON: Expecting value at line 4, column 1."
    )
    assert refusal('{"id": "x",}') == (
        "conn.json is not valid JSON: Expecting property name enclosed in double quotes "
        "at line 1, column 12."
    )


@pytest.mark.parametrize("source", ["", "   \n", b"", "\ufeff"])
def test_empty(source: str | bytes) -> None:
    assert refusal(source) == "conn.json is empty: download the connection's JSON file again."


def test_not_utf8() -> None:
    assert refusal(text().encode("utf-16")) == "conn.json is not a text file in UTF-8 (byte 0)."


@pytest.mark.parametrize(("source", "kind"), [("[1]", "list"), ('"x"', "string"), ("3", "number")])
def test_not_an_object(source: str, kind: str) -> None:
    assert refusal(source) == (
        f"conn.json should hold a JSON object with id and data, not a {kind}."
    )


@pytest.mark.parametrize("blank", [None, "", " "])
def test_no_id(blank: object) -> None:
    doc = document(id=blank)
    expected = (
        "conn.json has no connection id: download the connection's JSON file again "
        "from Settings > Connector."
    )
    assert refusal(json.dumps(doc)) == expected
    del doc["id"]
    assert refusal(json.dumps(doc)) == expected
    assert parse_template(json.dumps(doc), require_id=False).connection_id is None


@pytest.mark.parametrize(
    ("value", "shown"), [("abc", "'abc'"), (5, "5"), (GUID[:-1], f"'{GUID[:-1]}'")]
)
def test_id_not_a_guid(value: object, shown: str) -> None:
    assert refusal(text(id=value)) == f"conn.json: the connection id {shown} is not a GUID."
    # a wrong id is wrong even when an id is not required
    assert "is not a GUID" in refusal(text(id=value), require_id=False)


@pytest.mark.parametrize("data", [None, [], {}, [[]], ["x"], "columns"])
def test_no_data(data: object) -> None:
    doc = document(data=data)
    if data is None:
        del doc["data"]
    assert refusal(json.dumps(doc)) == (
        "conn.json has no \"data\" list with the connection's columns."
    )


def test_unknown_type() -> None:
    columns = dict(REQUIRED_BUILT_INS, _Colour="Color")
    assert refusal(text(data=[columns])) == (
        "conn.json: the column \"_Colour\" has the unknown type 'Color' (known: SingleText, "
        "MultipleText, DateTime, Number, SingleChoice, MultipleChoice, PeopleOrGroup, Taxonomy)."
    )
    with_number: dict[str, object] = dict(REQUIRED_BUILT_INS, _Count=3)
    assert "the column \"_Count\" has the unknown type 3" in refusal(text(data=[with_number]))


def test_duplicate_column() -> None:
    source = text().replace('"_Departments": "MultipleChoice"', '"_Departments": "MultipleChoice", '
                            '"_Departments": "SingleChoice"')
    assert refusal(source) == 'conn.json: the column "_Departments" appears twice.'


def test_duplicate_document_key() -> None:
    source = text().replace(f'"id": "{GUID}"', f'"id": "{GUID}", "id": "{GUID}"')
    assert refusal(source) == 'conn.json: the key "id" appears twice.'


def test_columns_that_read_the_same() -> None:
    columns = dict(REQUIRED_BUILT_INS, _Case_Number="SingleText")
    columns["_Case_%20_Number"] = "SingleText"
    columns["_CaseNumber"] = "Number"
    assert refusal(text(data=[columns])) == (
        'conn.json: the columns "_Case_Number" and "_CaseNumber" both read as "CaseNumber".'
    )


@pytest.mark.parametrize("missing", list(REQUIRED_BUILT_INS))
def test_missing_required_built_in(missing: str) -> None:
    columns = {k: v for k, v in REQUIRED_BUILT_INS.items() if k != missing}
    assert refusal(text(data=[columns])) == (
        f"conn.json lacks the required built-in column(s): {missing}."
    )


def test_missing_several_required_built_ins() -> None:
    assert refusal(text(data=[{"_Notes": "MultipleText"}])) == (
        "conn.json lacks the required built-in column(s): rowKey, leafName, timeCreated, "
        "timeModified."
    )


def test_built_in_with_the_wrong_type() -> None:
    columns = dict(REQUIRED_BUILT_INS, timeCreated="SingleText")
    assert refusal(text(data=[columns])) == (
        'conn.json: the built-in column "timeCreated" must be DateTime, not SingleText.'
    )


def test_bad_conflict_option() -> None:
    assert refusal(text(conflictOption="Merge")) == (
        "conn.json: conflictOption must be \"Overwrite\" or \"Skip\", not 'Merge'."
    )


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"^Cannot read the template .*missing\.json: "):
        load_template(tmp_path / "missing.json")


# -- Opus's own example ----------------------------------------------------------------------


def test_the_seed_example_reads_without_an_id() -> None:
    template = load_template(SEED_EXAMPLE, require_id=False)
    assert template.connection_id is None
    assert template.conflict_option == "Overwrite"  # from the misspelt "confilictOption"
    shown = [c.display_name for c in template]
    assert "Multiple Text Column" in shown
    assert shown[7:] == [
        "Multiple Text Column",
        "DateTime Column",
        "Single Choice Column",
        "Multiple Choice Column",
        "People or Group Column",
        "Number Column",
    ]
    assert template.column("Multiple%20_Text_%20_Column").type is ColumnType.MULTIPLE_TEXT


def test_the_seed_example_is_refused_when_an_id_is_required() -> None:
    with pytest.raises(TemplateError) as caught:
        load_template(SEED_EXAMPLE)
    assert caught.value.message == (
        f"{SEED_EXAMPLE} has no connection id: download the connection's JSON file again "
        "from Settings > Connector."
    )


# -- the schema command ----------------------------------------------------------------------


def test_cli_schema_lists_the_columns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", str(SEED_EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["Internal", "name", "Display", "name", "Type", "Required"]
    assert "Multiple Text Column" in out
    row = next(line for line in lines if line.startswith("Multiple%20_Text_%20_Column"))
    assert row.split("  ")[-1] == "no" and "MultipleText" in row
    assert next(line for line in lines if line.startswith("rowKey")).endswith("yes")
    assert "has no connection id" in err


def test_cli_schema_with_an_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "conn.json"
    path.write_text(text(conflictOption="Skip"), encoding="utf-8")
    assert main(["schema", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == f"Connection {GUID}, conflict option Skip."
    assert err == ""


def test_cli_schema_on_a_broken_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"id": "x", "data": [', encoding="utf-8")
    assert main(["schema", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"opus-desktop: {path} is not valid JSON: Expecting value at line 1, column 22.\n"
    )
