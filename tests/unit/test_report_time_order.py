"""The validation report lists a Modified time earlier than the Created time on its
Problems sheet, marked as a warning (the row stays valid), or as a problem where the
profile refuses it; written as the rows go by, from kept records, and through the CLI."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest

from opus_desktop.cli import main
from opus_desktop.core.reports import (
    WARNING_MARK,
    validate_into_report,
    write_validation_report,
)
from opus_desktop.core.sheets import open_sheet
from opus_desktop.core.validation import validate
from tests.helpers.workbooks import demo_settings, demo_template
from tests.unit.test_time_order import REFUSED, WARNED, saved, workbook


def problems_of(path: Path) -> list[tuple[object, ...]]:
    return list(openpyxl.load_workbook(path)["Problems"].iter_rows(values_only=True))[1:]


def statuses_of(path: Path) -> list[object]:
    return [row[-1] for row in openpyxl.load_workbook(path)["Records"].iter_rows(values_only=True)]


def test_a_warning_is_a_marked_line_and_its_row_stays_valid(tmp_path: Path) -> None:
    sheet = workbook(tmp_path / "t.xlsx")
    report = tmp_path / "r.xlsx"
    result = validate_into_report(report, open_sheet(sheet), demo_template(), demo_settings())
    assert result.ok and len(result.cell_warnings) == 1
    [line] = problems_of(report)
    assert line[0] == 3 and line[1] == "Modified time"
    assert line[3] == WARNING_MARK + WARNED
    assert statuses_of(report) == ["Status", *["valid"] * 5]


def test_kept_records_give_the_same_lines_in_row_order(tmp_path: Path) -> None:
    sheet = workbook(tmp_path / "t.xlsx")
    result = validate(open_sheet(sheet), demo_template(), demo_settings())
    streamed, kept = tmp_path / "s.xlsx", tmp_path / "k.xlsx"
    validate_into_report(streamed, open_sheet(sheet), demo_template(), demo_settings())
    write_validation_report(kept, result, demo_template(), demo_settings())
    assert problems_of(kept) == problems_of(streamed) and len(problems_of(kept)) == 1


def test_a_refusing_profile_lists_it_as_a_problem(tmp_path: Path) -> None:
    sheet = workbook(tmp_path / "t.xlsx")
    report = tmp_path / "r.xlsx"
    refusing = replace(demo_settings(), refuse_modified_before_created=True)
    result = validate_into_report(report, open_sheet(sheet), demo_template(), refusing)
    assert not result.ok
    [line] = problems_of(report)
    assert line[:2] == (3, "Modified time") and line[3] == REFUSED
    assert statuses_of(report)[1:] == ["valid", "invalid", "valid", "valid", "valid"]


def test_validate_report_as_csv_marks_the_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = workbook(tmp_path / "times.xlsx")
    saved()
    report = tmp_path / "out.csv"
    assert main(["validate", "--profile", "P", "--input", str(sheet), "--report", str(report)]) == 0
    capsys.readouterr()
    rows = list(csv.reader(report.read_text(encoding="utf-8-sig").splitlines()))
    warned = [row for row in rows if row and row[-1].startswith(WARNING_MARK)]
    assert len(warned) == 1 and warned[0][:2] == ["3", "Modified time"]
    assert warned[0][-1] == WARNING_MARK + WARNED
