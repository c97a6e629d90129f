"""Reading sheets: workbooks (.xlsx, .xlsm, .xlsb, .xls, .ods) through python-calamine, and CSV.

A sheet becomes its header row and its data rows, each row carrying the number Excel
shows for it, so every message can point at the row a records officer sees.

Decisions worth knowing:
- The content decides the kind of file, not its name (`sheet_kinds`): an .xlsx renamed
  .xls or .csv is read as .xlsx, a CSV file renamed .xlsx as CSV, and `SheetInfo.notes`
  says so in one sentence. A password-protected file, a web page, a PDF and the like
  are refused in one sentence.
- The header row is the first of the first 20 rows that has at least two non-empty
  cells, is mostly text (no more than a third of its cells are numbers or dates), and
  is at least half as wide as the widest of those rows. A one-cell title, a blank
  row or a two-cell "Exported on: <date>" line above the table is skipped that way.
  A caller may name the header row instead.
- The columns span from the first to the last named header cell. An empty header cell
  between named ones is allowed: its column is read (as "") and ignored by the mapping.
  Anything left or right of that span is ignored.
- Fully blank rows are skipped; the numbers of the other rows stay as Excel shows them.
- `rows` gives cells cleaned (`core.clean`: text trimmed, 12.0 made 12, datetimes to the
  second); `raw_batches` gives them as calamine typed them, for validation to clean
  only the cells it has not seen before, and the marks are looked for in a thread.
- An Excel error (#DIV/0!, #N/A, ...) reads as an `ExcelError`, a formula saved without
  its result as `Uncalculated` (`sheet_cells`, `cell_marks`), not as an empty cell as
  calamine reads both. Text longer than Excel's 32,767 characters is kept.
- The default sheet is the first visible worksheet that has a header row.
- CSV: UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252; the delimiter is
  the one of `,` `;` and tab that splits the first lines into the most even columns.
  The sheet name of a CSV file is its file name without the extension, as in Excel.
  A quote that is never closed is an error naming its line, not one row holding the rest
  of the file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, time
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opus_desktop.core.cell_marks import problems_beside

# Cleaning is re-exported: it is what `rows` gives, and `raw_batches` leaves undone.
from opus_desktop.core.clean import CellValue as CellValue
from opus_desktop.core.clean import clean_cells as clean_cells
from opus_desktop.core.clean import clean_value as clean_value
from opus_desktop.core.clean import is_blank
from opus_desktop.core.csvread import HEAD as _HEAD
from opus_desktop.core.csvread import csv_encoding as _csv_encoding
from opus_desktop.core.csvread import decode_text as decode_text
from opus_desktop.core.csvtext import is_own_report_text, unprotect_cells
from opus_desktop.core.errors import SheetError

# ExcelError and Uncalculated are re-exported: validation makes a problem of either.
from opus_desktop.core.sheet_cells import CellProblem as CellProblem
from opus_desktop.core.sheet_cells import ExcelError as ExcelError
from opus_desktop.core.sheet_cells import Marks, with_problems
from opus_desktop.core.sheet_cells import Uncalculated as Uncalculated
from opus_desktop.core.sheet_kinds import SUFFIX_KINDS, FileKind, file_kind

if TYPE_CHECKING:  # calamine loads with the first workbook read
    import python_calamine

# A data row as read (the Excel row number, one cell per header), not yet cleaned.
RawRow = tuple[int, list[Any]]

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
HEADER_SEARCH_ROWS = 20
DELIMITERS = (",", ";", "\t")

_SPACES = re.compile(r"\s+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class _NoTable(SheetError):
    """An empty sheet or one without a header row: the default search tries the next sheet."""


@dataclass(frozen=True, slots=True)
class SheetRow:
    number: int  # the row number Excel shows
    cells: list[CellValue]  # one per header, aligned with SheetInfo.headers


@dataclass
class SheetInfo:
    """Where the data comes from and what its columns are called."""

    path: Path
    sheet: str
    headers: list[str]  # "" for an empty header cell between named ones
    header_row: int  # the Excel row number of the header row
    first_column: int = 0  # 0 for column A: where headers[0] sits
    # Sentences for the officer about how the file was read (its name said another kind).
    notes: list[str] = field(default_factory=list, kw_only=True)
    # With the header row chosen: a row above it that looks more like one, for hints.
    header_guess: int | None = field(default=None, kw_only=True)

    def column_letter(self, index: int) -> str:
        """The Excel letter of the column of headers[index] (0 -> "A", 27 -> "AB")."""
        return column_letter(self.first_column + index)

    @property
    def source(self) -> str:
        """`Book.xlsx, sheet "Data"`: how messages name the sheet."""
        return f'{self.path.name}, sheet "{self.sheet}"'


@dataclass
class SheetData(SheetInfo):
    rows: list[SheetRow] = field(default_factory=list)


@dataclass
class SheetStream(SheetInfo):
    """The same as SheetData, with rows read as they are iterated (once)."""

    rows: Iterator[SheetRow] = field(default_factory=lambda: iter(()))
    # The same rows before `clean_cells` (see raw_batches); reading either reads both.
    raw: Iterator[RawRow] | None = field(default=None, kw_only=True)


def raw_batches(sheet: SheetData | SheetStream, size: int) -> Iterator[list[RawRow]]:
    """The data rows in batches of `size`, as calamine typed them: text untrimmed, 12.0
    not yet 12 (`clean_cells`, which is idempotent, makes them what `rows` gives). Blank
    rows are skipped and every row has one cell per header, as in `rows`."""
    source: Iterator[RawRow]
    if isinstance(sheet, SheetStream) and sheet.raw is not None:
        source = sheet.raw
    else:
        source = ((row.number, row.cells) for row in sheet.rows)
    while batch := list(islice(source, size)):
        yield batch


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def sheet_names(path: Path) -> list[str]:
    """The sheets of a workbook in workbook order; a CSV file has one, named after the file."""
    path = Path(path)
    kind = file_kind(path)
    if not kind.excel:
        return [path.stem]
    with _open_workbook(path, kind) as workbook:
        return list(workbook.sheet_names)


def read_sheet(
    path: Path,
    sheet: str | None = None,
    header_row: int | None = None,
    max_rows: int | None = None,
) -> SheetData:
    """Read a whole sheet into memory (at most `max_rows` data rows, for previews)."""
    stream = open_sheet(path, sheet, header_row)
    rows: list[SheetRow] = []
    for row in stream.rows:
        if max_rows is not None and len(rows) >= max_rows:
            break
        rows.append(row)
    return SheetData(
        stream.path,
        stream.sheet,
        stream.headers,
        stream.header_row,
        stream.first_column,
        rows,
        notes=stream.notes,
        header_guess=stream.header_guess,
    )


def open_sheet(path: Path, sheet: str | None = None, header_row: int | None = None) -> SheetStream:
    """Find the sheet and its header row; the data rows are read as `rows` is iterated.

    Raises SheetError for a file that cannot be read, before any row is returned.
    """
    path = Path(path)
    if header_row is not None and header_row < 1:
        raise SheetError(f"{path.name}: the header row must be 1 or more, not {header_row}.")
    kind = file_kind(path)
    if kind.excel:
        stream = _open_excel(path, kind, sheet, header_row)
    else:
        try:
            stream = _open_csv(path, header_row)
        except _NoTable:
            if SUFFIX_KINDS.get(path.suffix.lower(), "csv") == "csv":
                raise
            # Text with no table under a workbook's name is most likely not a sheet at all.
            raise SheetError(
                f"{path.name} is not a workbook: it is text with no header row in its first "
                f"{HEADER_SEARCH_ROWS} rows (it may be damaged, or another kind of file renamed)."
            ) from None
    if kind.note:
        stream.notes.append(kind.note)
    return stream


# -- Excel -------------------------------------------------------------------------------


def _open_workbook(path: Path, kind: FileKind) -> python_calamine.CalamineWorkbook:
    import python_calamine  # the reader loads with the first workbook, not at start

    try:
        if SUFFIX_KINDS.get(path.suffix.lower()) == kind.kind:
            return python_calamine.CalamineWorkbook.from_path(str(path))
        # calamine picks its reader by the name; a misnamed file is read by its content.
        with path.open("rb") as handle:
            return python_calamine.CalamineWorkbook.from_filelike(handle)
    except python_calamine.PasswordError:
        raise SheetError(f"{path.name} is protected by a password: remove it in Excel.") from None
    except (python_calamine.CalamineError, OSError, ValueError) as exc:
        if kind.kind == "xls":
            raise SheetError(
                f"{path.name} is an Excel 97-2003 file that cannot be read ({exc}): "
                "open it in Excel and save it as .xlsx."
            ) from None
        raise SheetError(f"{path.name} is damaged and cannot be read ({exc}).") from None


def _load_sheet(
    workbook: python_calamine.CalamineWorkbook, path: Path, name: str
) -> python_calamine.CalamineSheet:
    import python_calamine

    try:
        return workbook.get_sheet_by_name(name)
    except python_calamine.WorksheetNotFound:
        raise _no_such_sheet(path, name, list(workbook.sheet_names)) from None
    except (python_calamine.CalamineError, OSError, ValueError) as exc:
        raise SheetError(f'{path.name}, sheet "{name}" cannot be read ({exc}).') from None


def _no_such_sheet(path: Path, name: str, names: list[str]) -> SheetError:
    listed = ", ".join(f'"{n}"' for n in names)
    return SheetError(f'{path.name} has no sheet named "{name}"; its sheets are {listed}.')


def _open_excel(
    path: Path, kind: FileKind, sheet: str | None, header_row: int | None
) -> SheetStream:
    # A loaded sheet holds all its cells, so the file can be let go at once (on Windows
    # an open handle would stop Excel from saving over it).
    with _open_workbook(path, kind) as workbook:
        return _find_excel_sheet(workbook, path, kind, sheet, header_row)


def _find_excel_sheet(
    workbook: python_calamine.CalamineWorkbook,
    path: Path,
    kind: FileKind,
    sheet: str | None,
    header_row: int | None,
) -> SheetStream:
    import python_calamine

    if sheet is not None:
        names = list(workbook.sheet_names)
        if sheet not in names:
            # Excel treats sheet names case-insensitively; so do we, when it is unambiguous.
            folded = [n for n in names if n.casefold() == sheet.strip().casefold()]
            if len(folded) != 1:
                raise _no_such_sheet(path, sheet, names)
            sheet = folded[0]
        marks = problems_beside(path, kind.kind, sheet)
        data = _load_sheet(workbook, path, sheet)
        return _excel_stream(path, kind, sheet, data, header_row, marks())

    # No sheet named: the first visible worksheet with a header row.
    reasons: list[SheetError] = []
    for meta in workbook.sheets_metadata:
        if meta.visible != python_calamine.SheetVisibleEnum.Visible:
            continue
        if meta.typ != python_calamine.SheetTypeEnum.WorkSheet:
            continue
        marks = problems_beside(path, kind.kind, meta.name)
        data = _load_sheet(workbook, path, meta.name)
        try:
            return _excel_stream(path, kind, meta.name, data, header_row, marks())
        except _NoTable as exc:
            reasons.append(exc)
    if len(reasons) == 1:
        raise reasons[0]
    raise SheetError(
        f"{path.name} has no sheet with a header row (a row naming at least two columns "
        "in its first 20 rows); choose the sheet and the header row."
    )


def _excel_stream(
    path: Path,
    kind: FileKind,
    name: str,
    data: python_calamine.CalamineSheet,
    header_row: int | None,
    marks: Marks,
) -> SheetStream:
    source = f'{path.name}, sheet "{name}"'
    if (data.height == 0 or data.start is None) and not marks:
        raise _NoTable(f"{source} is empty.")
    first_column = data.start[1] if data.start is not None else 0
    # python-calamine yields rows from row 1 but cells from the first used column on.
    raw_rows: Iterator[list[Any]] = iter(data.iter_rows())
    if marks:
        raw_rows = with_problems(raw_rows, marks, first_column)
    numbered = enumerate(raw_rows, start=1)
    return _stream(path, name, source, numbered, first_column, header_row)


# -- CSV ---------------------------------------------------------------------------------


def _open_csv(path: Path, header_row: int | None) -> SheetStream:
    # Read as a stream, a block at a time: a whole copy of a long file (its bytes, its
    # text and a StringIO of it: five times its size) was most of a submit's memory.
    try:
        encoding = _csv_encoding(path)
        with path.open(encoding=encoding, newline="") as file:
            text = file.read(_HEAD)  # what the delimiter and the report marker need
    except UnicodeDecodeError:
        decode_text(path.read_bytes(), path.name)  # says which byte is not
        raise
    except OSError as exc:
        raise SheetError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if not text.strip() and len(text) < _HEAD:
        raise SheetError(f"{path.name} is empty.")
    delimiter = sniff_delimiter(text)

    def whole() -> str:
        return decode_text(path.read_bytes(), path.name)

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        # Each row is held back until the next is read, so the last can be checked for a
        # quote never closed: csv then reads the rest of the file into its last cell.
        held: tuple[int, list[Any]] | None = None
        start = lines = 0  # the line the held row starts on; lines read so far
        with path.open(encoding=encoding, newline="") as file:
            reader = csv.reader(file, delimiter=delimiter)
            try:
                for number, cells in enumerate(reader, start=1):
                    if held is not None:
                        yield held
                    held, start, lines = (number, cells), lines + 1, reader.line_num
            except csv.Error as exc:
                _check_quotes(whole(), lines + 1, delimiter, path.name)
                raise SheetError(f"{path.name}, line {reader.line_num}: {exc}.") from None
            except UnicodeDecodeError:
                whole()  # says which byte is not
                raise
        if held is not None:
            if held[1] and _LINE_BREAK.search(held[1][-1]):
                _check_quotes(whole(), start, delimiter, path.name)
            yield held

    if not is_own_report_text(text):
        return _stream(path, path.stem, path.name, numbered(), 0, header_row)

    def unprotected() -> Iterator[tuple[int, list[Any]]]:
        # Our own report: the apostrophes it put before = + - @ come off again.
        for number, cells in numbered():
            yield number, unprotect_cells(cells)

    return _stream(path, path.stem, path.name, unprotected(), 0, header_row)


def _check_quotes(text: str, line: int, delimiter: str, name: str) -> None:
    """Raise a SheetError if, from this line on, a quote opens that is never closed."""
    offset = 0
    if line > 1:
        for count, found in enumerate(_LINE_BREAK.finditer(text), start=2):
            if count == line:
                offset = found.end()
                break
    # A quote opens a cell only at its start, as csv reads it; "" inside is a quote.
    opening = re.compile(rf'(?:^|(?<=[{re.escape(delimiter)}\r\n]))"')
    position = offset
    while match := opening.search(text, position):
        position = match.end()
        while True:
            close = text.find('"', position)
            if close < 0:
                opened = sum(1 for _ in _LINE_BREAK.finditer(text, 0, match.start())) + 1
                raise SheetError(f"{name}, line {opened}: a quote opens here and is never closed.")
            if text.startswith('"', close + 1):
                position = close + 2
                continue
            position = close + 1
            break


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first non-blank lines into the most, most even columns."""
    sample = text[:65536]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    best, best_score = ",", (0, 0, 0)
    for delimiter in DELIMITERS:
        try:
            reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
            rows = [r for r in reader if any(r)][: HEADER_SEARCH_ROWS * 2]
        except csv.Error:
            continue
        widths = [len(r) for r in rows if len(r) > 1]
        if not widths:
            continue
        common = max(set(widths), key=lambda w: (widths.count(w), w))
        score = (widths.count(common), common, -DELIMITERS.index(delimiter))
        if score > best_score:
            best, best_score = delimiter, score
    return best


# -- Both --------------------------------------------------------------------------------


def _stream(
    path: Path,
    name: str,
    source: str,
    numbered: Iterator[tuple[int, list[Any]]],
    first_column: int,
    header_row: int | None,
) -> SheetStream:
    """Find the header row among the first rows, then stream the rows below it."""
    seen: list[tuple[int, list[CellValue]]] = []
    non_blank = 0  # blank rows above the table do not count towards the rows searched
    for number, cells in numbered:
        cleaned = clean_cells(cells)
        seen.append((number, cleaned))
        non_blank += _filled(cleaned) > 0
        if header_row is not None and number >= header_row:
            break
        if header_row is None and non_blank >= HEADER_SEARCH_ROWS:
            break
    if not any(_filled(cells) for _, cells in seen):
        raise _NoTable(f"{source} is empty.")

    if header_row is not None:
        if not seen or seen[-1][0] != header_row:
            raise SheetError(f"{source} has no row {header_row}.")
        index = len(seen) - 1
        above = find_header_row([cells for _, cells in seen[:index]])
        guess = seen[above][0] if above is not None else None
        if _filled(seen[index][1]) == 0:
            raise SheetError(f"{source}: row {header_row}, the header row, is empty.")
    else:
        found = find_header_row([cells for _, cells in seen])
        if found is None:
            closest = _closest_header_row(seen)
            hint = f" (row {closest} comes closest)" if closest else ""
            raise _NoTable(
                f"{source} has no header row: none of its first {HEADER_SEARCH_ROWS} rows names "
                f"at least two columns{hint}. Check the sheet, or choose the header row."
            )
        index, guess = found, None
    number, header_cells = seen[index]
    start, stop = _header_span(header_cells)
    headers = [_header_text(v) for v in header_cells[start:stop]]
    _check_duplicates(headers, source, first_column + start, header_hint(header_row, guess))

    width = stop - start
    padding: list[Any] = [None] * width

    def raw() -> Iterator[RawRow]:
        for row_number, cells in seen[index + 1 :]:
            row = cells[start:stop]
            if row.count(None) != len(row):  # skip blank rows
                yield row_number, row + padding[len(row) :]
        blank = is_blank
        for row_number, cells in numbered:
            if start or len(cells) != width:
                cells = cells[start:stop]
                if len(cells) < width:
                    cells += padding[len(cells) :]
            if not blank(cells):
                yield row_number, cells

    unclean = raw()

    def rows() -> Iterator[SheetRow]:
        clean = clean_cells
        for row_number, cells in unclean:
            yield SheetRow(row_number, clean(cells))

    stream = SheetStream(path, name, headers, number, first_column + start, rows(), raw=unclean)
    stream.header_guess = guess
    return stream


def find_header_row(rows: list[list[CellValue]]) -> int | None:
    """Index of the header row among the first rows (see the module's docstring)."""
    widest = max((_filled(r) for r in rows), default=0)
    for index, cells in enumerate(rows):
        filled = _filled(cells)
        if filled < 2 or filled * 2 < widest:
            continue
        texts = sum(1 for v in cells if isinstance(v, str))
        if texts * 3 >= filled * 2:
            return index
    return None


def _closest_header_row(seen: list[tuple[int, list[CellValue]]]) -> int | None:
    """The number of the row with the most text cells, if one has two or more."""
    best, best_texts = None, 1
    for number, cells in seen:
        texts = sum(1 for v in cells if isinstance(v, str))
        if texts > best_texts:
            best, best_texts = number, texts
    return best


def _filled(cells: Iterable[CellValue]) -> int:
    return sum(1 for v in cells if v is not None)


def _header_span(cells: list[CellValue]) -> tuple[int, int]:
    filled = [i for i, v in enumerate(cells) if v is not None]
    return filled[0], filled[-1] + 1


def _header_text(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d") if value.time() == time() else value.isoformat(" ")
    else:
        text = str(value)
    # A header typed over two lines in its cell reads as one.
    return _SPACES.sub(" ", text).strip()


def header_hint(chosen: int | None, guess: int | None) -> str:
    """ " Is row 40 the header row? ..." after a complaint about a chosen header row."""
    if chosen is None:
        return ""
    where = f" The headers look to be on row {guess}." if guess is not None else ""
    return f" Is row {chosen} the header row?{where}"


def _check_duplicates(headers: list[str], source: str, first_column: int, hint: str) -> None:
    places: dict[str, list[int]] = {}
    for index, header in enumerate(headers):
        if header:
            places.setdefault(header.casefold(), []).append(index)
    clashes = []
    for indexes in places.values():
        if len(indexes) > 1:
            letters = [column_letter(first_column + i) for i in indexes]
            joined = ", ".join(letters[:-1]) + " and " + letters[-1]
            both = "both" if len(indexes) == 2 else "all"
            clashes.append(f'columns {joined} are {both} headed "{headers[indexes[0]]}"')
    if clashes:
        raise SheetError(
            f"{source}: {'; '.join(clashes)}. Give each column its own header and try again." + hint
        )
