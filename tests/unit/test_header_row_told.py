"""A header row that is not one: one sentence naming it, exit 2, and where the headers are."""

from __future__ import annotations

from pathlib import Path

import pytest

from opus_desktop.cli import main
from opus_desktop.core.schema import load_template
from opus_desktop.core.sheets import SheetError, open_sheet, read_sheet
from opus_desktop.core.validation import validate
from opus_desktop.core.values import ValueSettings
from tests.helpers.workbooks import DEMO, write_workbook

ROWS = [
    ["Register export"],
    [],
    ["Row key", "Name", "Created time", "Modified time"],
    ["K-1", "Minutes", "2024-01-02 09:00:00", "2024-01-05 10:00:00"],
    ["K-2", "Budget", "2024-01-03 09:00:00", "2024-01-03 09:00:00"],
    ["K-3", "K-3", "2024-01-03 09:00:00", "2024-01-03 09:00:00"],
]


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    return write_workbook(tmp_path / "register.xlsx", {"Register": ROWS})


def test_a_data_row_taken_as_the_header_row_names_the_row_and_the_real_one(sheet: Path) -> None:
    template = load_template(DEMO / "template.json")
    with pytest.raises(SheetError) as caught:
        validate(open_sheet(sheet, header_row=4), template, ValueSettings())
    assert str(caught.value) == (
        'register.xlsx, sheet "Register": row 4, read as the header row, names none of the '
        "connection's columns (it holds 'K-1', 'Minutes', '2024-01-02 09:00:00'); "
        "the headers look to be on row 3."
    )


def test_repeated_headers_in_a_chosen_row_ask_whether_it_is_the_header_row(sheet: Path) -> None:
    with pytest.raises(SheetError) as caught:
        read_sheet(sheet, header_row=6)
    assert str(caught.value).endswith(
        "Give each column its own header and try again. Is row 6 the header row? "
        "The headers look to be on row 3."
    )
    assert read_sheet(sheet).header_guess is None  # found, not chosen: nothing to hint


@pytest.mark.parametrize(
    ("given", "said"),
    [("0", "rows count from 1, as in Excel, not 0"), ("-2", "not -2"), ("x", "'x' is not a row")],
)
def test_header_row_below_1_is_one_sentence_and_exit_2(
    sheet: Path, capsys: pytest.CaptureFixture[str], given: str, said: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["validate", "--profile", "P", "--input", str(sheet), "--header-row", given])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
