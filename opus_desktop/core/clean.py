"""Cells cleaned as the sheet means them: what `sheets` makes of every cell calamine reads.

Text is trimmed and empty text made None, 12.0 made 12, a date made a datetime at
midnight, a datetime rounded to the nearest second (Excel keeps times as fractions of a
day, so 08:00:07 can come back as 08:00:06.999994). Cleaning twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from opus_desktop.core.sheet_cells import CellProblem

# A CellProblem is a cell that holds an error or an uncalculated formula, not a value.
CellValue = str | int | float | bool | datetime | time | timedelta | CellProblem | None


def is_blank(cells: list[Any]) -> bool:
    """Whether every cell is empty once cleaned (None, "" or only spaces)."""
    for value in cells:
        if value is None or value == "":
            continue
        if type(value) is str and value.isspace():
            continue
        return False
    return True


def clean_value(value: Any) -> CellValue:
    """One cell as `clean_cells` makes it."""
    kind = type(value)
    if kind is str:
        return value.strip() or None
    if kind is float:
        return int(value) if value.is_integer() else value
    if kind is datetime:
        return _round_second(value) if value.microsecond else value
    if kind is date:
        return datetime(value.year, value.month, value.day)
    if kind is time:
        return _round_time(value) if value.microsecond else value
    return value  # type: ignore[no-any-return]


def clean_cells(cells: Iterable[Any]) -> list[CellValue]:
    """Normalise one row of raw cells (see the module's docstring); this is the hot loop."""
    out: list[CellValue] = []
    append = out.append
    for value in cells:
        kind = type(value)
        if kind is str:
            append(value.strip() or None)
        elif kind is float:
            append(int(value) if value.is_integer() else value)
        elif kind is datetime:
            append(_round_second(value) if value.microsecond else value)
        elif kind is date:
            append(datetime(value.year, value.month, value.day))
        elif kind is time:
            append(_round_time(value) if value.microsecond else value)
        else:
            append(value)
    return out


def _round_second(value: datetime) -> datetime:
    return (value + timedelta(microseconds=500_000)).replace(microsecond=0)


def _round_time(value: time) -> time:
    rounded = _round_second(datetime.combine(date(2000, 1, 1), value))
    # 23:59:59.6 would round into the next day; a time of day stops at 23:59:59.
    return rounded.time() if rounded.day == 1 else time(23, 59, 59)
