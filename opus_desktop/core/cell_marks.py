"""Error cells in .xls, .xlsb and .ods files, by place.

python-calamine reads an error cell of these kinds as empty, as it does for .xlsx
(`sheet_cells` scans those). Here each kind is read once more for its error cells only:
.xls and .xlsb by walking the sheet's binary records (for .xls inside the compound
file, which xlrd opens); .ods by streaming its content.xml. A formula without a result
only happens in .ods (the binary formats always hold one). A file that cannot be read a
second time gives no marks: calamine has read it already, so whatever is wrong with it
has been said.
"""

from __future__ import annotations

import re
import struct
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import iterparse

from opus_desktop.core.sheet_cells import (
    ExcelError,
    Marks,
    Uncalculated,
    relationship_target,
    xlsx_problems,
)

# Error codes as BIFF8 and BIFF12 store them.
ERROR_CODES = {
    0x00: "#NULL!",
    0x07: "#DIV/0!",
    0x0F: "#VALUE!",
    0x17: "#REF!",
    0x1D: "#NAME?",
    0x24: "#NUM!",
    0x2A: "#N/A",
    0x2B: "#GETTING_DATA",
}
_UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, struct.error)


def problems(path: Path, kind: str, sheet: str) -> Marks:
    """The error and uncalculated cells of one sheet of a workbook of the given kind."""
    reader = {
        "xlsx": xlsx_problems,
        "xls": xls_problems,
        "xlsb": xlsb_problems,
        "ods": ods_problems,
    }.get(kind)
    return reader(path, sheet) if reader else {}


def problems_beside(path: Path, kind: str, sheet: str) -> Callable[[], Marks]:
    """Start looking for the sheet's problem cells in a thread; call the result to wait.

    calamine lets go of the GIL while it parses, so the second read of the file costs
    next to no time on a machine with a core to spare.
    """
    found: list[Marks] = []
    failed: list[BaseException] = []

    def look() -> None:
        try:
            found.append(problems(path, kind, sheet))
        except BaseException as exc:  # handed to the caller, raised there
            failed.append(exc)

    worker = threading.Thread(target=look, name="cell-marks", daemon=True)
    worker.start()

    def wait() -> Marks:
        worker.join()
        if failed:
            raise failed[0]
        return found[0]

    return wait


# -- .xls ------------------------------------------------------------------------------------

_EOF, _BOUND_SHEET, _BOOL_ERROR, _FORMULA = 0x000A, 0x0085, 0x0205, 0x0006
_RECORD = struct.Struct("<HH")
# Either record holding an error, as its bytes look: a quick test before the walk.
_CODE = rb"[\x00\x07\x0f\x17\x1d\x24\x2a\x2b]"
_MAYBE_ERROR = re.compile(
    rb"\x05\x02\x08\x00[\s\S]{6}" + _CODE + rb"\x01"
    rb"|\x06\x00..[\s\S]{6}\x02\x00" + _CODE + rb"\x00\x00\x00\xff\xff",
    re.DOTALL,
)


def xls_problems(path: Path, sheet: str) -> Marks:
    """Walks the BIFF8 records of the sheet for BOOLERR and FORMULA records holding an
    error; the compound file around them is opened with xlrd's reader of it."""
    from xlrd.compdoc import CompDoc  # 25 ms, paid only by those who open an .xls

    try:
        workbook = CompDoc(path.read_bytes(), logfile=_Quiet()).get_named_stream("Workbook")
    except Exception:  # xlrd fails in many ways (assertions too); calamine has read it
        return {}
    if workbook is None or not _MAYBE_ERROR.search(workbook):
        return {}
    try:
        offset = _xls_sheet_offset(workbook, sheet)
        return {} if offset is None else _xls_errors(workbook, offset)
    except (struct.error, IndexError, UnicodeDecodeError):
        return {}


def _xls_sheet_offset(data: bytes, sheet: str) -> int | None:
    position = 0
    while position + 4 <= len(data):
        typ, size = _RECORD.unpack_from(data, position)
        body = position + 4
        if typ == _BOUND_SHEET:
            length, flags = data[body + 6], data[body + 7]
            raw = data[body + 8 : body + 8 + (2 * length if flags & 1 else length)]
            name = raw.decode("utf-16-le" if flags & 1 else "latin-1")
            if name == sheet:
                return int(struct.unpack_from("<I", data, body)[0])
        elif typ == _EOF:
            return None
        position = body + size
    return None


def _xls_errors(data: bytes, position: int) -> Marks:
    """The sheet's cells come before anything else its substream holds (charts among
    them, with substreams of their own), so the walk stops at the first EOF."""
    marks: Marks = {}
    while position + 4 <= len(data):
        typ, size = _RECORD.unpack_from(data, position)
        body = position + 4
        if typ == _BOOL_ERROR and data[body + 7]:
            row, column = struct.unpack_from("<HH", data, body)
            marks[row, column] = ExcelError(ERROR_CODES.get(data[body + 6], "#VALUE!"))
        elif typ == _FORMULA and data[body + 6] == 2 and data[body + 12 : body + 14] == b"\xff\xff":
            row, column = struct.unpack_from("<HH", data, body)
            marks[row, column] = ExcelError(ERROR_CODES.get(data[body + 8], "#VALUE!"))
        elif typ == _EOF:
            break
        position = body + size
    return marks


class _Quiet:
    """xlrd writes warnings about odd files to a log file; calamine has spoken already."""

    def write(self, text: str) -> None:
        pass


# -- .xlsb -----------------------------------------------------------------------------------

_ROW_HEADER = 0x00
_CELL_ERROR = 0x03
_FORMULA_ERROR = 0x0B
_BUNDLE_SHEET = 0x9C
_SHEET_DATA_END = 0x92


def xlsb_problems(path: Path, sheet: str) -> Marks:
    try:
        with zipfile.ZipFile(path) as archive:
            part = _xlsb_sheet_part(archive, sheet)
            if part is None:
                return {}
            with archive.open(part) as stream:
                return _xlsb_errors(stream)
    except _UNREADABLE:
        return {}


def records(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """The (type, body) records of a BIFF12 part: a type of 1-2 bytes and a size of
    1-4 bytes, both seven bits a byte with the high bit saying another byte follows."""
    while True:
        typ = _varint(stream, 2)
        if typ is None:
            return
        size = _varint(stream, 4)
        body = stream.read(size or 0)
        if size is None or len(body) != size:
            raise EOFError
        yield typ, body


def _varint(stream: IO[bytes], most: int) -> int | None:
    value = 0
    for index in range(most):
        byte = stream.read(1)
        if not byte:
            if index:
                raise EOFError
            return None
        value |= (byte[0] & 0x7F) << (7 * index)
        if not byte[0] & 0x80:
            break
    return value


def _xlsb_errors(stream: IO[bytes]) -> Marks:
    marks: Marks = {}
    row = 0
    for typ, body in records(stream):
        if typ == _ROW_HEADER:
            row = struct.unpack_from("<I", body)[0]
        elif typ in (_CELL_ERROR, _FORMULA_ERROR):
            column = struct.unpack_from("<I", body)[0]
            marks[row, column] = ExcelError(ERROR_CODES.get(body[8], "#VALUE!"))
        elif typ == _SHEET_DATA_END:
            break
    return marks


def _xlsb_sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    with archive.open("xl/workbook.bin") as stream:
        for typ, body in records(stream):
            if typ == _BUNDLE_SHEET:
                rel_id, offset = _wide_string(body, 8)
                if _wide_string(body, offset)[0] == sheet:
                    return relationship_target(archive, "xl/_rels/workbook.bin.rels", rel_id)
    return None


def _wide_string(body: bytes, offset: int) -> tuple[str, int]:
    """An XLWideString: a count of UTF-16 units, then the units."""
    (count,) = struct.unpack_from("<I", body, offset)
    if count == 0xFFFFFFFF:  # a null string
        return "", offset + 4
    end = offset + 4 + 2 * count
    return body[offset + 4 : end].decode("utf-16-le"), end


# -- .ods ------------------------------------------------------------------------------------

_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_CALC_EXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_CELLS = (f"{{{_TABLE}}}table-cell", f"{{{_TABLE}}}covered-table-cell")
_ROW = f"{{{_TABLE}}}table-row"
_SHEET = f"{{{_TABLE}}}table"


def ods_problems(path: Path, sheet: str) -> Marks:
    try:
        with zipfile.ZipFile(path) as archive, archive.open("content.xml") as stream:
            return _ods_marks(stream, sheet)
    except (SyntaxError, *_UNREADABLE):  # ParseError is a SyntaxError
        return {}


def _ods_marks(stream: IO[bytes], sheet: str) -> Marks:
    marks: Marks = {}
    inside = False
    row = column = 0
    for event, element in iterparse(stream, events=("start", "end")):
        tag = element.tag
        if tag == _SHEET:
            if event == "start":
                inside = element.get(f"{{{_TABLE}}}name") == sheet
                row = 0
            elif inside:
                return marks
            else:
                element.clear()
        elif not inside or event == "start":
            if tag == _ROW and event == "start":
                column = 0
        elif tag in _CELLS:
            repeat = _count(element, "number-columns-repeated")
            problem = _ods_problem(element)
            if problem is not None:
                for offset in range(min(repeat, 1024)):
                    marks[row, column + offset] = problem
            column += repeat
            element.clear()
        elif tag == _ROW:
            row += _count(element, "number-rows-repeated")
            element.clear()
    return marks


def _ods_problem(cell: Any) -> ExcelError | Uncalculated | None:
    formula = cell.get(f"{{{_TABLE}}}formula")
    if formula is None:
        return None
    text = "".join(cell.itertext()).strip()
    if cell.get(f"{{{_CALC_EXT}}}value-type") == "error":
        return ExcelError(text or "#VALUE!")  # LibreOffice's own errors too: Err:502
    if cell.get(f"{{{_OFFICE}}}value-type") is None:
        # Written by a program and never calculated: there is no result to read.
        return Uncalculated(formula.split(":", 1)[-1].lstrip("="))
    return None


def _count(element: Any, attribute: str) -> int:
    try:
        return max(1, int(element.get(f"{{{_TABLE}}}{attribute}", "1")))
    except ValueError:
        return 1
