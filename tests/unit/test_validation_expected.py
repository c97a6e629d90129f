"""Created by and Modified by: optional in the templates and the legacy seed, documented as
required by the Graph API. On a Graph profile an empty one is a warning (the rows stay
valid); the profile's require_created_by makes it a problem; legacy says nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from opus_desktop import profiles
from opus_desktop.cli import main
from opus_desktop.core.records import build_record
from opus_desktop.core.sheets import read_sheet
from opus_desktop.core.validation import expected_gaps, validate
from opus_desktop.profiles import Profile
from tests.helpers.workbooks import write_csv

DEMO = Path(__file__).resolve().parents[2] / "opus_desktop" / "resources" / "demo"
HEADERS = ["Row key", "Name", "Created time", "Modified time", "Created by", "Modified by"]
WHY = (
    "which the Graph API documents as required: Opus may refuse those records (a setting of "
    "the profile makes this a problem)."
)


def row(key: str, created_by: str = "alice", modified_by: str = "bob") -> list[str]:
    return [
        key,
        f"{key}.pdf",
        "2024-01-02 10:00:00",
        "2024-01-03 11:00:00",
        created_by,
        modified_by,
    ]


def saved(protocol: str = "graph", **changes: object) -> Profile:
    profile = Profile(
        name=f"P-{protocol}",
        client_id="c",
        api_url="https://graph-uk.avepointonlineservices.com",
        protocol=protocol,
        cert_pem="x.pem",
        key_pem="x.key",
        **changes,  # type: ignore[arg-type]
    )
    return profiles.save_profile(profile, DEMO / "template.json")


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    rows = [row("A"), row("B", created_by=""), row("C", created_by=" ", modified_by=""), row("D")]
    return write_csv(tmp_path / "people.csv", [HEADERS, *rows])


def test_graph_warns_once_a_column_and_keeps_the_rows_valid(sheet: Path) -> None:
    profile = saved()
    assert profile.value_settings().expected == ("createdBy", "modifiedBy")
    result = validate(read_sheet(sheet), profile.template(), profile.value_settings())
    assert (result.rows, result.valid_rows, result.problems) == (4, 4, [])
    assert result.warnings == [
        f"Created by is empty in 2 of 4 rows, {WHY}",
        f"Modified by is empty in 1 of 4 rows, {WHY}",
    ]


def test_a_column_no_header_feeds_is_one_warning(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "short.csv", [HEADERS[:5], row("A")[:5]])
    profile = saved()
    result = validate(read_sheet(path), profile.template(), profile.value_settings())
    assert result.ok and result.valid_rows == 1
    assert result.warnings == [f"No header feeds Modified by, {WHY}"]


def test_one_row_is_said_as_one_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "one.csv", [HEADERS, row("A", created_by="")])
    profile = saved()
    result = validate(read_sheet(path), profile.template(), profile.value_settings())
    assert result.warnings == [f"Created by is empty in 1 of 1 row, {WHY}"]


def test_filled_columns_and_legacy_profiles_say_nothing(sheet: Path, tmp_path: Path) -> None:
    full = write_csv(tmp_path / "full.csv", [HEADERS, row("A"), row("B")])
    graph = saved()
    assert validate(read_sheet(full), graph.template(), graph.value_settings()).warnings == []
    legacy = saved("legacy")
    assert legacy.value_settings().expected == ()
    result = validate(read_sheet(sheet), legacy.template(), legacy.value_settings())
    assert result.warnings == [] and result.valid_rows == 4


def test_the_setting_makes_an_empty_one_a_problem(sheet: Path, tmp_path: Path) -> None:
    strict = saved(require_created_by=True)
    template = strict.template()
    assert template.column("createdBy").required and template.column("modifiedBy").required
    assert strict.value_settings().expected == ()
    result = validate(read_sheet(sheet), template, strict.value_settings())
    assert result.warnings == []
    assert {(p.row, p.column, p.message) for p in result.problems} == {
        (3, "Created by", "A value is required."),
        (4, "Created by", "A value is required."),
        (4, "Modified by", "A value is required."),
    }
    assert result.valid_rows == 2
    short = write_csv(tmp_path / "short.csv", [HEADERS[:5], row("A")[:5]])
    blocked = validate(read_sheet(short), template, strict.value_settings())
    assert blocked.blocked and blocked.valid_rows == 0
    assert "No header in the sheet feeds Modified by" in blocked.sheet_problems[0].message
    # Only on Graph: the legacy seed documents both as optional.
    assert not saved("legacy", require_created_by=True).template().column("createdBy").required


def test_records_already_built_get_the_same_warnings() -> None:
    profile = saved()
    template, settings = profile.template(), profile.value_settings()
    names = ["rowKey", "leafName", "timeCreated", "timeModified", "createdBy", "modifiedBy"]
    records = [
        build_record(template, dict(zip(names, row(key, created_by=who), strict=True)), settings, n)
        for n, (key, who) in enumerate([("A", "alice"), ("B", ""), ("C", "")], start=2)
    ]
    assert expected_gaps(template, settings, records) == [
        f"Created by is empty in 2 of 3 rows, {WHY}"
    ]
    assert (
        expected_gaps(saved("legacy").template(), saved("legacy").value_settings(), records) == []
    )


def test_validate_prints_the_warnings_and_exits_0(
    sheet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved()
    assert main(["validate", "--profile", "P-graph", "--input", str(sheet)]) == 0
    out = capsys.readouterr().out
    assert f"Warning: Created by is empty in 2 of 4 rows, {WHY}\n" in out
    assert out.endswith('people.csv, sheet "people": 4 rows, 4 valid, 0 invalid.\n')


def test_submit_prints_the_warnings_too(sheet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved()
    code = main(["submit", "--profile", "P-graph", "--input", str(sheet), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"Warning: Modified by is empty in 1 of 4 rows, {WHY}\n" in out


def test_profile_add_takes_the_setting_and_show_says_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.helpers.certs import make_certificate

    cert, key = make_certificate().write_pem(tmp_path / "a.crt", tmp_path / "a.key")
    base = ["profile", "add", "S", "--connection", str(DEMO / "template.json"), "--client-id"]
    base += ["c", "--api", "https://graph-uk.avepointonlineservices.com"]
    base += ["--cert-pem", str(cert), "--key-pem", str(key)]
    assert main([*base, "--require-created-by"]) == 0
    assert profiles.find_profile("S").require_created_by is True
    capsys.readouterr()
    assert main(["profile", "show", "S"]) == 0
    shown = capsys.readouterr().out
    assert "Created by:      required, with Modified by" in shown
    assert "  Created by [SingleText] (required)" in shown
    assert main(base) == 0
    assert profiles.find_profile("S").require_created_by is False


def test_the_editors_import_gives_the_same_warnings(sheet: Path) -> None:
    from opus_desktop.usecases.importing import ImportRequest, load_records

    profile = saved()
    loaded = load_records(ImportRequest(sheet, profile.template(), profile.value_settings()))
    assert loaded.warnings == [
        f"Created by is empty in 2 of 4 rows, {WHY}",
        f"Modified by is empty in 1 of 4 rows, {WHY}",
    ]
    assert loaded.summary() == (
        f'people.csv, sheet "people": 4 rows, 0 with problems. Warning: Created by is empty '
        f"in 2 of 4 rows, {WHY} Warning: Modified by is empty in 1 of 4 rows, {WHY}"
    )
