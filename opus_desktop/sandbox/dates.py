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

    def __repr__(self) -> str:
        return f"DatePattern({self.pattern!r})"

    def format(self, value: datetime) -> str:
        return "".join(
            _format_token(text, value) if is_token else text for is_token, text in self._pieces
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


def _format_token(token: str, value: datetime) -> str:
    hour12 = value.hour % 12 or 12
    match token:
        case "yyyy":
            return f"{value.year:04d}"
        case "yy":
            return f"{value.year % 100:02d}"
        case "MMMM":
            return MONTHS[value.month - 1]
        case "MMM":
            return MONTHS[value.month - 1][:3]
        case "MM":
            return f"{value.month:02d}"
        case "M":
            return str(value.month)
        case "dd":
            return f"{value.day:02d}"
        case "d":
            return str(value.day)
        case "HH":
            return f"{value.hour:02d}"
        case "H":
            return str(value.hour)
        case "hh":
            return f"{hour12:02d}"
        case "h":
            return str(hour12)
        case "mm":
            return f"{value.minute:02d}"
        case "m":
            return str(value.minute)
        case "ss":
            return f"{value.second:02d}"
        case "s":
            return str(value.second)
        case _:  # "tt"
            return "AM" if value.hour < 12 else "PM"
