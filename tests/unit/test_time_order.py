"""A Modified time earlier than the Created time: a warning on the Modified time cell (the
row stays valid), or a problem that blocks the row where the profile refuses it."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from opus_desktop import profiles
from opus_desktop.cli import main
from opus_desktop.core.sheets import open_sheet, read_sheet
from opus_desktop.core.time_order import order_warning
from opus_desktop.core.validation import validate
from opus_desktop.core.values import ValueSettings
from opus_desktop.profiles import Profile
from tests.helpers.workbooks import demo_settings, demo_template, write_csv, write_workbook

DEMO = Path(__file__).resolve().parents[2] / "opus_desktop" / "resources" / "demo"
HEADERS = ["Row key", "Name", "Created time", "Modified time"]
EARLY = "The Modified time 2024-01-01 09:00:00 is earlier than the Created time 2024-01-02 10:00:00"
WARNED = f"{EARLY}: check the two (Opus takes them as they are)."
REFUSED = f"{EARLY}: correct one of them (the profile refuses a record modified first)."


def saved(**changes: object) -> Profile:
    profile = Profile(
        name="P",
        client_id="c",
        api_url="https://graph-uk.avepointonlineservices.com",
        protocol="legacy",  # no Created by / Modified by warnings in the way
        cert_pem="x.pem",
        key_pem="x.key",
        **changes,  # type: ignore[arg-type]
    )
    return profiles.save_profile(profile, DEMO / "template.json")


def workbook(path: Path) -> Path:
    """Row 3 modified a day before it was created; row 5 the same second."""
    return write_workbook(
        path,
        {
            "Records": [
                HEADERS,
                ["A", "a.pdf", datetime(2024, 1, 1, 9), datetime(2024, 1, 2, 9)],
                ["B", "b.pdf", datetime(2024, 1, 2, 10), datetime(2024, 1, 1, 9)],
                ["C", "c.pdf", "2024-01-02 10:00:00", "2024-01-03 08:00:00"],
                ["D", "d.pdf", datetime(2024, 1, 2, 10), datetime(2024, 1, 2, 10)],
                ["E", "e.pdf", datetime(2024, 1, 2, 10), "2024-01-05 10:00"],
            ]
        },
    )


@pytest.mark.parametrize("kept", [True, False])
def test_an_earlier_modified_time_is_a_warning_on_its_cell(tmp_path: Path, kept: bool) -> None:
    path = workbook(tmp_path / "t.xlsx")
    result = validate(open_sheet(path), demo_template(), demo_settings(), keep_records=kept)
    assert result.problems == [] and result.valid_rows == 5
    [warned] = result.cell_warnings
    assert (warned.row, warned.column, warned.sheet) == (3, "Modified time", "Records")
    assert warned.value == datetime(2024, 1, 1, 9) and warned.message == WARNED
    assert result.warnings == [order_warning([warned])]
    assert result.warnings == [
        "Modified time is earlier than Created time in row 3: Opus takes them as they are, so "
        "check them (a setting of the profile makes this a problem)."
    ]
    if kept:
        assert [r.row for r in result.records if r.warnings] == [3]
        assert result.records[1].warnings == [warned] and result.records[1].ok


def test_the_profile_can_make_it_a_problem_that_blocks_the_row(tmp_path: Path) -> None:
    path = workbook(tmp_path / "t.xlsx")
    refusing = replace(demo_settings(), refuse_modified_before_created=True)
    result = validate(read_sheet(path), demo_template(), refusing)
    assert [(p.row, p.column, p.message) for p in result.problems] == [
        (3, "Modified time", REFUSED)
    ]
    assert (result.invalid_rows, result.valid_rows, result.cell_warnings) == (1, 4, [])
    assert result.warnings == []
    assert not result.is_valid(result.records[1]) and result.is_valid(result.records[0])


def test_other_date_patterns_are_compared_as_times_not_as_text(tmp_path: Path) -> None:
    # In d-MMMM-yy text, "1-January-24" sorts after "10-January-24"; the times do not.
    rows = [HEADERS, ["A", "a", "10/01/2024 10:00:00", "02/01/2024 09:00:00"],
            ["B", "b", "01/01/2024 10:00:00", "10/01/2024 09:00:00"]]  # fmt: skip
    path = write_csv(tmp_path / "p.csv", rows)
    settings = ValueSettings(date_format="d-MMMM-yy h:mm:ss tt", date_order="DMY")
    result = validate(read_sheet(path), demo_template(), settings)
    assert [(w.row, w.value) for w in result.cell_warnings] == [(2, "02/01/2024 09:00:00")]
    assert result.cell_warnings[0].message.startswith(
        "The Modified time 2-January-24 9:00:00 AM is earlier than the Created time "
        "10-January-24 10:00:00 AM"
    )


def test_many_rows_are_one_sentence_naming_the_first(tmp_path: Path) -> None:
    rows: list[list[object]] = [HEADERS]
    for n in range(1_200):
        made, changed = datetime(2024, 1, 2, 10), datetime(2024, 1, 3 if n % 3 else 1, 9)
        # Unusable cells are problems of their own, never compared.
        rows.append([f"K{n}", "n", made, "soon" if n % 100 == 1 else changed])
    path = write_workbook(tmp_path / "m.xlsx", {"Records": rows})
    result = validate(open_sheet(path), demo_template(), demo_settings(), keep_records=False)
    assert len(result.cell_warnings) == 396 and result.valid_rows == 1_188  # 4 were "soon"
    assert [w.row for w in result.cell_warnings[:3]] == [2, 5, 8]
    assert result.warnings == [
        "Modified time is earlier than Created time in 396 rows (2, 5, 8, 11, 14 and 391 "
        "more): Opus takes them as they are, so check them (a setting of the profile makes "
        "this a problem)."
    ]


def test_the_editors_import_marks_a_refused_cell_and_warns_of_the_others(tmp_path: Path) -> None:
    from opus_desktop.usecases.importing import ImportRequest, load_records

    path = workbook(tmp_path / "t.xlsx")
    loaded = load_records(ImportRequest(path, demo_template(), demo_settings()))
    assert loaded.counts is not None and loaded.counts[0] == 0
    warned = validate(read_sheet(path), demo_template(), demo_settings()).cell_warnings
    assert loaded.warnings == [order_warning(warned)] and len(warned) == 1
    refusing = replace(demo_settings(), refuse_modified_before_created=True)
    loaded = load_records(ImportRequest(path, demo_template(), refusing))
    modified = loaded.columns.names.index("timeModified")
    [bad] = [row for row in loaded.rows if row.problems]
    assert bad.source == 3 and bad.problems == {modified: REFUSED}
    assert loaded.warnings == []


def test_validate_and_submit_say_it_and_a_refusing_profile_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workbook(tmp_path / "times.xlsx")
    saved()
    assert main(["validate", "--profile", "P", "--input", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Warning: Modified time is earlier than Created time in row 3: " in out
    assert out.endswith('times.xlsx, sheet "Records": 5 rows, 5 valid, 0 invalid.\n')
    assert main(["submit", "--profile", "P", "--input", str(path), "--dry-run"]) == 0
    assert "Warning: Modified time is earlier than Created time in row 3: " in (
        capsys.readouterr().out
    )

    saved(refuse_modified_before_created=True)
    assert main(["validate", "--profile", "P", "--input", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"  Records, row 3, Modified time: {REFUSED}\n" in out
    assert "Warning: Modified time" not in out
    assert out.endswith('times.xlsx, sheet "Records": 5 rows, 4 valid, 1 invalid.\n')


def test_the_opus_desktop_command_tells_it(tmp_path: Path) -> None:
    path = workbook(tmp_path / "times.xlsx")
    saved()
    done = subprocess.run(
        [sys.executable, "-m", "opus_desktop", "validate", "--profile", "P", "--input", str(path)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Warning: Modified time is earlier than Created time in row 3: " in done.stdout


def test_profile_add_takes_the_setting_and_show_says_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.helpers.certs import make_certificate

    cert, key = make_certificate().write_pem(tmp_path / "a.crt", tmp_path / "a.key")
    base = ["profile", "add", "S", "--connection", str(DEMO / "template.json"), "--client-id"]
    base += ["c", "--api", "https://graph-uk.avepointonlineservices.com"]
    base += ["--cert-pem", str(cert), "--key-pem", str(key)]
    assert main([*base, "--refuse-modified-before-created"]) == 0
    profile = profiles.find_profile("S")
    assert profile.refuse_modified_before_created is True
    assert profile.value_settings().refuse_modified_before_created is True
    capsys.readouterr()
    assert main(["profile", "show", "S"]) == 0
    assert "Modified time:   refused when earlier than the Created time" in capsys.readouterr().out
    assert main(base) == 0
    assert profiles.find_profile("S").value_settings().refuse_modified_before_created is False
    capsys.readouterr()
    assert main(["profile", "show", "S"]) == 0
    assert "Modified time:   warned about when earlier than the Created time" in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize("kept", [True, False])
def test_a_date_without_a_time_is_its_midnight(tmp_path: Path, kept: bool) -> None:
    rows = [HEADERS, ["A", "a", date(2024, 1, 3), datetime(2024, 1, 2, 23, 59, 59, 700_000)],
            ["B", "b", date(2024, 1, 3), datetime(2024, 1, 2, 23, 59, 59, 400_000)],
            ["C", "c", datetime(2024, 1, 3, 0, 0, 0, 300_000), date(2024, 1, 3)]]  # fmt: skip
    path = write_workbook(tmp_path / "d.xlsx", {"Records": rows})
    result = validate(open_sheet(path), demo_template(), demo_settings(), keep_records=kept)
    # 23:59:59.7 rounds to midnight, the same second: only row 3 is earlier.
    assert [(w.row, w.value) for w in result.cell_warnings] == [
        (3, datetime(2024, 1, 2, 23, 59, 59))
    ]
