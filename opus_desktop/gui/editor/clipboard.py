"""Rectangular blocks of cells to and from the clipboard, the way Excel writes them:
tab between cells, CRLF after every row, and a cell holding a tab, a line break or a
quote wrapped in double quotes with its quotes doubled."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

Block = list[list[str]]


def to_text(block: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, dialect="excel-tab", lineterminator="\r\n")
    writer.writerows(block)
    return out.getvalue()


def from_text(text: str) -> Block:
    """The block in `text`, every row as wide as the widest (short rows padded with "")."""
    if not text:
        return []
    reader = csv.reader(io.StringIO(text, newline=""), dialect="excel-tab", strict=False)
    rows = [list(row) for row in reader]
    # A lone line ending (Excel's after the last row) reads as an empty row: drop it.
    while len(rows) > 1 and rows[-1] == []:
        rows.pop()
    if rows == [[]]:
        return [[""]]
    width = max(len(row) for row in rows)
    return [row + [""] * (width - len(row)) for row in rows]
