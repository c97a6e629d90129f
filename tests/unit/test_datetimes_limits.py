"""The edges of reading and writing dates: field limits, offsets, ISO forms, Excel's range."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from opus_desktop.core.datetimes import (
    all_formats,
    format_datetime,
    from_excel_serial,
    parse_datetime,
    parse_with_offset,
    round_to_second,
)

DAY_FIRST = "dd-MM-yyyy HH:mm:ss"


def test_fractions_beyond_microseconds_are_cut_to_six_digits() -> None:
    value = parse_datetime("04-03-2021 08:05:07.1234567", DAY_FIRST)
    assert value == datetime(2021, 3, 4, 8, 5, 7, 123456)


def test_second_sixty_is_refused() -> None:
    with pytest.raises(ValueError, match="minutes and seconds run from 0 to 59"):
        parse_datetime("04-03-2021 08:05:60", DAY_FIRST)


def test_second_fifty_nine_is_read() -> None:
    assert parse_datetime("04-03-2021 08:05:59", DAY_FIRST).second == 59


def test_year_one_is_a_year() -> None:
    assert parse_datetime("04-03-0001 08:00:00", DAY_FIRST) == datetime(1, 3, 4, 8)


def test_an_unknown_month_name_is_named_whole() -> None:
    with pytest.raises(ValueError, match="'Marx' is not a month"):
        parse_datetime("4 Marx 2021", DAY_FIRST)


def test_a_month_name_with_a_full_stop_is_read() -> None:
    assert parse_datetime("4 Mar. 2021", DAY_FIRST) == datetime(2021, 3, 4)


def test_month_thirteen_is_told_as_such() -> None:
    with pytest.raises(ValueError) as caught:
        parse_datetime("13-13-2021", DAY_FIRST)
    assert str(caught.value).endswith("there is no month 13 (in this format the day comes first).")


def test_month_thirteen_year_first_has_no_order_hint() -> None:
    with pytest.raises(ValueError) as caught:
        parse_datetime("2021/13/04")
    assert str(caught.value) == (
        "'2021/13/04' is not a date in the format yyyy-MM-dd HH:mm:ss: there is no month 13."
    )


def test_an_unknown_pattern_is_named_with_every_format_listed() -> None:
    with pytest.raises(ValueError) as caught:
        format_datetime(datetime(2021, 3, 4), "yyyy/MM/dd")
    assert str(caught.value) == (
        "'yyyy/MM/dd' is not one of Opus's date formats; use one of: "
        + ", ".join(all_formats())
        + "."
    )


@pytest.mark.parametrize(
    ("written", "offset"),
    [
        ("+05", timedelta(hours=5)),
        ("+05:30", timedelta(hours=5, minutes=30)),
        ("+0530", timedelta(hours=5, minutes=30)),
        ("-05:30", -timedelta(hours=5, minutes=30)),
        ("+23:59", timedelta(hours=23, minutes=59)),
        ("Z", timedelta(0)),
    ],
)
def test_time_zone_offsets_are_read_with_hours_minutes_and_sign(
    written: str, offset: timedelta
) -> None:
    value, found = parse_with_offset(f"04-03-2021 08:00:00{written}", DAY_FIRST)
    assert (value, found) == (datetime(2021, 3, 4, 8), offset)


@pytest.mark.parametrize("written", ["+24:00", "+05:60"])
def test_offsets_past_23_hours_or_59_minutes_are_refused(written: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"{written} is not a time zone offset")):
        parse_with_offset(f"04-03-2021 08:00:00{written}", DAY_FIRST)


def test_text_that_is_no_date_in_a_day_first_format_gets_an_example() -> None:
    with pytest.raises(ValueError) as caught:
        parse_datetime("hello", DAY_FIRST)
    assert str(caught.value).endswith("for example 14-03-2021 13:45:00.")


def test_iso_8601_with_the_hour_alone_or_without_colons_is_read() -> None:
    assert parse_datetime("2021-03-04T08") == datetime(2021, 3, 4, 8)
    assert parse_datetime("2021-03-04T080507") == datetime(2021, 3, 4, 8, 5, 7)


def test_half_a_second_rounds_up() -> None:
    assert round_to_second(datetime(2021, 3, 4, 8, 0, 6, 500_000)) == datetime(2021, 3, 4, 8, 0, 7)
    assert round_to_second(datetime(2021, 3, 4, 8, 0, 6, 499_999)) == datetime(2021, 3, 4, 8, 0, 6)


@pytest.mark.parametrize("days", [1e9, -1e9])
def test_excel_numbers_of_a_billion_days_are_refused_before_any_arithmetic(days: float) -> None:
    with pytest.raises(ValueError) as caught:
        from_excel_serial(days)
    assert str(caught.value).startswith(f"{days:g} is not an Excel date")


def test_noon_on_the_last_excel_day_is_a_date() -> None:
    assert from_excel_serial(2_958_465.5) == datetime(9999, 12, 31, 12)


def test_any_time_on_excels_29_february_1900_is_refused() -> None:
    with pytest.raises(ValueError, match="29 February 1900"):
        from_excel_serial(60.5)


def test_a_whole_excel_number_written_as_a_float_is_shown_without_decimals() -> None:
    with pytest.raises(ValueError) as caught:
        from_excel_serial(60.0)
    assert str(caught.value).startswith("60 is Excel's 29 February 1900")
