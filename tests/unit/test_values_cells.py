"""Cells that hold no value, and text no cell can hold: problems, never sent as text."""

from __future__ import annotations

import pytest

from opus_desktop.core.schema import load_template
from opus_desktop.core.sheet_cells import ExcelError, Uncalculated
from opus_desktop.core.values import (
    MAX_CELL_TEXT,
    Converter,
    ValueProblem,
    ValueSettings,
    make_converter,
)
from tests.helpers.workbooks import DEMO

TEMPLATE = load_template(DEMO / "template.json")


def converter(name: str) -> Converter:
    column = next(c for c in TEMPLATE if c.display_name == name)
    return make_converter(column, ValueSettings())


@pytest.mark.parametrize("column", ["Description", "Page Count", "Created time", "Case Number"])
def test_an_excel_error_is_a_problem_in_any_column(column: str) -> None:
    with pytest.raises(ValueProblem) as caught:
        converter(column)(ExcelError("#N/A"))
    assert str(caught.value) == (
        "The cell holds the Excel error #N/A, not a value: correct it in Excel."
    )
    with pytest.raises(ValueProblem) as caught:
        converter(column)(Uncalculated("A1*2"))
    assert str(caught.value) == (
        "The cell holds a formula Excel has not calculated: open and save the file in Excel."
    )


def test_text_up_to_excels_cell_limit_is_kept_whole_and_longer_text_is_refused() -> None:
    description = converter("Description")
    assert description("y" * MAX_CELL_TEXT) == "y" * 32_767
    with pytest.raises(ValueProblem) as caught:
        description("z" * 40 + "y" * (MAX_CELL_TEXT - 39))
    assert str(caught.value) == (
        f"'{'z' * 40}…' is 32,768 characters long; a cell holds at most 32,767 "
        "(Excel's limit), and the text is never cut: shorten it."
    )


def test_a_date_order_that_is_none_of_the_three_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'DYM' is not a date order: use DMY, MDY or YMD\."):
        ValueSettings(date_order="DYM")
    assert ValueSettings(date_order="DMY").date_order == "DMY"
