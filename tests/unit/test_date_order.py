"""Dates the way they are typed: day first, month first, year first, or decided per column."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from opus_desktop.core import date_order
from opus_desktop.core.datetimes import AmbiguousDate, parse_datetime
from opus_desktop.core.errors import MappingError
from opus_desktop.core.mapping import Mapping
from opus_desktop.core.schema import Column, ColumnType, Template
from opus_desktop.core.sheets import SheetData, SheetRow, SheetStream
from opus_desktop.core.validation import Validator, validate
from opus_desktop.core.values import ValueProblem, ValueSettings, convert

WHEN = Column("timeCreated", "Created time", ColumnType.DATE_TIME, False, True)
RECEIVED = Column("_Date_%20_Received", "Date Received", ColumnType.DATE_TIME, False, False)
KEY = Column("rowKey", "Row key", ColumnType.SINGLE_TEXT, False, True)
TEMPLATE = Template(None, "Overwrite", (KEY, WHEN, RECEIVED))
HEADERS = ["Row key", "Created time", "Date Received"]


def sheet(cells: list[tuple[object, object]], path: str = "dates.csv") -> SheetData:
    rows = [SheetRow(n + 2, [f"K{n}", a, b]) for n, (a, b) in enumerate(cells)]
    return SheetData(Path(path), "dates", HEADERS, 1, 0, rows)


def values(result: object, name: str = "timeCreated") -> list[object]:
    return [record.values.get(name) for record in result.records]  # type: ignore[attr-defined]


# -- reading one value ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("25/12/2019 09:30", "AUTO", datetime(2019, 12, 25, 9, 30)),
        ("25.12.2019 09:30:15", "AUTO", datetime(2019, 12, 25, 9, 30, 15)),
        ("25-12-2019", "AUTO", datetime(2019, 12, 25)),
        ("25 12 2019 9:30 PM", "AUTO", datetime(2019, 12, 25, 21, 30)),
        ("12/25/2019 9:30 am", "AUTO", datetime(2019, 12, 25, 9, 30)),
        ("05/05/2019", "AUTO", datetime(2019, 5, 5)),
        ("25 Dec 2019", "AUTO", datetime(2019, 12, 25)),
        ("25 DECEMBER 2019 09:30", "AUTO", datetime(2019, 12, 25, 9, 30)),
        ("December 25, 2019", "AUTO", datetime(2019, 12, 25)),
        ("dec 25, 2019 12:00 PM", "AUTO", datetime(2019, 12, 25, 12)),
        ("25-Dec-19", "AUTO", datetime(2019, 12, 25)),
        ("03/04/2019 09:30", "DMY", datetime(2019, 4, 3, 9, 30)),
        ("03/04/2019 09:30", "MDY", datetime(2019, 3, 4, 9, 30)),
        ("3.4.19", "DMY", datetime(2019, 4, 3)),
        ("2019-12-25 09:30", "DMY", datetime(2019, 12, 25, 9, 30)),
        ("2019/04/03", "MDY", datetime(2019, 4, 3)),
        ("19/04/03", "YMD", datetime(2019, 4, 3)),
        ("2019.04.03 10:00", "YMD", datetime(2019, 4, 3, 10)),
    ],
)
def test_text_dates_are_read_in_the_order_given(text: str, order: str, expected: datetime) -> None:
    assert parse_datetime(text, order=order) == expected


@pytest.mark.parametrize(("year", "full"), [("00", 2000), ("29", 2029), ("30", 1930), ("99", 1999)])
def test_two_digit_years_pivot_at_69(year: str, full: int) -> None:
    assert parse_datetime(f"25/12/{year}", order="DMY").year == full


def test_an_ambiguous_date_names_both_readings() -> None:
    with pytest.raises(AmbiguousDate) as caught:
        parse_datetime("03/04/2019 09:30", order="AUTO")
    assert str(caught.value) == (
        "'03/04/2019 09:30' could be 3 April 2019 or 4 March 2019: "
        "choose the date order: day first (DMY) or month first (MDY)."
    )


def test_automatic_follows_a_day_first_pattern_but_ask_does_not() -> None:
    pattern = "dd-MM-yyyy HH:mm:ss"
    assert parse_datetime("03/04/2019", pattern, order="AUTO") == datetime(2019, 4, 3)
    with pytest.raises(AmbiguousDate):
        parse_datetime("03/04/2019", pattern, order="ASK")


@pytest.mark.parametrize(
    ("text", "order", "reason"),
    [
        ("31/02/2019", "AUTO", "February 2019 has no day 31."),
        ("31/02/2019", "DMY", "February 2019 has no day 31."),
        (
            "12/25/2019",
            "DMY",
            "there is no month 25 (with the date order DMY the day comes first).",
        ),
        (
            "25/12/2019",
            "MDY",
            "there is no month 25 (with the date order MDY the month comes first).",
        ),
        ("25/13/2019", "AUTO", "neither 25 nor 13 can be a month."),
        ("2019-13-04", "AUTO", "there is no month 13."),
    ],
)
def test_impossible_dates_name_the_value(text: str, order: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_datetime(text, order=order)
    assert not isinstance(caught.value, AmbiguousDate)
    assert (
        str(caught.value) == f"'{text}' is not a date in the format yyyy-MM-dd HH:mm:ss: {reason}"
    )


def test_without_an_order_reading_is_as_before() -> None:
    with pytest.raises(ValueError, match="with this format the year comes first"):
        parse_datetime("25/12/2019")
    assert parse_datetime("25/12/2019", "dd-MM-yyyy HH:mm:ss") == datetime(2019, 12, 25)


def test_an_unknown_order_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'DYM' is not a date order: use DMY, MDY or YMD\."):
        parse_datetime("25/12/2019", order="DYM")
    with pytest.raises(ValueError, match="is not a date order"):
        ValueSettings(date_order="dmy")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("25/12/2019 09:30", date_order.DMY),
        ("12/25/2019", date_order.MDY),
        ("2019-12-25 09:30:00", date_order.YMD),
        ("03/04/2019", date_order.AMBIGUOUS),
        ("3.4.19", date_order.AMBIGUOUS),
        ("05/05/2019", None),
        ("25/13/2019", None),
        ("25 Dec 2019", None),
        ("REC-000001", None),
    ],
)
def test_kind_says_what_one_value_tells(text: str, kind: str | None) -> None:
    assert date_order.kind(text) == kind


# -- the converter ----------------------------------------------------------------------------


def test_the_converter_sends_the_profiles_format_in_the_order_chosen() -> None:
    settings = ValueSettings(date_order="DMY")
    assert convert(WHEN, "03/04/2019 09:30", settings) == "2019-04-03 09:30:00"
    mdy = replace(settings, date_order="MDY", date_format="d-MMM-yyyy h:mm:ss tt")
    assert convert(WHEN, "03/04/2019 09:30", mdy) == "4-Mar-2019 9:30:00 AM"
    assert convert(WHEN, datetime(2019, 4, 3, 9, 30), settings) == "2019-04-03 09:30:00"


def test_the_converter_refuses_an_ambiguous_date_without_an_order() -> None:
    with pytest.raises(ValueProblem, match="could be 3 April 2019 or 4 March 2019"):
        convert(WHEN, "03/04/2019", ValueSettings())
    assert convert(WHEN, "25/12/2019", ValueSettings()) == "2019-12-25 00:00:00"


# -- the mapping ------------------------------------------------------------------------------


def test_the_mapping_keeps_the_date_order_and_reads_files_without_it() -> None:
    mapping = Mapping({"Created time": "timeCreated"}, date_order="DMY")
    document = json.loads(mapping.to_json())
    assert document["dateOrder"] == "DMY"
    assert Mapping.from_json(mapping.to_json()).date_order == "DMY"
    assert Mapping.from_json('{"columns": {}, "dateOrder": "mdy"}').date_order == "MDY"
    assert Mapping.from_json('{"columns": {}}').date_order is None
    assert "dateOrder" not in Mapping({"A": "b"}).to_json()


def test_a_wrong_date_order_in_a_mapping_is_refused() -> None:
    with pytest.raises(MappingError, match='"dateOrder" must be "DMY", "MDY" or "YMD", not "DYM"'):
        Mapping.from_json('{"columns": {}, "dateOrder": "DYM"}')
    with pytest.raises(MappingError, match="not 3"):
        Mapping.from_json('{"columns": {}, "dateOrder": 3}')


# -- a whole sheet --------------------------------------------------------------------------


def test_a_column_is_decided_by_its_first_value_above_twelve() -> None:
    data = sheet(
        [("03/04/2019 09:30", "2019-01-02"), ("05/06/2019 14:00", None), ("25/12/2019 8:00", None)]
    )
    result = validate(data, TEMPLATE, ValueSettings())
    assert result.ok, result.problems
    assert values(result) == ["2019-04-03 09:30:00", "2019-06-05 14:00:00", "2019-12-25 08:00:00"]
    assert result.date_orders == ["Created time: read day first (25/12/2019), decided by row 4"]


def test_a_month_first_column_is_read_month_first() -> None:
    result = validate(
        sheet([("03/04/2019", None), ("12/25/2019", None)]), TEMPLATE, ValueSettings()
    )
    assert values(result) == ["2019-03-04 00:00:00", "2019-12-25 00:00:00"]
    assert result.date_orders == ["Created time: read month first (12/25/2019), decided by row 3"]


def test_each_column_decides_for_itself() -> None:
    data = sheet([("03/04/2019", "03/04/2019"), ("25/12/2019", "12/25/2019")])
    result = validate(data, TEMPLATE, ValueSettings())
    assert result.ok
    assert values(result) == ["2019-04-03 00:00:00", "2019-12-25 00:00:00"]
    assert values(result, RECEIVED.internal_name) == ["2019-03-04 00:00:00", "2019-12-25 00:00:00"]


def test_an_undecidable_column_gets_a_problem_on_each_ambiguous_cell() -> None:
    data = sheet([("03/04/2019 09:30", None), ("2019-04-05 10:00:00", None), ("01/02/2019", None)])
    result = validate(data, TEMPLATE, ValueSettings())
    assert [(p.row, p.message) for p in result.problems] == [
        (
            2,
            "'03/04/2019 09:30' could be 3 April 2019 or 4 March 2019: "
            "choose the date order: day first (DMY) or month first (MDY).",
        ),
        (
            4,
            "'01/02/2019' could be 1 February 2019 or 2 January 2019: "
            "choose the date order: day first (DMY) or month first (MDY).",
        ),
    ]
    assert values(result) == [None, "2019-04-05 10:00:00", None]
    assert result.date_orders == [
        "Created time: no date tells day from month (row 2: '03/04/2019 09:30'); 2 dates read "
        "both ways and stay problems until the date order is chosen"
    ]


def test_a_contradicting_column_reads_no_ambiguous_date() -> None:
    # The decisive rows come after the ambiguous one: the column is looked at as a whole.
    data = sheet([("03/04/2019", None), ("25/12/2019", None), ("12/25/2019", None)])
    result = validate(data, TEMPLATE, ValueSettings())
    assert [p.row for p in result.problems] == [2]
    assert "could be 3 April 2019 or 4 March 2019" in result.problems[0].message
    assert values(result) == [None, "2019-12-25 00:00:00", "2019-12-25 00:00:00"]
    assert result.date_orders == [
        "Created time: the dates contradict each other: row 3 is day first ('25/12/2019'), "
        "row 4 month first ('12/25/2019'); 1 date reads both ways and stays a problem until "
        "the date order is chosen"
    ]


def test_a_chosen_order_beats_the_values_and_the_mapping() -> None:
    data = sheet([("03/04/2019", None), ("12/25/2019", None)])
    mapping = Mapping(
        dict(zip(HEADERS, ("rowKey", "timeCreated", RECEIVED.internal_name), strict=True))
    )
    by_mapping = validate(data, TEMPLATE, ValueSettings(), replace(mapping, date_order="DMY"))
    assert values(by_mapping)[0] == "2019-04-03 00:00:00"
    assert "there is no month 25 (with the date order DMY" in by_mapping.problems[0].message
    both = validate(
        data, TEMPLATE, ValueSettings(date_order="MDY"), replace(mapping, date_order="DMY")
    )
    assert both.ok
    assert values(both) == ["2019-03-04 00:00:00", "2019-12-25 00:00:00"]
    assert both.date_orders[0] == "Created time: read month first (12/25/2019), as chosen"


def test_excel_dates_and_the_profiles_format_need_no_decision() -> None:
    data = sheet([(datetime(2019, 4, 3, 9, 30), "2019-04-03 09:30:00"), (45000.5, "2019-12-25")])
    result = validate(data, TEMPLATE, ValueSettings())
    assert result.ok
    assert values(result) == ["2019-04-03 09:30:00", "2023-03-15 12:00:00"]
    assert result.date_orders == []


def test_a_day_first_profile_reads_an_undecided_column_its_own_way() -> None:
    settings = ValueSettings(date_format="dd-MM-yyyy HH:mm:ss")
    result = validate(sheet([("03/04/2019", None)]), TEMPLATE, settings)
    assert values(result) == ["03-04-2019 00:00:00"]
    assert result.date_orders == [
        "Created time: no date tells day from month; read day first (25/12/2019), as the "
        "profile's date format dd-MM-yyyy HH:mm:ss does"
    ]


def test_a_stream_is_read_again_from_its_file(tmp_path: Path) -> None:
    path = tmp_path / "dates.csv"
    lines = ["Row key,Created time,Date Received"]
    lines += [f"K{n},0{1 + n % 9}/0{1 + n % 8}/2019,," for n in range(1200)]
    lines.append("LAST,28/02/2019,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from opus_desktop.core.sheets import open_sheet

    stream = open_sheet(path)
    result = validate(stream, TEMPLATE, ValueSettings(), keep_records=False)
    assert result.ok, result.problems[:3]
    assert result.date_orders == [
        f"Created time: read day first (25/12/2019), decided by row {len(lines)}"
    ]


def test_a_stream_that_cannot_be_read_again_reads_no_ambiguous_date() -> None:
    rows = iter([SheetRow(2, ["A", "25/12/2019", None]), SheetRow(3, ["B", "03/04/2019", None])])
    stream = SheetStream(Path("/nonexistent/gone.csv"), "gone", HEADERS, 1, 0, rows)
    validator = Validator(stream, TEMPLATE, ValueSettings())
    result = validator.run(stream.rows)
    assert [p.row for p in result.problems] == [3]
    assert values(result) == ["2019-12-25 00:00:00", None]
