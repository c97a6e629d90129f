"""Opus's date and time patterns (DESIGN §2), formatted and parsed without the locale.

A format is "<date pattern> <time pattern>", e.g. "yyyy-MM-dd HH:mm:ss" or
"MMMM d,yyyy h:mm:ss tt". One table, `_TOKENS`, translates each run of pattern letters
into a printf piece and a datetime field (for writing) and a regex fragment (for
reading), so both directions always agree.

Reading is forgiving only where nothing can be misread: the date alone (midnight),
seconds left out, `-` `/` `.` or spaces between date parts, 24-hour or AM/PM times, ISO
8601, English month names (full or three letters, any case) in any order, stray spaces.

A date written as digits only is read in a date order (`order`):
  None   the pattern's own day/month order, or a four-digit year first; any other order
         is refused, never guessed (with yyyy-MM-dd, "04/03/2021" could be March or April);
  "DMY", "MDY", "YMD"   that order (a four-digit year first is always read year first);
  "AUTO" whichever order the numbers allow: 25/12/2019 can only be day first, 12/25/2019
         only month first; one that reads both ways (03/04/2019) follows the pattern's own
         day/month order if it has one, else raises AmbiguousDate naming both readings;
  "ASK"  the same, but an ambiguous date always raises AmbiguousDate.
Two-digit years: 00-29 are 2000-2029 and 30-99 are 1930-1999, as Excel reads them by
default (registers hold past dates more often than far-future ones).
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from operator import attrgetter

DATE_PATTERNS: tuple[str, ...] = (
    "yyyy-MM-dd",
    "M-d-yyyy",
    "M-d-yy",
    "MM-dd-yy",
    "d-MMMM-yy",
    "MMMM d,yyyy",
    "d-MMM-yyyy",
    "dd-MM-yyyy",
)
TIME_PATTERNS: tuple[str, ...] = ("HH:mm:ss", "h:mm:ss tt")
DEFAULT_FORMAT = "yyyy-MM-dd HH:mm:ss"

# English whatever the locale (calendar.month_name follows it): Opus expects these names.
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip
_MONTH_BY_NAME: dict[str, int] = {}
for _number, _name in enumerate(MONTH_NAMES, start=1):
    _MONTH_BY_NAME[_name.casefold()] = _number
    _MONTH_BY_NAME[_name[:3].casefold()] = _number
_MONTH_BY_NAME["sept"] = 9

# A sample with day > 12 and an afternoon hour, so examples in messages cannot be misread.
_SAMPLE = datetime(2021, 3, 14, 13, 45, 0)

_HOUR = r"(?P<hour>\d{1,2})"
_MONTH = r"(?P<month>\d{1,2})"
_MONTH_NAME = r"(?P<month_name>[^\W\d_]{3,}\.?)"
_DAY = r"(?P<day>\d{1,2})"

# Pattern letters -> (printf piece, datetime field, regex fragment). Reading is lenient
# about digit counts (d and dd read the same), except that "yyyy" demands four digits: it
# is used for year-first dates, where a two-digit year could be a day.
_TOKENS: dict[str, tuple[str, str, str]] = {
    "yyyy": ("%04d", "year", r"(?P<year>\d{4})"),
    "yy": ("%02d", "year2", r"(?P<year>\d{4}|\d{2})"),
    "MMMM": ("%s", "month_name", _MONTH_NAME),
    "MMM": ("%s", "month_abbr", _MONTH_NAME),
    "MM": ("%02d", "month", _MONTH),
    "M": ("%d", "month", _MONTH),
    "dd": ("%02d", "day", _DAY),
    "d": ("%d", "day", _DAY),
    "HH": ("%02d", "hour", _HOUR),
    "H": ("%d", "hour", _HOUR),
    "hh": ("%02d", "hour12", _HOUR),
    "h": ("%d", "hour12", _HOUR),
    "mm": ("%02d", "minute", r"(?P<minute>\d{2})"),
    "m": ("%d", "minute", r"(?P<minute>\d{1,2})"),
    "ss": ("%02d", "second", r"(?P<second>\d{2})"),
    "s": ("%d", "second", r"(?P<second>\d{1,2})"),
    "tt": ("%s", "ampm", r"(?P<ampm>[AP]\.?\s*M\.?)"),
}
# Fields that are not plain datetime attributes.
_DERIVED: dict[str, Callable[[datetime], object]] = {
    "year2": lambda v: v.year % 100,
    "month_name": lambda v: MONTH_NAMES[v.month - 1],
    "month_abbr": lambda v: MONTH_NAMES[v.month - 1][:3],
    "hour12": lambda v: v.hour % 12 or 12,
    "ampm": lambda v: "AM" if v.hour < 12 else "PM",
}
_TOKEN_RE = re.compile("|".join(sorted(_TOKENS, key=len, reverse=True)))
# Between date parts any of - / . or spaces; around the comma of "MMMM d,yyyy" any spaces.
_LITERALS = {
    "-": r"(?:\s*[-/.]\s*|\s+)",
    "/": r"(?:\s*[-/.]\s*|\s+)",
    ".": r"(?:\s*[-/.]\s*|\s+)",
    ",": r"(?:\s*,\s*|\s+)",
    " ": r"\s+",
    ":": r"\s*:\s*",
}

# The time part is read the same whatever the pattern: 24-hour or AM/PM, seconds and
# fraction optional, then an ISO offset (accepted only when the caller asks for it).
_TIME = (
    rf"{_TOKENS['H'][2]}\s*:\s*{_TOKENS['mm'][2]}"
    rf"(?:\s*:\s*{_TOKENS['ss'][2]}(?:[.,](?P<fraction>\d{{1,9}}))?)?"
    rf"(?:\s*{_TOKENS['tt'][2]})?"
    r"(?:\s*(?P<offset>Z|[+-]\d{2}(?::?\d{2})?))?"
)

# Date shapes with a month name, written in the pattern letters and read through _TOKENS.
_WITH_MONTH_NAME = ("d-MMM-yy", "MMM d,yy", "yyyy-MMM-d")
_ORDERS = ("ymd", "dmy", "mdy")
DATE_ORDERS = ("DMY", "MDY", "YMD")  # what a user may choose
_READINGS = frozenset((*DATE_ORDERS, "AUTO", "ASK"))
# Two-digit years below this are 20xx, the others 19xx (Excel's pivot, see above).
TWO_DIGIT_PIVOT = 30
# Three runs of digits between - / . or spaces: which is the year, day or month is decided
# in Python (_digit_date), so one regex serves every order.
_SEPARATOR = r"(?:\s*[-/.]\s*|\s+)"
_DIGIT_PARTS = rf"(?P<p1>\d{{1,4}}){_SEPARATOR}(?P<p2>\d{{1,2}}){_SEPARATOR}(?P<p3>\d{{1,4}})"


def all_formats() -> list[str]:
    """Every date pattern with every time pattern, the default first."""
    return [f"{date} {time}" for date in DATE_PATTERNS for time in TIME_PATTERNS]


_ALL_FORMATS = frozenset(all_formats())


def check_format(pattern: str) -> None:
    """Raise ValueError unless `pattern` is one of Opus's date and time formats."""
    if pattern not in _ALL_FORMATS:
        raise ValueError(
            f"'{pattern}' is not one of Opus's date formats; use one of: "
            + ", ".join(all_formats())
            + "."
        )


@dataclass(frozen=True)
class _Translation:
    pattern: str
    format: Callable[[datetime], str]
    order: str  # "ymd", "dmy" or "mdy": how the pattern itself orders a date in digits
    example: str


class AmbiguousDate(ValueError):
    """A date in digits that reads both day first and month first (03/04/2019)."""


def _pieces(pattern: str) -> list[tuple[bool, str]]:
    """Split a pattern into (is_token, text) pieces."""
    pieces: list[tuple[bool, str]] = []
    position = 0
    for match in _TOKEN_RE.finditer(pattern):
        if match.start() > position:
            pieces.append((False, pattern[position : match.start()]))
        pieces.append((True, match.group()))
        position = match.end()
    if position < len(pattern):
        pieces.append((False, pattern[position:]))
    return pieces


def _formatter(pattern: str) -> Callable[[datetime], str]:
    """A function writing a datetime in `pattern`: one printf string, one tuple of fields."""
    pieces = _pieces(pattern)
    printf = "".join(_TOKENS[t][0] if token else t.replace("%", "%%") for token, t in pieces)
    fields = [_TOKENS[text][1] for token, text in pieces if token]
    if not any(name in _DERIVED for name in fields):
        plain = attrgetter(*fields)  # the default format: one C call for all fields
        return lambda value: printf % plain(value)
    getters = [_DERIVED.get(name) or attrgetter(name) for name in fields]
    return lambda value: printf % tuple([get(value) for get in getters])


def _regex(shape: str) -> str:
    return "".join(
        _TOKENS[text][2] if token else "".join(_LITERALS.get(c, re.escape(c)) for c in text)
        for token, text in _pieces(shape)
    )


def _shape(date_regex: str) -> re.Pattern[str]:
    return re.compile(rf"\s*{date_regex}(?:(?:\s+|\s*T\s*){_TIME})?\s*", re.IGNORECASE)


# The same for every pattern: digits first (the common case), then month names.
_SHAPES = (_shape(_DIGIT_PARTS), *(_shape(_regex(shape)) for shape in _WITH_MONTH_NAME))


@lru_cache(maxsize=64)
def _translate(pattern: str) -> _Translation:
    # Only dates use y, M (minutes are m) and d, so their order is the date's order.
    letters = [text[0] for token, text in _pieces(pattern) if token and text[0] in "yMd"]
    order = "".join(letters).lower()
    order = order if order in _ORDERS else "ymd"
    write = _formatter(pattern)
    return _Translation(pattern, write, order, write(_SAMPLE))


def _known(pattern: str) -> _Translation:
    if pattern not in _ALL_FORMATS and pattern not in DATE_PATTERNS:
        check_format(pattern)
    return _translate(pattern)


def pattern_order(pattern: str) -> str:
    """DMY, MDY or YMD: how `pattern` itself orders a date (MMMM d,yyyy is MDY)."""
    return _known(pattern).order.upper()


def formatter(pattern: str = DEFAULT_FORMAT) -> Callable[[datetime], str]:
    """format_datetime for one pattern, checked once: for writing many values."""
    return _known(pattern).format


def format_datetime(value: datetime, pattern: str = DEFAULT_FORMAT) -> str:
    """Write `value` in an Opus format or a date pattern alone, dropping fractions of a second."""
    return _known(pattern).format(value)


def parse_datetime(
    text: str,
    pattern: str = DEFAULT_FORMAT,
    *,
    utc_offsets: bool = False,
    order: str | None = None,
) -> datetime:
    """Read `text` written in `pattern` (or any unambiguous form); raise ValueError with a sentence.

    With utc_offsets=True a time carrying "Z" or an offset such as +02:00 is accepted and
    returned as naive UTC; otherwise it is refused, as a naive result would hide that it
    is not the sheet's local time. `order` is the date order of dates in digits (see the
    module's docstring); an ambiguous one raises AmbiguousDate, a ValueError.
    """
    value, offset = parse_with_offset(text, pattern, order)
    if offset is None:
        return value
    if not utc_offsets:
        reason = "it has a time zone offset, accepted only when the sheet's time zone is set"
        raise ValueError(_not_a_date(text, pattern, reason))
    return value - offset


def parse_with_offset(
    text: str, pattern: str = DEFAULT_FORMAT, order: str | None = None
) -> tuple[datetime, timedelta | None]:
    """Like parse_datetime, but return the time as written and its UTC offset (None if none)."""
    translation = _known(pattern)
    if order is not None and order not in _READINGS:
        raise ValueError(f"'{order}' is not a date order: use DMY, MDY or YMD.")
    stripped = text.strip()
    if len(stripped) >= 10 and stripped[4] == "-" and stripped[7] == "-":
        # ISO 8601 is unambiguous whatever the pattern, and Python reads it fast.
        try:
            value = datetime.fromisoformat(stripped)
        except ValueError:
            pass  # e.g. 2021-02-31: the reading below explains what is wrong
        else:
            offset = value.utcoffset()
            return (value if offset is None else value.replace(tzinfo=None)), offset
    match = None
    for shape in _SHAPES:
        match = shape.fullmatch(text)
        if match is not None:
            break
    if match is None:
        raise ValueError(_not_a_date(text, pattern, _why_unreadable(text, translation)))
    try:
        return _fields(match, translation.order, order)
    except _Unread:
        reason = _why_unreadable(text, translation, order)
        raise ValueError(_not_a_date(text, pattern, reason)) from None
    except _Invalid as exc:
        raise ValueError(_not_a_date(text, pattern, str(exc))) from None
    except _Ambiguous as exc:
        raise AmbiguousDate(_ambiguous(text, exc.args)) from None


class _Invalid(Exception):
    """A reason why matched text is still not a date, e.g. there is no 31 February."""


class _Unread(Exception):
    """Digits in an order the pattern does not allow (None order, year-first pattern)."""


class _Ambiguous(Exception):
    """Day first and month first are both dates: args are (year, first, second)."""


def _ambiguous(text: str, parts: tuple[int, ...]) -> str:
    year, first, second = parts
    day_first = f"{first} {MONTH_NAMES[second - 1]} {year}"
    month_first = f"{second} {MONTH_NAMES[first - 1]} {year}"
    return (
        f"'{text.strip()}' could be {day_first} or {month_first}: "
        "choose the date order: day first (DMY) or month first (MDY)."
    )


def full_year(text: str) -> int:
    """A year as written: two digits are 2000-2068 (00-68) or 1969-1999 (69-99)."""
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < TWO_DIGIT_PIVOT else 1900
    return year


def _digit_date(groups: dict[str, str], pattern_order: str, order: str | None) -> tuple[int, ...]:
    """(year, month, day) of a date in digits, read in `order` (see the module docstring)."""
    p1, p2, p3 = groups["p1"], groups["p2"], groups["p3"]
    if len(p1) > 2 or order == "YMD":
        if len(p1) == 3 or len(p3) > 2 or (order is None and len(p1) != 4):
            raise _Unread
        if not 1 <= int(p2) <= 12:
            raise _Invalid(f"there is no month {int(p2)}")
        return full_year(p1), int(p2), int(p3)
    if len(p3) not in (2, 4):
        raise _Unread
    year, first, second = full_year(p3), int(p1), int(p2)
    if order is None:
        if pattern_order == "ymd":
            raise _Unread
        reading = pattern_order
    elif order == "DMY" or order == "MDY":
        reading = order.lower()
    elif first == second or (first > 12 and second > 12):
        reading = pattern_order if pattern_order != "ymd" else "dmy"
    elif first > 12:
        reading = "dmy"
    elif second > 12:
        reading = "mdy"
    elif order == "AUTO" and pattern_order != "ymd":
        reading = pattern_order
    else:
        raise _Ambiguous(year, first, second)
    month = second if reading == "dmy" else first
    if not 1 <= month <= 12:
        if order is None:
            first_part = "the day" if reading == "dmy" else "the month"
            raise _Invalid(f"there is no month {month} (in this format {first_part} comes first)")
        if order in ("DMY", "MDY"):
            first_part = "the day" if reading == "dmy" else "the month"
            raise _Invalid(
                f"there is no month {month} (with the date order {order} {first_part} comes first)"
            )
        raise _Invalid(f"neither {first} nor {second} can be a month")
    return year, month, first if reading == "dmy" else second


def _fields(
    match: re.Match[str], pattern_order: str, order: str | None
) -> tuple[datetime, timedelta | None]:
    groups = match.groupdict()
    if groups.get("p1") is not None:
        year, month, day = _digit_date(groups, pattern_order, order)
    else:  # the shapes with a month name
        year, day = full_year(groups["year"]), int(groups["day"])
        name = groups["month_name"].rstrip(".")
        if name.casefold() not in _MONTH_BY_NAME:
            raise _Invalid(f"'{name}' is not a month")
        month = _MONTH_BY_NAME[name.casefold()]
    if year < 1:
        raise _Invalid("there is no year 0")
    if not 1 <= day <= 28 and not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise _Invalid(f"{MONTH_NAMES[month - 1]} {year} has no day {day}")

    hour = minute = second = microsecond = 0
    if groups["hour"] is not None:
        hour, minute = int(groups["hour"]), int(groups["minute"])
        second = int(groups["second"] or 0)
        fraction = groups["fraction"]
        microsecond = int(fraction[:6].ljust(6, "0")) if fraction else 0
        ampm = groups["ampm"]
        if ampm is not None:
            if not 1 <= hour <= 12:
                raise _Invalid("with AM or PM the hour runs from 1 to 12")
            hour = hour % 12 + (12 if ampm[0] in "pP" else 0)
        if hour > 23:
            raise _Invalid(f"there is no hour {hour}")
        if minute > 59 or second > 59:
            raise _Invalid("minutes and seconds run from 0 to 59")
    offset = _offset(groups["offset"])
    return datetime(year, month, day, hour, minute, second, microsecond), offset


def _offset(text: str | None) -> timedelta | None:
    if text is None:
        return None
    if text.upper() == "Z":
        return timedelta(0)
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise _Invalid(f"{text} is not a time zone offset")
    size = timedelta(hours=hours, minutes=minutes)
    return size if text[0] == "+" else -size


_DIGITS_DATE = re.compile(
    r"\s*\d{1,2}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*(?:\d{4}|\d{2})(?:[\sT].*)?", re.DOTALL
)


def _why_unreadable(text: str, translation: _Translation, order: str | None = None) -> str:
    if order == "YMD" and _DIGITS_DATE.fullmatch(text):
        return f"with the date order YMD the year comes first, as in {translation.example}"
    if order is None and translation.order == "ymd" and _DIGITS_DATE.fullmatch(text):
        return f"with this format the year comes first, as in {translation.example}"
    return f"for example {translation.example}"


def _not_a_date(text: str, pattern: str, reason: str) -> str:
    return f"'{text.strip()}' is not a date in the format {pattern}: {reason}."


def round_to_second(value: datetime) -> datetime:
    """The nearest whole second: Excel stores 08:00:07 as 08:00:06.99999..."""
    if not value.microsecond:
        return value
    if value.microsecond >= 500_000:
        value += timedelta(seconds=1)
    return value.replace(microsecond=0)


_EXCEL_EPOCH = datetime(1899, 12, 31)
_EXCEL_LAST_DAY = 2_958_465  # 9999-12-31


def from_excel_serial(days: float) -> datetime:
    """An Excel date number (1900 date system) as a datetime, to the nearest second.

    Excel counts 1 January 1900 as day 1 and, copying Lotus 1-2-3, believes 1900 was a
    leap year: day 60 is a 29 February 1900 that never existed, and every later day
    number is one too high.
    """
    if isinstance(days, bool) or not math.isfinite(days):
        raise ValueError(f"{days!r} is not an Excel date number.")
    if not -1e9 < days < 1e9:  # far outside Excel's range; also keeps round() finite
        raise ValueError(
            f"{days:g} is not an Excel date: Excel's dates run from 1 (1 January 1900) "
            f"to {_EXCEL_LAST_DAY} (31 December 9999)."
        )
    seconds = round(days * 86_400)
    whole_days = seconds // 86_400
    shown = str(int(days)) if days == int(days) else repr(days)
    if whole_days < 1 or whole_days > _EXCEL_LAST_DAY:
        raise ValueError(
            f"{shown} is not an Excel date: Excel's dates run from 1 (1 January 1900) "
            f"to {_EXCEL_LAST_DAY} (31 December 9999)."
        )
    if whole_days == 60:
        raise ValueError(f"{shown} is Excel's 29 February 1900, a day that never existed.")
    if whole_days > 60:
        seconds -= 86_400
    return _EXCEL_EPOCH + timedelta(seconds=seconds)
