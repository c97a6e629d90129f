"""Cells that hold no value but a problem: an Excel error, or a formula never calculated.

python-calamine returns "" for both, the same as for an empty cell, so a #DIV/0! would
read as a blank. For .xlsx and .xlsm the sheet's XML is scanned once more for them (a
regular expression over the decompressed part, a megabyte at a time, which costs about
what calamine's own read does); `cell_marks` does the same for .xls, .xlsb and .ods.
"""

from __future__ import annotations

import html
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20
_NS = rb"(?:[A-Za-z_][\w.-]*:)?"  # .NET writers prefix every element: <x:c>, <x:f>
# A cell typed "e" (error) with its cached error text.
_ERROR_CELL = re.compile(
    rb"<" + _NS + rb"c\s([^>]*?\bt=\"e\"[^>/]*)>(.*?)</" + _NS + rb"c>", re.DOTALL
)
# A cell whose formula is not followed by a cached value.
_UNCALCULATED = re.compile(
    rb"<" + _NS + rb"c\s([^>/]*)>\s*<" + _NS + rb"f\b[^>]*?(?:/>|>([^<]*)</" + _NS + rb"f>)"
    rb"(?!\s*<" + _NS + rb"v>[^<])"
)
_VALUE = re.compile(rb"<" + _NS + rb"v>([^<]*)</")
_REF = re.compile(rb"\br=\"([A-Z]{1,3})([0-9]+)\"")
_STRING_TYPE = re.compile(rb"\bt=\"(?:str|inlineStr|s)\"")
_ATTRIBUTE = re.compile(r"([\w:]+)\s*=\s*\"([^\"]*)\"")
_ROW_END = b"row>"


@dataclass(frozen=True, slots=True)
class ExcelError:
    """A cell Excel shows as an error: #N/A, #DIV/0!, #REF!, #VALUE!, #NAME?, #NUM!, #NULL!."""

    code: str

    def __str__(self) -> str:
        return self.code

    @property
    def problem(self) -> str:
        return f"The cell holds the Excel error {self.code}, not a value: correct it in Excel."


@dataclass(frozen=True, slots=True)
class Uncalculated:
    """A formula cell saved without its result (written by a program, never opened in Excel)."""

    formula: str = ""  # without "=", "" for a shared formula

    def __str__(self) -> str:
        return f"={self.formula}" if self.formula else "=?"

    @property
    def problem(self) -> str:
        return "The cell holds a formula Excel has not calculated: open and save the file in Excel."


CellProblem = ExcelError | Uncalculated
Marks = dict[tuple[int, int], CellProblem]  # (row, column), both from 0


def xlsx_problems(path: Path, sheet: str) -> Marks:
    """The error and uncalculated cells of one sheet of an .xlsx/.xlsm file, by place.

    A part that cannot be found or read gives none: calamine has read the cells already,
    so whatever is wrong with the file has been said.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_part(archive, sheet)
            if part is None:
                return {}
            with archive.open(part) as stream:
                return _scan(stream)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, EOFError):
        return {}


def with_problems(
    rows: Iterator[list[Any]], marks: Marks, first_column: int
) -> Iterator[list[Any]]:
    """calamine's rows (from row 0, cells from `first_column`) with the problem cells put in."""
    by_row: dict[int, list[tuple[int, CellProblem]]] = {}
    for (row, column), problem in marks.items():
        if column >= first_column:
            by_row.setdefault(row, []).append((column - first_column, problem))
    count = 0
    for index, cells in enumerate(rows):
        count = index + 1
        found = by_row.pop(index, None)
        yield _put(cells, found) if found else cells
    # An uncalculated formula counts as empty to calamine, so its row may lie past the end.
    for index in sorted(by_row):
        while count < index:
            yield []
            count += 1
        yield _put([], by_row[index])
        count += 1


def _put(cells: list[Any], found: list[tuple[int, CellProblem]]) -> list[Any]:
    cells = list(cells)
    for column, problem in found:
        if column >= len(cells):
            cells.extend([""] * (column + 1 - len(cells)))
        cells[column] = problem
    return cells


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding the named sheet, through workbook.xml and its relationships."""
    book = archive.read("xl/workbook.xml").decode("utf-8", "replace")
    rel_id = None
    for match in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)>", book):
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        if html.unescape(attributes.get("name", "")) == sheet:
            rel_id = next((v for k, v in attributes.items() if k.endswith(":id")), None)
            break
    if rel_id is None:
        return None
    return relationship_target(archive, "xl/_rels/workbook.xml.rels", rel_id)


def relationship_target(archive: zipfile.ZipFile, rels_part: str, rel_id: str) -> str | None:
    """The zip member a workbook's relationship points to (.xlsx and .xlsb alike)."""
    rels = archive.read(rels_part).decode("utf-8", "replace")
    for match in re.finditer(r"<(?:\w+:)?Relationship\b([^>]*)>", rels):
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        if attributes.get("Id") == rel_id:
            target = html.unescape(attributes.get("Target", ""))
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    return None


def _scan(stream: Any) -> Marks:
    marks: Marks = {}
    rest = b""
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            _scan_text(rest, marks)
            return marks
        text = rest + chunk
        # Cut after the last whole row, so no cell is split between two scans.
        cut = text.rfind(_ROW_END)
        if cut < 0:
            rest = text
            continue
        cut += len(_ROW_END)
        _scan_text(text[:cut], marks)
        rest = text[cut:]


def _scan_text(text: bytes, marks: Marks) -> None:
    # Errors are rare: each t="e" is looked at from the start of its cell.
    position = text.find(b't="e"')
    while position >= 0:
        match = _ERROR_CELL.match(text, text.rfind(b"<", 0, position))
        if match:
            value = _VALUE.search(match.group(2))
            place = _place(match.group(1))
            if value and value.group(1) and place:
                marks[place] = ExcelError(html.unescape(value.group(1).decode("utf-8", "replace")))
        position = text.find(b't="e"', position + 5)
    if _all_calculated(text):
        return
    for match in _UNCALCULATED.finditer(text):
        attributes = match.group(1)
        place = _place(attributes)
        # A formula whose result is empty text is saved with an empty value.
        if place and not _STRING_TYPE.search(attributes) and b't="e"' not in attributes:
            formula = (match.group(2) or b"").decode("utf-8", "replace")
            marks[place] = Uncalculated(html.unescape(formula))


def _all_calculated(text: bytes) -> bool:
    """Whether every formula is followed at once by a value (a count, much faster than
    the regular expression; XML with prefixes or spaces between tags gets the latter)."""
    if b":f" in text:
        return False
    if b"<f" not in text:  # one pass, where the counts below take two: no formula at all
        return True
    formulas = text.count(b"<f>") + text.count(b"<f ")
    if not formulas:
        return True
    empty = text.count(b"f><v></v>") + text.count(b"/><v></v>")
    return formulas == text.count(b"</f><v>") + text.count(b"/><v>") - empty


def _place(attributes: bytes) -> tuple[int, int] | None:
    ref = _REF.search(attributes)
    if ref is None:
        return None
    column = 0
    for letter in ref.group(1):
        column = column * 26 + letter - 64
    return int(ref.group(2)) - 1, column - 1
