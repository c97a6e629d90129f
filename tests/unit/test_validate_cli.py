from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from opus_desktop import profiles
from opus_desktop.cli import main
from opus_desktop.profiles import Profile

DEMO = Path(__file__).resolve().parents[2] / "opus_desktop" / "resources" / "demo"


@pytest.fixture
def demo_profile(tmp_path: Path) -> Profile:
    tenant = json.loads((DEMO / "tenant.json").read_text(encoding="utf-8"))
    key = tmp_path / "k.pem"
    key.write_text("unused")
    profile = Profile(
        name="Demo",
        client_id="c",
        api_url="http://127.0.0.1:9",
        identity_url="http://127.0.0.1:9/identity",
        cert_pem=str(key),
        key_pem=str(key),
        choices=tenant["choices"],
        terms={column: list(terms) for column, terms in tenant["terms"].items()},
    )
    return profiles.save_profile(profile, DEMO / "template.json")


def test_demo_sheet_reports_exactly_the_planted_rows(
    demo_profile: Profile, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.xlsx"
    code = main(
        [
            "validate",
            "--profile",
            "Demo",
            "--input",
            str(DEMO / "demo-records.xlsx"),
            "--report",
            str(report),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "200 rows, 194 valid, 6 invalid" in out
    book = load_workbook(report, read_only=True)
    problems = list(book["Problems"].iter_rows(values_only=True))
    assert problems[0] == ("Row", "Column", "Value", "Problem")
    assert sorted((row[0], row[1]) for row in problems[1:]) == [
        (9, "Created time"),
        (17, "Record Owner"),
        (28, "Security Level"),
        (41, "Name"),
        (56, "Classification"),
        (73, "Page Count"),
    ]
    assert len(list(book["Records"].iter_rows())) == 201


def test_a_valid_sheet_exits_0(
    demo_profile: Profile, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = tmp_path / "ok.csv"
    sheet.write_text(
        "Row key;Name;Created time;Modified time;Security Level\n"
        "A-1;Minutes.docx;2024-01-02 10:00:00;2024-01-03 11:00:00;internal\n",
        encoding="utf-8",
    )
    assert main(["validate", "--profile", "Demo", "--input", str(sheet)]) == 0
    assert "1 row, 1 valid, 0 invalid" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "save it as .xlsx"),
        ("empty.csv", b"", "empty"),
        ("broken.xlsx", b"PK\x03\x04 not really a zip", "xlsx"),
    ],
)
def test_unreadable_input_exits_2_with_one_sentence(
    demo_profile: Profile,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes,
    words: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert main(["validate", "--profile", "Demo", "--input", str(path)]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


def test_unknown_sheet_lists_the_ones_there(
    demo_profile: Profile, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "validate",
            "--profile",
            "Demo",
            "--input",
            str(DEMO / "demo-records.xlsx"),
            "--sheet",
            "Cases",
        ]
    )
    assert code == 2
    assert "Register" in capsys.readouterr().err
