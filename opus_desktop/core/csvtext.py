"""The apostrophe the app's CSV files put before text Excel would run, and taking it off again.

Excel runs a CSV cell that starts with = + - @ as a formula, so `core/reports.py` writes
such text (unless it is a plain number) with a leading apostrophe: `'=HYPERLINK("x")`.
Text whose own apostrophes come before such a start gets one more, so that taking one
off always gives the value back: `'=x` is written `''=x`. Other text is written as it is
(`'Twas` stays `'Twas`), so a problem sentence quoting a value reads as it should.

A CSV file in which at least one cell got an apostrophe starts with one line, a single
cell that begins with `MARKER_START` (see `MARKER`). That line is what tells the app's
own file from anyone else's: only in a file that starts with it does reading take the
apostrophe off again (`unprotect`), so an apostrophe a user typed in their own CSV
stays. The line is one cell, so the header row search skips it as it skips a title.
Excel keeps it when the file is saved again (as `MARKER,,,`), and so does the check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

MARKER_START = "Opus Desktop report:"
# No comma, semicolon, tab or quote: the line is written as it is, in any CSV dialect.
MARKER = (
    f"{MARKER_START} a ' was put before each text that starts with = + - @ "
    "(so that Excel runs no formula) and Opus Desktop takes it off when it reads this file."
)
_RISKY = ("=", "+", "-", "@")
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")


def needs_protection(text: str) -> bool:
    """Whether `text` is written to CSV with a leading apostrophe."""
    core = text.lstrip("'")  # its own apostrophes, then what Excel would look at
    return core[:1] in _RISKY and not _NUMBER.fullmatch(core)


def protect(text: str) -> str:
    """`text` as a CSV cell: with a leading apostrophe if Excel would run it."""
    return "'" + text if needs_protection(text) else text


def unprotect(value: str) -> str:
    """A cell of the app's own CSV file as it was before `protect` (other text as it is)."""
    if value[:1] == "'" and needs_protection(value[1:]):
        return value[1:]
    return value


def unprotect_cells(cells: Iterable[object]) -> list[object]:
    """One row of the app's own CSV file, each text cell as `unprotect` gives it."""
    return [unprotect(cell) if isinstance(cell, str) else cell for cell in cells]


def is_own_report(first_row: Sequence[object]) -> bool:
    """Whether a CSV file whose first row is `first_row` (its cells, as read) is one the
    app wrote with apostrophes to take off: one cell starting with MARKER_START."""
    filled = [c for c in first_row if c is not None and (not isinstance(c, str) or c.strip())]
    return (
        len(filled) == 1
        and isinstance(filled[0], str)
        and filled[0].strip().lstrip("\ufeff").startswith(MARKER_START)
    )


def is_own_report_text(text: str) -> bool:
    """The same from the file's decoded text (its first line only is looked at)."""
    line = text[:1000].split("\n", 1)[0].rstrip("\r").lstrip("\ufeff")
    cell = line.rstrip(",;\t").strip().strip('"')
    return cell.startswith(MARKER_START) and not any(d in cell for d in ",;\t")
