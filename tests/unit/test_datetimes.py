"""Opus date patterns: writing, forgiving reading, refusing to guess, Excel serial numbers."""

from __future__ import annotations

import calendar
import locale
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opus_desktop.core.datetimes import (
    DATE_PATTERNS,
    DEFAULT_FORMAT,
    TIME_PATTERNS,
    all_formats,
    check_format,
    format_datetime,
    formatter,
    from_excel_serial,
    parse_datetime,
    parse_with_offset,
    round_to_second,
)
from tests.helpers.tools import missing

MORNING = datetime(2021, 3, 4, 8, 5, 7)
AFTERNOON = datetime(2021, 11, 24, 13, 5, 7)
ISO = "yyyy-MM-dd HH:mm:ss"
DMY = "dd-MM-yyyy HH:mm:ss"
MDY = "M-d-yyyy h:mm:ss tt"


def test_patterns_and_formats() -> None:
    assert DEFAULT_FORMAT == "yyyy-MM-dd HH:mm:ss"
    assert len(DATE_PATTERNS) == 8 and len(TIME_PATTERNS) == 2
    formats = all_formats()
    assert len(formats) == 16 == len(set(formats))
    assert formats[0] == DEFAULT_FORMAT
    assert "MMMM d,yyyy h:mm:ss tt" in formats


@pytest.mark.parametrize("pattern", all_formats())
def test_check_format_accepts_every_opus_format(pattern: str) -> None:
    check_format(pattern)


@pytest.mark.parametrize(
    "pattern", ["dd/MM/yyyy HH:mm:ss", "yyyy-MM-dd", "yyyy-MM-dd  HH:mm:ss", "", "HH:mm:ss"]
)
def test_check_format_refuses_others(pattern: str) -> None:
    with pytest.raises(ValueError, match=r"is not one of Opus's date formats; use one of: yyyy"):
        check_format(pattern)


@pytest.mark.parametrize(
    ("pattern", "morning", "afternoon"),
    [
        ("yyyy-MM-dd HH:mm:ss", "2021-03-04 08:05:07", "2021-11-24 13:05:07"),
        ("yyyy-MM-dd h:mm:ss tt", "2021-03-04 8:05:07 AM", "2021-11-24 1:05:07 PM"),
        ("M-d-yyyy HH:mm:ss", "3-4-2021 08:05:07", "11-24-2021 13:05:07"),
        ("M-d-yy h:mm:ss tt", "3-4-21 8:05:07 AM", "11-24-21 1:05:07 PM"),
        ("MM-dd-yy HH:mm:ss", "03-04-21 08:05:07", "11-24-21 13:05:07"),
        ("d-MMMM-yy HH:mm:ss", "4-March-21 08:05:07", "24-November-21 13:05:07"),
        ("MMMM d,yyyy h:mm:ss tt", "March 4,2021 8:05:07 AM", "November 24,2021 1:05:07 PM"),
        ("d-MMM-yyyy HH:mm:ss", "4-Mar-2021 08:05:07", "24-Nov-2021 13:05:07"),
        ("dd-MM-yyyy h:mm:ss tt", "04-03-2021 8:05:07 AM", "24-11-2021 1:05:07 PM"),
    ],
)
def test_format(pattern: str, morning: str, afternoon: str) -> None:
    assert format_datetime(MORNING, pattern) == morning
    assert format_datetime(AFTERNOON, pattern) == afternoon
    assert formatter(pattern)(MORNING) == morning


def test_format_default_pattern_and_date_alone() -> None:
    assert format_datetime(MORNING) == "2021-03-04 08:05:07"
    assert format_datetime(MORNING, "MMMM d,yyyy") == "March 4,2021"


def test_format_midnight_and_noon_on_a_12_hour_clock() -> None:
    assert format_datetime(datetime(2021, 3, 4, 0, 0, 1), "yyyy-MM-dd h:mm:ss tt").endswith(
        " 12:00:01 AM"
    )
    assert format_datetime(datetime(2021, 3, 4, 12, 0, 1), "yyyy-MM-dd h:mm:ss tt").endswith(
        " 12:00:01 PM"
    )


def test_format_drops_fractions_and_refuses_unknown_patterns() -> None:
    assert format_datetime(datetime(2021, 3, 4, 8, 5, 7, 999_999)) == "2021-03-04 08:05:07"
    with pytest.raises(ValueError, match="not one of Opus's date formats"):
        format_datetime(MORNING, "%Y-%m-%d")


def test_month_names_do_not_follow_the_calendar_module(monkeypatch: pytest.MonkeyPatch) -> None:
    german = ["", "Januar", "Februar", "März"] + [f"M{i}" for i in range(4, 13)]
    monkeypatch.setattr(calendar, "month_name", german)
    assert format_datetime(MORNING, "d-MMMM-yy HH:mm:ss") == "4-March-21 08:05:07"


@pytest.fixture
def german_locale() -> Iterator[None]:
    previous = locale.setlocale(locale.LC_ALL)
    for name in ("de_DE.UTF-8", "de_DE.utf8", "German_Germany.1252"):
        try:
            locale.setlocale(locale.LC_ALL, name)
            break
        except locale.Error:
            continue
    else:
        missing("a German locale (de_DE.UTF-8)")
    try:
        yield
    finally:
        locale.setlocale(locale.LC_ALL, previous)


@pytest.mark.usefixtures("german_locale")
def test_english_whatever_the_locale() -> None:
    assert format_datetime(AFTERNOON, "MMMM d,yyyy h:mm:ss tt") == "November 24,2021 1:05:07 PM"
    assert parse_datetime("24-Dec-2021 1:05 PM", ISO) == datetime(2021, 12, 24, 13, 5)


# -- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pattern", "expected"),
    [
        # exact
        ("2021-03-04 08:05:07", ISO, MORNING),
        ("04-03-2021 08:05:07", DMY, MORNING),
        ("3-4-2021 8:05:07 AM", MDY, MORNING),
        # the date alone means midnight; seconds may be left out
        ("2021-03-04", ISO, datetime(2021, 3, 4)),
        ("04-03-2021", DMY, datetime(2021, 3, 4)),
        ("2021-03-04 08:05", ISO, datetime(2021, 3, 4, 8, 5)),
        ("3-4-2021 8:05 PM", MDY, datetime(2021, 3, 4, 20, 5)),
        # separators - / . and spaces are interchangeable
        ("2021/03/04 08:05:07", ISO, MORNING),
        ("2021.3.4 08:05:07", ISO, MORNING),
        ("04/03/2021 08:05:07", DMY, MORNING),
        ("04.03.2021", DMY, datetime(2021, 3, 4)),
        ("3/4/2021 08:05:07", MDY, MORNING),
        # 24-hour with a 12-hour pattern, AM/PM with a 24-hour pattern, in any case
        ("3-4-2021 20:05:07", MDY, datetime(2021, 3, 4, 20, 5, 7)),
        ("2021-03-04 8:05:07 pm", ISO, datetime(2021, 3, 4, 20, 5, 7)),
        ("2021-03-04 12:05 a.m.", ISO, datetime(2021, 3, 4, 0, 5)),
        ("2021-03-04 12:05PM", ISO, datetime(2021, 3, 4, 12, 5)),
        # ISO 8601 with or without T, seconds, fraction
        ("2021-03-04T08:05:07", DMY, MORNING),
        ("2021-03-04T08:05", MDY, datetime(2021, 3, 4, 8, 5)),
        ("2021-03-04T08:05:07.25", ISO, datetime(2021, 3, 4, 8, 5, 7, 250_000)),
        ("2021-3-4T8:05:07.5", ISO, datetime(2021, 3, 4, 8, 5, 7, 500_000)),
        # a four-digit year first is never ambiguous, whatever the pattern
        ("2021/03/04", DMY, datetime(2021, 3, 4)),
        ("2021-11-24 1:05:07 PM", MDY, AFTERNOON),
        # month names, full or short, any case, in any order
        ("4-March-21 08:05:07", ISO, MORNING),
        ("March 4, 2021 8:05:07 AM", ISO, MORNING),
        ("march 4 2021", DMY, datetime(2021, 3, 4)),
        ("4 MAR 2021", MDY, datetime(2021, 3, 4)),
        ("24-Nov-2021 13:05:07", ISO, AFTERNOON),
        ("4 Sept. 2021", ISO, datetime(2021, 9, 4)),
        ("2021-Mar-04", DMY, datetime(2021, 3, 4)),
        # stray whitespace
        ("  2021-03-04   08:05:07 ", ISO, MORNING),
        (" 3 / 4 / 2021\t8 : 05 : 07  AM ", MDY, MORNING),
        ("\u00a02021-03-04 08:05:07\u00a0", ISO, MORNING),
    ],
)
def test_parse_forgiving(text: str, pattern: str, expected: datetime) -> None:
    assert parse_datetime(text, pattern) == expected


@pytest.mark.parametrize(
    ("text", "expected_year"),
    [
        ("4-3-00", 2000),
        ("4-3-29", 2029),
        ("4-3-30", 1930),
        ("4-3-69", 1969),
        ("4-3-99", 1999),
        ("4-3-2050", 2050),
    ],
)
def test_two_digit_years(text: str, expected_year: int) -> None:
    assert parse_datetime(text, "M-d-yy HH:mm:ss").year == expected_year


def test_a_digits_only_date_follows_the_patterns_order() -> None:
    assert parse_datetime("04/03/2021", DMY) == datetime(2021, 3, 4)
    assert parse_datetime("04/03/2021", MDY) == datetime(2021, 4, 3)
    assert parse_datetime("04/03/2021", "d-MMM-yyyy HH:mm:ss") == datetime(2021, 3, 4)
    assert parse_datetime("04/03/2021", "MMMM d,yyyy HH:mm:ss") == datetime(2021, 4, 3)


def test_a_year_first_pattern_refuses_to_guess_day_and_month() -> None:
    with pytest.raises(ValueError) as caught:
        parse_datetime("04/03/2021", ISO)
    assert str(caught.value) == (
        "'04/03/2021' is not a date in the format yyyy-MM-dd HH:mm:ss: "
        "with this format the year comes first, as in 2021-03-14 13:45:00."
    )


def test_a_two_digit_year_first_is_refused() -> None:
    # "21-03-04" could be 4 March 2021 or 21 March 2004.
    with pytest.raises(ValueError, match="is not a date in the format yyyy-MM-dd HH:mm:ss"):
        parse_datetime("21-03-04", ISO)


@pytest.mark.parametrize(
    ("text", "pattern", "message"),
    [
        (
            "31/02/2021",
            ISO,
            "'31/02/2021' is not a date in the format yyyy-MM-dd HH:mm:ss: with this format "
            "the year comes first, as in 2021-03-14 13:45:00.",
        ),
        (
            "31/02/2021",
            DMY,
            "'31/02/2021' is not a date in the format dd-MM-yyyy HH:mm:ss: "
            "February 2021 has no day 31.",
        ),
        (
            "2021-02-29",
            ISO,
            "'2021-02-29' is not a date in the format yyyy-MM-dd HH:mm:ss: "
            "February 2021 has no day 29.",
        ),
        (
            "24/11/2021",
            MDY,
            "'24/11/2021' is not a date in the format M-d-yyyy h:mm:ss tt: "
            "there is no month 24 (in this format the month comes first).",
        ),
        (
            "11/24/2021",
            DMY,
            "'11/24/2021' is not a date in the format dd-MM-yyyy HH:mm:ss: "
            "there is no month 24 (in this format the day comes first).",
        ),
        (
            "4 Marc 2021",
            ISO,
            "'4 Marc 2021' is not a date in the format yyyy-MM-dd HH:mm:ss: 'Marc' is not a month.",
        ),
        (
            " next Tuesday ",
            "MMMM d,yyyy h:mm:ss tt",
            "'next Tuesday' is not a date in the format MMMM d,yyyy h:mm:ss tt: "
            "for example March 14,2021 1:45:00 PM.",
        ),
        (
            "2021-03-04 13:05 PM",
            ISO,
            "'2021-03-04 13:05 PM' is not a date in the format yyyy-MM-dd HH:mm:ss: "
            "with AM or PM the hour runs from 1 to 12.",
        ),
        (
            "2021-03-04 0:05 AM",
            ISO,
            "'2021-03-04 0:05 AM' is not a date in the format yyyy-MM-dd HH:mm:ss: "
            "with AM or PM the hour runs from 1 to 12.",
        ),
        (
            "2021-03-04 24:00:00",
            ISO,
            "'2021-03-04 24:00:00' is not a date in the format yyyy-MM-dd HH:mm:ss: "
            "there is no hour 24.",
        ),
        (
            "2021-03-04 10:60",
            ISO,
            "'2021-03-04 10:60' is not a date in the format yyyy-MM-dd HH:mm:ss: "
            "minutes and seconds run from 0 to 59.",
        ),
        (
            "0000-03-04",
            ISO,
            "'0000-03-04' is not a date in the format yyyy-MM-dd HH:mm:ss: there is no year 0.",
        ),
    ],
)
def test_parse_problems(text: str, pattern: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_datetime(text, pattern)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "text",
    ["", "2021", "2021-03", "12:00:00", "4 March", "20210304", "2021-03-04 10:", "4-3-2021x"],
)
def test_parse_refuses_incomplete_dates(text: str) -> None:
    with pytest.raises(ValueError, match="is not a date in the format dd-MM-yyyy HH:mm:ss"):
        parse_datetime(text, DMY)


def test_parse_refuses_an_unknown_pattern() -> None:
    with pytest.raises(ValueError, match="not one of Opus's date formats"):
        parse_datetime("2021-03-04", "yyyy/MM/dd")


# -- time zone offsets -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["2021-03-04T10:00:00Z", "2021-03-04 10:00:00+02:00", "2021-03-04T10:00-0530"]
)
def test_offsets_are_refused_unless_asked_for(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_datetime(text, ISO)
    assert str(caught.value) == (
        f"'{text}' is not a date in the format yyyy-MM-dd HH:mm:ss: it has a time zone offset, "
        "accepted only when the sheet's time zone is set."
    )


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2021-03-04T10:00:00Z", datetime(2021, 3, 4, 10, 0)),
        ("2021-03-04 10:00:00+02:00", datetime(2021, 3, 4, 8, 0)),
        ("2021-03-04T01:30-0530", datetime(2021, 3, 4, 7, 0)),
        ("2021-03-04T23:30:00.5+01", datetime(2021, 3, 4, 22, 30, 0, 500_000)),
        ("4-3-2021 11:00 PM -05:00", datetime(2021, 3, 5, 4, 0)),
    ],
)
def test_offsets_become_naive_utc_when_asked_for(text: str, utc: datetime) -> None:
    result = parse_datetime(text, DMY, utc_offsets=True)
    assert result == utc and result.tzinfo is None


def test_parse_with_offset_keeps_the_time_as_written() -> None:
    assert parse_with_offset("2021-03-04 10:00:00+02:00", ISO) == (
        datetime(2021, 3, 4, 10),
        timedelta(hours=2),
    )
    assert parse_with_offset("4-3-2021 10:00:00 z", DMY) == (datetime(2021, 3, 4, 10), timedelta(0))
    assert parse_with_offset("2021-03-04 10:00", ISO) == (datetime(2021, 3, 4, 10), None)


def test_an_impossible_offset_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\+25:00 is not a time zone offset"):
        parse_with_offset("4-3-2021 10:00 +25:00", DMY)


# -- round trips -----------------------------------------------------------------------------

SECOND_PRECISION = st.datetimes(
    min_value=datetime(1930, 1, 1), max_value=datetime(2029, 12, 31, 23, 59, 59)
).map(lambda value: value.replace(microsecond=0))


@pytest.mark.parametrize("pattern", all_formats())
@given(value=SECOND_PRECISION)
def test_format_then_parse_round_trips(pattern: str, value: datetime) -> None:
    assert parse_datetime(format_datetime(value, pattern), pattern) == value


@given(value=SECOND_PRECISION)
def test_iso_text_parses_under_every_pattern(value: datetime) -> None:
    for pattern in all_formats():
        assert parse_datetime(value.isoformat(), pattern) == value


# -- Excel serial numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (1, datetime(1900, 1, 1)),
        (59, datetime(1900, 2, 28)),
        (61, datetime(1900, 3, 1)),
        (44259, datetime(2021, 3, 4)),
        (44259.5, datetime(2021, 3, 4, 12)),
        (2_958_465, datetime(9999, 12, 31)),
    ],
)
def test_from_excel_serial(days: float, expected: datetime) -> None:
    assert from_excel_serial(days) == expected


def test_excel_serial_rounds_to_the_nearest_second() -> None:
    # Excel stores 08:00:07 as a binary fraction that reads back as 08:00:06.99999...
    assert from_excel_serial(44259 + 28_806.99999 / 86_400) == datetime(2021, 3, 4, 8, 0, 7)
    assert from_excel_serial(44259 + 28_807.00001 / 86_400) == datetime(2021, 3, 4, 8, 0, 7)
    assert from_excel_serial(44259 + 28_807.4 / 86_400) == datetime(2021, 3, 4, 8, 0, 7)
    assert from_excel_serial(44259 + 28_807.6 / 86_400) == datetime(2021, 3, 4, 8, 0, 8)
    # the last instant of a day rounds into the next one
    assert from_excel_serial(44259.9999999999) == datetime(2021, 3, 5)


@given(
    value=st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 12, 31, 23, 59, 59))
)
def test_excel_serial_round_trip(value: datetime) -> None:
    value = value.replace(microsecond=0)
    days = (value - datetime(1899, 12, 30)).total_seconds() / 86_400
    assert from_excel_serial(days) == value


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (60, "60 is Excel's 29 February 1900, a day that never existed."),
        (0.5, "0.5 is not an Excel date: Excel's dates run from 1 (1 January 1900)"),
        (-3, "-3 is not an Excel date"),
        (2_958_466, "2958466 is not an Excel date"),
        (float("nan"), "nan is not an Excel date number."),
        (float("inf"), "inf is not an Excel date number."),
    ],
)
def test_from_excel_serial_refuses(days: float, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        from_excel_serial(days)
    assert str(caught.value).startswith(message)


def test_round_to_second() -> None:
    assert round_to_second(datetime(2021, 3, 4, 8, 0, 6, 999_990)) == datetime(2021, 3, 4, 8, 0, 7)
    assert round_to_second(datetime(2021, 3, 4, 8, 0, 6, 499_999)) == datetime(2021, 3, 4, 8, 0, 6)
    assert round_to_second(datetime(2021, 12, 31, 23, 59, 59, 600_000)) == datetime(2022, 1, 1)


@pytest.mark.parametrize("days", [1e300, -1e300, 1.7e308])
def test_huge_excel_numbers_are_refused_in_a_short_sentence(days: float) -> None:
    with pytest.raises(ValueError, match="is not an Excel date") as caught:
        from_excel_serial(days)
    assert len(str(caught.value)) < 120
