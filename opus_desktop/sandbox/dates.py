"""The tenant's date and time pattern, in Opus's own pattern letters.

The sandbox has its own small translator (it must not share the client's, so that each
checks the other): a pattern such as "M-d-yyyy h:mm:ss tt" is split into tokens; a
token formats a part of a datetime and matches it with a regular expression. Parsing is
strict: the text must be exactly what formatting the parsed value gives back, so
"2024-4-1 0:59:34" is refused for "yyyy-MM-dd HH:mm:ss".
"""

from __future__ import annotations

import re
from datetime import datetime

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# token -> regular expression for its text
_TOKENS: dict[str, str] = {
    "yyyy": r"\d{4}",
    "yy": r"\d{2}",
    "MMMM": "|".join(MONTHS),
    "MMM": "|".join(m[:3] for m in MONTHS),
    "MM": r"\d{2}",
    "M": r"\d{1,2}",
    "dd": r"\d{2}",
    "d": r"\d{1,2}",
    "HH": r"\d{2}",
    "H": r"\d{1,2}",
    "hh": r"\d{2}",
    "h": r"\d{1,2}",
    "mm": r"\d{2}",
    "m": r"\d{1,2}",
    "ss": r"\d{2}",
    "s": r"\d{1,2}",
    "tt": "AM|PM",
}
# token -> its place in a str.format template over the fields that `format` fills in
_FORMATS: dict[str, str] = {
    "yyyy": "{year:04d}",
    "yy": "{short_year:02d}",
    "MMMM": "{month_name}",
    "MMM": "{month_abbr}",
    "MM": "{month:02d}",
    "M": "{month}",
    "dd": "{day:02d}",
    "d": "{day}",
    "HH": "{hour:02d}",
    "H": "{hour}",
    "hh": "{hour12:02d}",
    "h": "{hour12}",
    "mm": "{minute:02d}",
    "m": "{minute}",
    "ss": "{second:02d}",
    "s": "{second}",
    "tt": "{ampm}",
}
_LETTERS = set("yMdHhmst")
# Two-digit years: 00-49 are 2000-2049, 50-99 are 1950-1999 (as .NET's default window).
_PIVOT = 50


def _tokenize(pattern: str) -> list[tuple[bool, str]]:
    """(is_token, text) pieces; runs of one pattern letter form a token."""
    pieces: list[tuple[bool, str]] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        j = i
        while j < len(pattern) and pattern[j] == char:
            j += 1
        run = pattern[i:j]
        if char in _LETTERS:
            if run not in _TOKENS:
                raise ValueError(f"The date pattern {pattern!r} has an unknown part {run!r}.")
            pieces.append((True, run))
        elif char.isalpha():
            raise ValueError(f"The date pattern {pattern!r} has an unknown letter {char!r}.")
        else:
            pieces.append((False, run))
        i = j
    return pieces


class DatePattern:
    """One Opus date-time pattern: format a datetime, parse text strictly."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._pieces = _tokenize(pattern)
        listed = [text for is_token, text in self._pieces if is_token]
        tokens = set(listed)
        if len(tokens) != len(listed):
            raise ValueError(f"The date pattern {pattern!r} repeats a part.")
        groups = (
            ("yyyy", "yy"),
            ("MMMM", "MMM", "MM", "M"),
            ("dd", "d"),
            ("HH", "H", "hh", "h"),
            ("mm", "m"),
            ("ss", "s"),
        )
        for group in groups:
            if len(tokens.intersection(group)) != 1:
                raise ValueError(
                    f"The date pattern {pattern!r} must give the year, month, day, hour, "
                    "minute and second exactly once."
                )
        twelve_hour = bool(tokens & {"hh", "h"})
        if twelve_hour != ("tt" in tokens):
            raise ValueError(
                f"The date pattern {pattern!r} must use 'h' or 'hh' together with 'tt'."
            )
        regex = "".join(
            f"(?P<{text}>{_TOKENS[text]})" if is_token else re.escape(text)
            for is_token, text in self._pieces
        )
        self._regex = re.compile(regex)
        self._template = "".join(
            _FORMATS[text] if is_token else text.replace("{", "{{").replace("}", "}}")
            for is_token, text in self._pieces
        )

    def __repr__(self) -> str:
        return f"DatePattern({self.pattern!r})"

    def format(self, value: datetime) -> str:
        return self._template.format(
            year=value.year,
            short_year=value.year % 100,
            month_name=MONTHS[value.month - 1],
            month_abbr=MONTHS[value.month - 1][:3],
            month=value.month,
            day=value.day,
            hour=value.hour,
            hour12=value.hour % 12 or 12,
            minute=value.minute,
            second=value.second,
            ampm="AM" if value.hour < 12 else "PM",
        )

    def parse(self, text: str) -> datetime:
        """The datetime `text` stands for; ValueError unless it is exactly in this pattern."""
        match = self._regex.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not a date and time in the format {self.pattern!r}.")
        parts = match.groupdict()
        if "yyyy" in parts:
            year = int(parts["yyyy"])
        else:
            short = int(parts["yy"])
            year = 2000 + short if short < _PIVOT else 1900 + short
        if "MMMM" in parts:
            month = MONTHS.index(parts["MMMM"]) + 1
        elif "MMM" in parts:
            month = [m[:3] for m in MONTHS].index(parts["MMM"]) + 1
        else:
            month = int(parts.get("MM") or parts["M"])
        day = int(parts.get("dd") or parts["d"])
        if "tt" in parts:
            hour12 = int(parts.get("hh") or parts["h"])
            if not 1 <= hour12 <= 12:
                raise ValueError(f"{text!r} has an hour outside 1-12.")
            hour = hour12 % 12 + (12 if parts["tt"] == "PM" else 0)
        else:
            hour = int(parts.get("HH") or parts["H"])
        minute = int(parts.get("mm") or parts["m"])
        second = int(parts.get("ss") or parts["s"])
        try:
            value = datetime(year, month, day, hour, minute, second)
        except ValueError:
            raise ValueError(f"{text!r} is not a real date and time.") from None
        if self.format(value) != text:
            raise ValueError(f"{text!r} is not written exactly in the format {self.pattern!r}.")
        return value
