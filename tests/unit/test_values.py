"""Cell values to API values and back, for every column type."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import time as clock
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opus_desktop.core import values as values_module
from opus_desktop.core.errors import CoreError
from opus_desktop.core.schema import Column, ColumnType
from opus_desktop.core.values import (
    ValueProblem,
    ValueSettings,
    convert,
    display,
    load_time_zone,
    make_converter,
)


def column(
    internal: str, kind: ColumnType, *, required: bool = False, display_name: str | None = None
) -> Column:
    return Column(internal, display_name or internal.strip("_"), kind, required, False)


TEXT = column("_Case", ColumnType.SINGLE_TEXT)
NOTES = column("_Notes", ColumnType.MULTIPLE_TEXT)
WHEN = column("_When", ColumnType.DATE_TIME)
CREATED = Column("timeCreated", "Created time", ColumnType.DATE_TIME, True, True)
PAGES = column("_Pages", ColumnType.NUMBER)
LEVEL = column("_Level", ColumnType.SINGLE_CHOICE, display_name="Security Level")
DEPARTMENTS = column("_Departments", ColumnType.MULTIPLE_CHOICE)
OWNER = column("_Owner", ColumnType.PEOPLE_OR_GROUP)
CLASSIFICATION = Column("termFullPath", "Classification", ColumnType.TAXONOMY, False, True)
ROW_KEY = Column("rowKey", "Row key", ColumnType.SINGLE_TEXT, True, True)

CHOICES = {
    "_Level": {"Public": 1, "Internal": 2, "Confidential": 3, "Secret": 4},
    "_Departments": {"Finance": 1, "Human Resources": 2, "Legal": 3, "Research, Development": 4},
}
TERMS = {
    "termFullPath": [
        "Records/Finance/Invoices",
        "Records/Finance/Payroll",
        "Records/Legal/Contracts",
        "Records/Operations/Meeting Minutes",
    ]
}
SETTINGS = ValueSettings(choices=CHOICES, terms=TERMS)
PLAIN = ValueSettings()


def problem(col: Column, raw: object, settings: ValueSettings = SETTINGS) -> str:
    with pytest.raises(ValueProblem) as caught:
        convert(col, raw, settings)
    return caught.value.message


# -- settings --------------------------------------------------------------------------------


def test_settings_defaults() -> None:
    settings = ValueSettings()
    assert settings.date_format == "yyyy-MM-dd HH:mm:ss"
    assert settings.term_separator == "/"
    assert settings.time_zone is None
    assert dict(settings.choices) == {} and dict(settings.terms) == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"date_format": "dd/MM/yyyy"}, "'dd/MM/yyyy' is not one of Opus's date formats"),
        ({"time_zone": "Mars/Olympus"}, "'Mars/Olympus' is not a time zone name such as"),
        ({"time_zone": "../etc/passwd"}, "is not a time zone name"),
        ({"term_separator": " "}, "The term separator must be a character"),
    ],
)
def test_settings_refuse_bad_values(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ValueSettings(**kwargs)  # type: ignore[arg-type]


def test_settings_are_immutable_copies() -> None:
    choices = {"_Level": {"Public": 1}}
    terms = {"termFullPath": ["A/B"]}
    settings = ValueSettings(choices=choices, terms=terms)
    choices["_Level"]["Secret"] = 4
    terms["termFullPath"].append("C/D")
    assert dict(settings.choices["_Level"]) == {"Public": 1}
    assert list(settings.terms["termFullPath"]) == ["A/B"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.time_zone = "UTC"  # type: ignore[misc]


def test_settings_copy_pickle_and_asdict() -> None:
    assert copy.deepcopy(SETTINGS) == SETTINGS
    assert pickle.loads(pickle.dumps(SETTINGS)) == SETTINGS
    assert dataclasses.asdict(SETTINGS)["choices"]["_Level"]["Secret"] == 4
    assert dataclasses.replace(SETTINGS, time_zone="UTC").choices == SETTINGS.choices


def test_settings_hash_and_compare_by_content() -> None:
    again = ValueSettings(choices=CHOICES, terms=TERMS)
    assert again == SETTINGS and hash(again) == hash(SETTINGS)
    assert ValueSettings(choices={"_Level": {"Public": 2}}) != ValueSettings(
        choices={"_Level": {"Public": 1}}
    )


def test_load_time_zone() -> None:
    assert load_time_zone("Australia/Sydney").key == "Australia/Sydney"
    with pytest.raises(ValueError, match="'Nowhere' is not a time zone name"):
        load_time_zone("Nowhere")


def test_a_value_problem_is_a_core_error() -> None:
    exc = ValueProblem("'x' is not a number.")
    assert isinstance(exc, CoreError) and exc.message == str(exc) == "'x' is not a number."


# -- empty and required ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "col", [TEXT, NOTES, WHEN, PAGES, LEVEL, DEPARTMENTS, OWNER, CLASSIFICATION]
)
@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_empty_cells_are_none(col: Column, raw: object) -> None:
    assert convert(col, raw, SETTINGS) is None


@pytest.mark.parametrize(("col", "raw"), [(ROW_KEY, None), (ROW_KEY, "  "), (CREATED, "")])
def test_required_columns_refuse_empty_cells(col: Column, raw: object) -> None:
    assert problem(col, raw) == "A value is required."


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (ColumnType.MULTIPLE_CHOICE, " ; ,\n"),
        (ColumnType.PEOPLE_OR_GROUP, ";;"),
        (ColumnType.TAXONOMY, " / > "),
        (ColumnType.MULTIPLE_TEXT, "\r\n"),
    ],
)
def test_required_columns_refuse_values_that_come_to_nothing(kind: ColumnType, raw: str) -> None:
    col = Column("_X", "X", kind, True, False)
    assert problem(col, raw) == "A value is required."


# -- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Case 12  ", "Case 12"),
        (12, "12"),
        (12.0, "12"),
        (12.5, "12.5"),
        (-0.25, "-0.25"),
        (True, "TRUE"),
        (False, "FALSE"),
        (datetime(2021, 3, 4, 8, 5, 7), "2021-03-04 08:05:07"),
        (date(2021, 3, 4), "2021-03-04"),
        (time(8, 5, 7), "08:05:07"),
        ("first line\r\n  second line\n", "first line second line"),
        ("first line\nsecond line", "first line second line"),
        ("first line\rsecond line", "first line second line"),
        ("one \r\n\r\n two\rthree", "one two three"),
    ],
)
def test_single_text(raw: object, expected: str) -> None:
    assert convert(TEXT, raw, SETTINGS) == expected


def test_single_text_dates_follow_the_profiles_format() -> None:
    settings = ValueSettings(date_format="MMMM d,yyyy h:mm:ss tt")
    assert convert(TEXT, date(2021, 3, 4), settings) == "March 4,2021"
    assert convert(TEXT, datetime(2021, 3, 4, 13, 5), settings) == "March 4,2021 1:05:00 PM"


def test_single_text_length() -> None:
    assert convert(TEXT, "x" * 255, SETTINGS) == "x" * 255
    assert convert(TEXT, " " + "x" * 255 + " ", SETTINGS) == "x" * 255
    assert problem(TEXT, "y" * 256) == (
        f"'{'y' * 40}…' is 256 characters long; this column holds at most 255."
    )


def test_multiple_text_keeps_line_breaks() -> None:
    assert convert(NOTES, "  one\r\ntwo\rthree\n\n four  ", SETTINGS) == "one\ntwo\nthree\n\n four"
    assert convert(NOTES, "z" * 5000, SETTINGS) == "z" * 5000
    assert convert(NOTES, 3.0, SETTINGS) == "3"


# -- date and time ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (datetime(2021, 3, 4, 8, 5, 7), "2021-03-04 08:05:07"),
        (datetime(2021, 3, 4, 8, 0, 6, 999_990), "2021-03-04 08:00:07"),
        (date(2021, 3, 4), "2021-03-04 00:00:00"),
        (44259, "2021-03-04 00:00:00"),
        (44259 + 28_806.99999 / 86_400, "2021-03-04 08:00:07"),
        ("2021-03-04 08:05", "2021-03-04 08:05:00"),
        ("  4 March 2021 8:05 pm ", "2021-03-04 20:05:00"),
        ("2021-03-04T08:05:07.6", "2021-03-04 08:05:08"),
    ],
)
def test_date_time(raw: object, expected: str) -> None:
    assert convert(WHEN, raw, SETTINGS) == expected


def test_date_time_is_written_in_the_profiles_format() -> None:
    settings = ValueSettings(date_format="dd-MM-yyyy h:mm:ss tt")
    assert convert(WHEN, "04/03/2021 14:00", settings) == "04-03-2021 2:00:00 PM"
    assert convert(WHEN, datetime(2021, 11, 24, 0, 30), settings) == "24-11-2021 12:30:00 AM"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "31/02/2021",
            "'31/02/2021' is not a date in the format yyyy-MM-dd HH:mm:ss: "
            "February 2021 has no day 31.",
        ),
        (True, "TRUE is a yes/no value, not a date."),
        (time(8, 5), "08:05:00 is a time of day without a date."),
        (
            0.25,
            "0.25 is not an Excel date: Excel's dates run from 1 (1 January 1900) "
            "to 2958465 (31 December 9999).",
        ),
        (60, "60 is Excel's 29 February 1900, a day that never existed."),
        (
            "2021-03-04T10:00:00Z",
            "'2021-03-04T10:00:00Z' is not a date in the format yyyy-MM-dd HH:mm:ss: it has a "
            "time zone offset, accepted only when the sheet's time zone is set.",
        ),
        (
            datetime(2021, 3, 4, 10, tzinfo=UTC),
            "'2021-03-04 10:00:00+00:00' has a time zone offset, accepted only when the sheet's "
            "time zone is set.",
        ),
    ],
)
def test_date_time_problems(raw: object, message: str) -> None:
    assert problem(WHEN, raw) == message


SYDNEY = ValueSettings(time_zone="Australia/Sydney")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # summer: AEDT is UTC+11
        (datetime(2021, 1, 15, 10, 0), "2021-01-14 23:00:00"),
        ("2021-01-15 10:00", "2021-01-14 23:00:00"),
        # winter: AEST is UTC+10
        (datetime(2021, 7, 15, 10, 0), "2021-07-15 00:00:00"),
        (date(2021, 7, 15), "2021-07-14 14:00:00"),
        (44392.5, "2021-07-15 02:00:00"),  # 15 July 2021 12:00 in Sydney
        # a time that says its own offset is already unambiguous: converted as it says
        ("2021-07-15T10:00:00+02:00", "2021-07-15 08:00:00"),
        ("2021-07-15T10:00:00Z", "2021-07-15 10:00:00"),
        (datetime(2021, 7, 15, 10, tzinfo=timezone(timedelta(hours=-5))), "2021-07-15 15:00:00"),
    ],
)
def test_time_zone_conversion_to_utc(raw: object, expected: str) -> None:
    assert convert(WHEN, raw, SYDNEY) == expected


def test_time_zone_conversion_keeps_the_profiles_format() -> None:
    settings = ValueSettings(time_zone="America/New_York", date_format="M-d-yyyy h:mm:ss tt")
    assert convert(WHEN, "3-4-2021 7:00 PM", settings) == "3-5-2021 12:00:00 AM"


# -- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (12, 12),
        (12.0, 12),
        (12.5, 12.5),
        (-3, -3),
        (" 12 ", 12),
        ("1,234.5", 1234.5),
        ("1,234,567", 1_234_567),
        ("-0.5", -0.5),
        ("+4.25", 4.25),
        (".5", 0.5),
        ("12.0", 12),
        ("1e3", 1000),
        ("2.5E-3", 0.0025),
        ("123456789012345678901234567890", 123456789012345678901234567890),
        (1e20, 1e20),
    ],
)
def test_number(raw: object, expected: float) -> None:
    result = convert(PAGES, raw, SETTINGS)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("12abc", "'12abc' is not a number."),
        ("twelve", "'twelve' is not a number."),
        ("1,5", "'1,5' is not a number (commas may only separate thousands, as in 1,234.5)."),
        (
            "12,34.5",
            "'12,34.5' is not a number (commas may only separate thousands, as in 1,234.5).",
        ),
        ("1_000", "'1_000' is not a number."),
        ("nan", "'nan' is not a number."),
        ("-", "'-' is not a number."),
        ("1e999", "'1e999' is not a number that can be sent."),
        (float("nan"), "'nan' is not a number that can be sent."),
        (True, "TRUE is a yes/no value, not a number."),
        (False, "FALSE is a yes/no value, not a number."),
        (date(2021, 3, 4), "'2021-03-04' is not a number."),
    ],
)
def test_number_problems(raw: object, message: str) -> None:
    assert problem(PAGES, raw) == message


@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_number_display_round_trips(value: float) -> None:
    sent = convert(PAGES, value, SETTINGS)
    assert convert(PAGES, display(PAGES, sent, SETTINGS), SETTINGS) == sent


# -- single choice ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Internal", 2), ("  internal ", 2), ("CONFIDENTIAL", 3), (4, 4), ("4", 4), (1.0, 1)],
)
def test_single_choice(raw: object, expected: int) -> None:
    assert convert(LEVEL, raw, SETTINGS) == expected


def test_single_choice_ignores_runs_of_spaces_in_labels() -> None:
    settings = ValueSettings(choices={"_Level": {"Top  Secret": 5}})
    assert convert(LEVEL, "top secret", settings) == 5


def test_a_label_wins_over_a_number() -> None:
    settings = ValueSettings(choices={"_Level": {"2": 1, "1": 2}})
    assert convert(LEVEL, "2", settings) == 1
    assert convert(LEVEL, 1, settings) == 2


LEVELS = "Public, Internal, Confidential, Secret"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("Top secret", f"'Top secret' is not one of the options: {LEVELS}."),
        (7, f"'7' is not one of the options: {LEVELS}."),
        (True, f"'TRUE' is not one of the options: {LEVELS}."),
    ],
)
def test_single_choice_problems(raw: object, message: str) -> None:
    assert problem(LEVEL, raw) == message


def test_a_long_option_list_is_shortened_in_messages() -> None:
    settings = ValueSettings(choices={"_Level": {f"Option {n}": n for n in range(1, 31)}})
    message = problem(LEVEL, "Nope", settings)
    assert message.endswith("Option 19, Option 20 and 10 more.")


def test_single_choice_without_options_in_the_profile() -> None:
    assert convert(LEVEL, 3, PLAIN) == 3
    assert convert(LEVEL, " 12 ", PLAIN) == 12
    assert problem(LEVEL, "Public", PLAIN) == (
        "'Public' cannot be sent: the options of Security Level are not set up in the profile, "
        "so enter option numbers or set up the options."
    )
    assert "not set up" in problem(LEVEL, 0, PLAIN)
    assert "not set up" in problem(LEVEL, -2, PLAIN)
    assert "not set up" in problem(LEVEL, 2.5, PLAIN)


# -- multiple choice -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Finance; legal", [1, 3]),
        ("Finance, Legal", [1, 3]),
        ("Finance\nHuman Resources\r\nLegal", [1, 2, 3]),
        ("legal; Finance; LEGAL, finance", [3, 1]),
        (["Legal", "Finance", "Legal"], [3, 1]),
        (("Legal", 2), [3, 2]),
        ("1, 3", [1, 3]),
        (2, [2]),
        ("Research, Development", [4]),
        ("Legal; Research, Development", [3, 4]),
        ("Finance;; ;", [1]),
    ],
)
def test_multiple_choice(raw: object, expected: list[int]) -> None:
    assert convert(DEPARTMENTS, raw, SETTINGS) == expected


def test_multiple_choice_problems() -> None:
    labels = "Finance, Human Resources, Legal, Research, Development"
    assert problem(DEPARTMENTS, "Finance; Sales") == (
        f"'Sales' is not one of the options: {labels}."
    )
    assert problem(DEPARTMENTS, "Sales, Legal, Marketing") == (
        f"'Sales' and 'Marketing' are not among the options: {labels}."
    )
    assert problem(DEPARTMENTS, "Finance, Legal", PLAIN) == (
        "'Finance' and 'Legal' cannot be sent: the options of Departments are not set up in "
        "the profile, so enter option numbers or set up the options."
    )
    assert convert(DEPARTMENTS, "3; 1, 3", PLAIN) == [3, 1]


def test_remembered_results_are_not_shared() -> None:
    convert_departments = make_converter(DEPARTMENTS, SETTINGS)
    first = convert_departments("Finance; Legal")
    assert isinstance(first, list)
    first.clear()
    assert convert_departments("Finance; Legal") == [1, 3]
    for _ in range(2):  # a remembered problem is raised again, every time
        with pytest.raises(ValueProblem, match="'Sales' is not one of the options"):
            convert_departments("Sales")


# -- people ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("alice@contoso.example", ["alice@contoso.example"]),
        (" a@b.c ; bob@x.com,carol@y.org ", ["a@b.c", "bob@x.com", "carol@y.org"]),
        ("Name <a@b.c>", ["a@b.c"]),
        ("Bob Smith <bob@x.com>; a@b.c", ["bob@x.com", "a@b.c"]),
        ("Smith, John <john@x.com>, a@b.c", ["john@x.com", "a@b.c"]),
        ('"Jones, Carol" <carol@y.org>', ["carol@y.org"]),
        ("a@b.c\nd@e.f", ["a@b.c", "d@e.f"]),
        ("A@B.c; a@b.c", ["A@B.c"]),
        (["a@b.c", "Bob <bob@x.com>"], ["a@b.c", "bob@x.com"]),
        ("first.last+tag@sub.domain.example", ["first.last+tag@sub.domain.example"]),
    ],
)
def test_people_or_group(raw: object, expected: list[str]) -> None:
    assert convert(OWNER, raw, SETTINGS) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("alice", "'alice' is not an e-mail address."),
        ("alice@contoso", "'alice@contoso' is not an e-mail address."),
        ("a@b.c; bob at x.com; @x.com", "'bob at x.com' and '@x.com' are not e-mail addresses."),
        ("a..b@c.d", "'a..b@c.d' is not an e-mail address."),
        ("a@-b.c", "'a@-b.c' is not an e-mail address."),
        ("Smith, John", "'Smith' and 'John' are not e-mail addresses."),
        ("a@b.c <", "'<' is not an e-mail address."),
        ("Bob <>; a@b.c", "'Bob <>' is not an e-mail address."),
        (42, "'42' is not an e-mail address."),
    ],
)
def test_people_or_group_problems(raw: object, message: str) -> None:
    assert problem(OWNER, raw) == message


# -- taxonomy --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Records/Finance/Invoices", "Records/Finance/Invoices"),
        ("records / finance / INVOICES", "Records/Finance/Invoices"),
        ("Records\\Finance\\Payroll", "Records/Finance/Payroll"),
        ("Records > Legal > Contracts", "Records/Legal/Contracts"),
        ("/Records/Operations/Meeting  Minutes/", "Records/Operations/Meeting Minutes"),
    ],
)
def test_taxonomy_with_a_term_list(raw: str, expected: str) -> None:
    assert convert(CLASSIFICATION, raw, SETTINGS) == expected


def test_taxonomy_joins_with_the_profiles_separator() -> None:
    settings = ValueSettings(term_separator=">", terms=TERMS)
    assert convert(CLASSIFICATION, "records/legal/contracts", settings) == "Records>Legal>Contracts"
    assert convert(CLASSIFICATION, "Records>Legal>Contracts", settings) == "Records>Legal>Contracts"
    piped = ValueSettings(term_separator="|")
    assert convert(CLASSIFICATION, " A | B / C ", piped) == "A|B|C"


def test_taxonomy_without_a_term_list_accepts_any_path() -> None:
    assert convert(CLASSIFICATION, " Sites \\ Melbourne > Archive ", PLAIN) == (
        "Sites/Melbourne/Archive"
    )
    empty_list = ValueSettings(terms={"termFullPath": []})
    assert convert(CLASSIFICATION, "Anything/At all", empty_list) == "Anything/At all"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "Records/Finanse/Invoices",
            "'Records/Finanse/Invoices' is not a term of Classification; "
            "did you mean 'Records/Finance/Invoices'?",
        ),
        (
            "Payroll",
            "'Payroll' is not a term of Classification; did you mean 'Records/Finance/Payroll'?",
        ),
        (
            "Sites/Sydney",
            "'Sites/Sydney' is not a term of Classification in the profile's term list.",
        ),
    ],
)
def test_taxonomy_problems(raw: str, message: str) -> None:
    assert problem(CLASSIFICATION, raw) == message


# -- display ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("col", "value", "text"),
    [
        (TEXT, None, ""),
        (TEXT, "Case 12", "Case 12"),
        (NOTES, "one\ntwo", "one\ntwo"),
        (WHEN, "2021-03-04 08:05:07", "2021-03-04 08:05:07"),
        (WHEN, datetime(2021, 3, 4, 8, 5, 7), "2021-03-04 08:05:07"),
        (PAGES, 12, "12"),
        (PAGES, 1234.5, "1234.5"),
        (PAGES, 12.0, "12"),
        (LEVEL, 2, "Internal"),
        (LEVEL, 9, "9"),
        (DEPARTMENTS, [3, 1, 4], "Legal; Finance; Research, Development"),
        (OWNER, ["a@b.c", "bob@x.com"], "a@b.c; bob@x.com"),
        (CLASSIFICATION, "Records/Legal/Contracts", "Records/Legal/Contracts"),
    ],
)
def test_display(col: Column, value: object, text: str) -> None:
    assert display(col, value, SETTINGS) == text


@pytest.mark.parametrize(
    ("col", "raw"),
    [
        (LEVEL, "confidential"),
        (DEPARTMENTS, "legal, finance; Human Resources"),
        (OWNER, "Bob <bob@x.com>; a@b.c"),
        (CLASSIFICATION, "records > finance > payroll"),
        (WHEN, "4 March 2021 1:05 PM"),
        (PAGES, "1,234.5"),
    ],
)
def test_display_then_convert_gives_the_same_value(col: Column, raw: str) -> None:
    value = convert(col, raw, SETTINGS)
    assert value is not None
    assert convert(col, display(col, value, SETTINGS), SETTINGS) == value


def test_a_superscript_digit_is_not_an_option_number() -> None:
    # str.isdigit() is true for '²', but it is no option number: a problem, not a crash.
    column = Column("_Level", "Level", ColumnType.SINGLE_CHOICE, False, False)
    with pytest.raises(ValueProblem):
        convert(column, "²", ValueSettings())


# -- edges the mutation run found unpinned -----------------------------------------------------

US_DATES = ValueSettings(date_format="MMMM d,yyyy h:mm:ss tt", choices=CHOICES)


def test_a_whole_float_from_two_to_the_53_on_keeps_its_float_text() -> None:
    assert convert(TEXT, float(2**53 - 1), PLAIN) == "9007199254740991"
    assert convert(TEXT, float(2**53), PLAIN) == "9007199254740992.0"
    assert convert(TEXT, -float(2**53), PLAIN) == "-9007199254740992.0"


def test_multiple_text_writes_dates_in_the_profiles_format() -> None:
    assert convert(NOTES, date(2021, 3, 4), US_DATES) == "March 4,2021"


def test_display_writes_dates_in_lists_and_choices_in_the_profiles_format() -> None:
    assert display(OWNER, [date(2021, 3, 4), "a@b.c"], US_DATES) == "March 4,2021; a@b.c"
    assert display(DEPARTMENTS, [1, date(2021, 3, 4)], US_DATES) == "Finance; March 4,2021"
    assert display(DEPARTMENTS, [1, "Legal"], US_DATES) == "Finance; Legal"


def test_display_of_a_choice_column_without_options_shows_the_numbers() -> None:
    assert display(LEVEL, 2, PLAIN) == "2"
    assert display(DEPARTMENTS, [3, 1], PLAIN) == "3; 1"


def test_three_unknown_options_are_named_in_order_with_commas_and_and() -> None:
    labels = "Finance, Human Resources, Legal, Research, Development"
    assert problem(DEPARTMENTS, "Sales; Marketing; Legal; Support") == (
        f"'Sales', 'Marketing' and 'Support' are not among the options: {labels}."
    )


@pytest.mark.parametrize(("count", "tail"), [(20, "O20."), (21, "O20 and 1 more.")])
def test_the_options_named_in_a_problem_stop_at_twenty(count: int, tail: str) -> None:
    options = {f"O{n}": n for n in range(1, count + 1)}
    settings = ValueSettings(choices={"_Level": options})
    assert problem(LEVEL, "Nope", settings).endswith(tail)


# -- edges the mutation run found unpinned ---------------------------------------------------


def test_three_bad_addresses_are_listed_with_commas_and_a_final_and() -> None:
    assert problem(OWNER, "x; y; z") == "'x', 'y' and 'z' are not e-mail addresses."


def test_a_stray_bracket_before_an_address_is_named() -> None:
    assert problem(OWNER, ">a@b.org") == "'>' is not an e-mail address."


def test_empty_people_between_separators_and_missing_cells_are_skipped() -> None:
    assert convert(OWNER, "a@b.org;   ;c@d.org", SETTINGS) == ["a@b.org", "c@d.org"]
    assert convert(OWNER, [None, "a@b.org"], SETTINGS) == ["a@b.org"]


def test_empty_and_missing_choices_in_a_list_are_skipped() -> None:
    assert convert(DEPARTMENTS, "Finance;;Legal", SETTINGS) == [1, 3]
    assert convert(DEPARTMENTS, [None, "Legal"], SETTINGS) == [3]


def test_a_float_of_two_to_the_53_stays_a_float() -> None:
    value = convert(PAGES, float(2**53), SETTINGS)
    assert isinstance(value, float)
    assert display(TEXT, float(2**53), SETTINGS) == "9007199254740992.0"


def test_a_value_of_an_unknown_kind_is_shown_as_its_text() -> None:
    assert display(TEXT, Decimal("1.50"), SETTINGS) == "1.50"


def test_times_with_an_offset_go_to_utc_whatever_the_machines_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    clock.tzset()
    try:
        settings = ValueSettings(time_zone="Europe/Berlin")
        aware = datetime(2021, 3, 4, 8, 0, tzinfo=timezone(timedelta(hours=2)))
        assert convert(WHEN, aware, settings) == "2021-03-04 06:00:00"
        assert convert(WHEN, datetime(2021, 3, 4, 8, 0), settings) == "2021-03-04 07:00:00"
    finally:
        monkeypatch.undo()
        clock.tzset()


# -- corners found by mutation testing ---------------------------------------------------------


def test_a_blank_term_separator_is_refused_in_one_exact_sentence() -> None:
    with pytest.raises(ValueError) as caught:
        ValueSettings(term_separator="  ")
    assert str(caught.value) == "The term separator must be a character such as / or >."


def test_a_long_term_separator_is_split_on_before_its_last_character() -> None:
    settings = ValueSettings(term_separator=" -> ", terms={"termFullPath": ["Records -> Legal"]})
    assert convert(CLASSIFICATION, "records->legal", settings) == "Records -> Legal"
    assert convert(CLASSIFICATION, "Records / Legal", settings) == "Records -> Legal"
    # a separator that begins with another mark is read whole, not as that mark
    dashed = ValueSettings(term_separator="/-", terms={"termFullPath": ["Records/-Legal"]})
    assert convert(CLASSIFICATION, "Records /- Legal", dashed) == "Records/-Legal"


def test_a_misspelt_path_suggests_the_closest_term_only_when_it_is_close() -> None:
    assert problem(CLASSIFICATION, "Records/Finanse/Invoice") == (
        "'Records/Finanse/Invoice' is not a term of Classification; "
        "did you mean 'Records/Finance/Invoices'?"
    )
    assert problem(CLASSIFICATION, "Recs/Fin/Inv") == (
        "'Recs/Fin/Inv' is not a term of Classification in the profile's term list."
    )


def test_repeated_text_is_converted_once_and_lists_come_back_as_copies() -> None:
    calls: list[object] = []

    def inner(raw: object) -> object:
        calls.append(raw)
        if raw == "bad":
            raise ValueProblem("bad is bad.")
        return [raw]

    remembering = values_module._remembering(inner)
    first = remembering("a")
    first.append("changed")
    assert remembering("a") == ["a"]
    for _ in range(2):
        with pytest.raises(ValueProblem, match=r"^bad is bad\.$"):
            remembering("bad")
    assert remembering(7) == [7] and remembering(7) == [7]  # only text is remembered
    assert calls == ["a", "bad", 7, 7]


def test_the_conversion_memory_is_cleared_when_it_holds_its_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(values_module, "_MEMORY", 3)
    calls: list[object] = []
    remembering = values_module._remembering(lambda raw: calls.append(raw) or raw)
    for text in ("a", "b", "c"):
        remembering(text)
    remembering("a")  # still held: three entries is the limit, not over it
    remembering("d")  # a fourth clears the memory first
    remembering("a")
    assert calls == ["a", "b", "c", "d", "a"]
