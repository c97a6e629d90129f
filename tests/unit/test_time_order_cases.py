"""TimeOrder and the cell cleaning it leans on, case by case: dates, text in a pattern that
does not sort as it reads, unusable cells, a batch where every row is earlier."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from opus_desktop.core.clean import clean_cells, clean_value, is_blank
from opus_desktop.core.records import Problem
from opus_desktop.core.time_order import SHOWN_ROWS, TimeOrder, is_order_sentence, order_warning
from opus_desktop.core.values import ValueSettings

DAY_FIRST = "dd-MM-yyyy HH:mm:ss"  # text in it does not sort as the times do


def told(
    order: TimeOrder, created: list[object], modified: list[object]
) -> tuple[dict[int, list[Problem]], dict[int, list[Problem]]]:
    problems: dict[int, list[Problem]] = {}
    warnings: dict[int, list[Problem]] = {}
    numbers = [n + 2 for n in range(len(created))]
    order.check(created, modified, modified, numbers, problems, warnings)
    return problems, warnings


def test_dates_are_compared_as_midnight_and_said_in_the_pattern() -> None:
    order = TimeOrder(ValueSettings(), "Sheet1")
    problems, warnings = told(
        order, [date(2024, 1, 2), date(2024, 1, 1)], [date(2024, 1, 1), date(2024, 1, 1)]
    )
    assert problems == {}
    (warning,) = warnings[0]
    assert (warning.row, warning.column, warning.sheet) == (2, "Modified time", "Sheet1")
    assert warning.message.startswith(
        "The Modified time 2024-01-01 00:00:00 is earlier than the Created time "
        "2024-01-02 00:00:00: check"
    )
    assert warning.value == datetime(2024, 1, 1)  # the cell as cleaned
    assert list(warnings) == [0]


def test_every_row_of_a_batch_earlier_is_told_for_each() -> None:
    order = TimeOrder(ValueSettings(refuse_modified_before_created=True), None)
    created = [datetime(2024, 1, 2, 10), datetime(2024, 3, 1)]
    modified = [datetime(2024, 1, 2, 9), datetime(2024, 2, 1)]
    problems, warnings = told(order, created, modified)
    assert warnings == {} and sorted(problems) == [0, 1]
    assert problems[1][0].message.endswith("(the profile refuses a record modified first).")


def test_text_in_a_day_first_pattern_is_read_in_it_not_sorted() -> None:
    order = TimeOrder(ValueSettings(date_format=DAY_FIRST), None)
    # As text "01-02-2024" sorts after "02-01-2024"; as times it is a month later.
    created = ["02-01-2024 10:00:00", "01-02-2024 10:00:00"]
    modified = ["01-02-2024 10:00:00", "02-01-2024 10:00:00"]
    _, warnings = told(order, created, modified)
    assert list(warnings) == [1]
    assert warnings[1][0].message.startswith(
        "The Modified time 02-01-2024 10:00:00 is earlier than the Created time 01-02-2024"
    )


@pytest.mark.parametrize(
    ("created", "modified"),
    [
        ("not a time", "02-01-2024 10:00:00"),
        ("02-01-2024 10:00:00", "not a time"),
        (None, "02-01-2024 10:00:00"),
        ("02-01-2024 10:00:00", None),
        (12, "01-01-2024 10:00:00"),
    ],
)
def test_an_unusable_or_empty_side_is_never_compared(created: object, modified: object) -> None:
    order = TimeOrder(ValueSettings(date_format=DAY_FIRST), None)
    created_cells = [created, "02-01-2024 10:00:00"]
    problems, warnings = told(order, created_cells, [modified, "01-01-2024 10:00:00"])
    assert problems == {} and list(warnings) == [1]  # the usable row beside it is told
    assert warnings[1][0].row == 3
    assert order.compare(created, modified) is None


def test_compare_says_the_sentence_for_one_row() -> None:
    order = TimeOrder(ValueSettings(), None)
    assert order.compare("2024-01-02 10:00:00", "2024-01-02 10:00:00") is None
    assert order.compare("2024-01-02 10:00:00", "2024-01-02 10:00:01") is None
    said = order.compare("2024-01-02 10:00:00", "2024-01-02 09:59:59")
    assert said is not None and said.startswith("The Modified time 2024-01-02 09:59:59 is")


def test_the_summary_names_five_rows_then_counts_the_rest() -> None:
    def rows(count: int) -> list[Problem]:
        return [Problem(n, "Modified time", None, "x") for n in range(2, 2 + count)]

    assert order_warning([]) is None
    one = order_warning(rows(1))
    assert one is not None and " in row 2: " in one
    exactly = order_warning(rows(SHOWN_ROWS))
    assert exactly is not None and "5 rows (2, 3, 4, 5, 6):" in exactly
    more = order_warning(rows(SHOWN_ROWS + 2))
    assert more is not None and "7 rows (2, 3, 4, 5, 6 and 2 more):" in more


def test_blank_rows() -> None:
    assert is_blank([]) and is_blank([None, "", "  ", None])
    assert not is_blank([None, "x"]) and not is_blank(["", 0]) and not is_blank([False])
    assert not is_blank(["  ", None, datetime(2024, 1, 1)])


def test_cells_cleaned_one_at_a_time_as_a_row() -> None:
    raw = [
        "  text ",
        "   ",
        12.0,
        12.5,
        date(2024, 2, 29),
        datetime(2024, 1, 1, 8, 0, 6, 999_994),
        datetime(2024, 1, 1, 8, 0, 6),
        time(8, 0, 6, 600_000),
        time(23, 59, 59, 700_000),
        True,
        None,
    ]
    cleaned = [
        "text",
        None,
        12,
        12.5,
        datetime(2024, 2, 29),
        datetime(2024, 1, 1, 8, 0, 7),
        datetime(2024, 1, 1, 8, 0, 6),
        time(8, 0, 7),
        time(23, 59, 59),
        True,
        None,
    ]
    assert clean_cells(raw) == cleaned
    assert [clean_value(value) for value in raw] == cleaned
    assert type(clean_cells([12.0])[0]) is int and type(clean_value(12.0)) is int
    assert clean_cells(cleaned) == cleaned  # cleaning twice changes nothing


def test_the_check_s_own_sentence_is_told_from_a_value_s() -> None:
    order = TimeOrder(ValueSettings(), None)
    said = order.compare("2024-01-02 10:00:00", "2024-01-01 10:00:00")
    assert is_order_sentence(said)
    assert not is_order_sentence(None) and not is_order_sentence(["The Modified time "])
    assert not is_order_sentence("'x' is not a date and time.")
    assert not is_order_sentence("The Modified time cell is empty.")  # the start alone
    assert not is_order_sentence("It is earlier than the Created time, says the sheet.")
