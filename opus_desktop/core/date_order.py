"""Which way round a sheet writes its dates in digits: day first, month first, year first.

A user may choose the order (`--date-order DMY|MDY|YMD`, the import dialog's "Date order",
saved with the mapping as "dateOrder"). Without a choice each date column's order is
decided from its own values, in one pass over them (`Evidence.see`):

- a first number above 12 (25/12/2019) can only be day first;
- a second number above 12 (12/25/2019) can only be month first;
- a four-digit first number (2019-12-25) is year first, and says nothing about the others.

A column with day-first and month-first dates contradicts itself; a column with nothing
to decide by (every date like 03/04/2019) cannot be read either way. In both cases each
ambiguous cell is a problem naming both readings: a day and month are never swapped on
a guess. When no value decides, a profile whose own date format puts the day or month
first (dd-MM-yyyy) reads the ambiguous dates in that order, as it always has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from opus_desktop.core import datetimes

DMY, MDY, YMD = datetimes.DATE_ORDERS
ORDERS = datetimes.DATE_ORDERS
AMBIGUOUS = "?"  # what `kind` says of 03/04/2019
# For ValueSettings.date_order: a contradicting or undecided column, whatever the pattern.
ASK = "ASK"

# How each order reads, with a date that cannot be misread.
EXAMPLES = {DMY: "25/12/2019", MDY: "12/25/2019", YMD: "2019-12-25"}
NAMES = {DMY: "day first", MDY: "month first", YMD: "year first"}
OPTION = {DMY: "--date-order DMY", MDY: "--date-order MDY", YMD: "--date-order YMD"}

# The date part of a date in digits, as datetimes reads it (the time is not looked at).
_DIGITS = re.compile(r"\s*(\d{1,4})(?:\s*[-/.]\s*|\s+)(\d{1,2})(?:\s*[-/.]\s*|\s+)(\d{1,4})")


def described(order: str) -> str:
    """'day first (25/12/2019)'."""
    return f"{NAMES[order]} ({EXAMPLES[order]})"


def check_order(text: str | None) -> str | None:
    """The order named by `text` (any case), None for none; ValueError with a sentence."""
    if text is None or not text.strip():
        return None
    order = text.strip().upper()
    if order not in ORDERS:
        raise ValueError(f"'{text}' is not a date order: use DMY, MDY or YMD.")
    return order


def kind(text: str) -> str | None:
    """What one value says of its column's order: DMY, MDY, YMD, AMBIGUOUS, or None when it
    says nothing (not a date in digits, 05/05/2019, or no reading at all: 25/13/2019)."""
    match = _DIGITS.match(text)
    if match is None:
        return None
    first, second, last = match.groups()
    if len(first) == 4:
        return YMD
    if len(first) > 2 or len(last) not in (2, 4):
        return None
    day_first = int(first) > 12
    month_first = int(second) > 12
    if day_first:
        return None if month_first else DMY
    if month_first:
        return MDY
    return None if int(first) == int(second) else AMBIGUOUS


@dataclass
class Evidence:
    """What one column's values say, with the first row saying each."""

    first: dict[str, tuple[int, str]] = field(default_factory=dict)  # order -> (row, text)
    ambiguous: int = 0  # cells that read both ways
    first_ambiguous: tuple[int, str] | None = None

    def see(self, text: str, row: int) -> str | None:
        """Take one cell into account; return its kind."""
        found = kind(text)
        if found is AMBIGUOUS:
            self.ambiguous += 1
            if self.first_ambiguous is None:
                self.first_ambiguous = (row, text.strip())
        elif found is not None and found not in self.first:
            self.first[found] = (row, text.strip())
        return found

    @property
    def contradicts(self) -> bool:
        return DMY in self.first and MDY in self.first


@dataclass(frozen=True)
class Decision:
    """A column's date order: `order` goes to ValueSettings.date_order; `sentence` says why."""

    column: str
    order: str | None  # DMY, MDY, YMD, ASK, or None (the pattern's own order, or automatic)
    sentence: str | None  # None when there is nothing worth saying (ISO dates, Excel dates)


def decide(column: str, evidence: Evidence, pattern: str) -> Decision:
    """The order a column's values are read in, from everything `evidence` saw."""
    if evidence.contradicts:
        day_row, day_text = evidence.first[DMY]
        month_row, month_text = evidence.first[MDY]
        told = (
            f"{column}: the dates contradict each other: row {day_row} is day first "
            f"('{day_text}'), row {month_row} month first ('{month_text}')"
        )
        return Decision(column, ASK, told + _ambiguous_tail(evidence))
    for order in (DMY, MDY):
        if order in evidence.first:
            row, _ = evidence.first[order]
            return Decision(
                column, order, f"{column}: read {described(order)}, decided by row {row}"
            )
    if not evidence.ambiguous:
        return Decision(column, None, None)  # year first, ISO, Excel dates: nothing to say
    own = datetimes.pattern_order(pattern)
    if own != YMD:
        return Decision(
            column,
            own,
            f"{column}: no date tells day from month; read {described(own)}, as the "
            f"profile's date format {pattern} does",
        )
    row, text = evidence.first_ambiguous or (0, "")
    return Decision(
        column,
        ASK,
        f"{column}: no date tells day from month (row {row}: '{text}')" + _ambiguous_tail(evidence),
    )


def chosen(column: str, order: str) -> Decision:
    return Decision(column, order, f"{column}: read {described(order)}, as chosen")


def _ambiguous_tail(evidence: Evidence) -> str:
    if not evidence.ambiguous:
        return ""
    if evidence.ambiguous == 1:
        return "; 1 date reads both ways and stays a problem until the date order is chosen"
    return (
        f"; {evidence.ambiguous} dates read both ways and stay problems until the date order "
        "is chosen"
    )
