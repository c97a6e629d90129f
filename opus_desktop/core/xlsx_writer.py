"""Workbooks written row by row with XlsxWriter in constant_memory mode (for `core/reports`).

Each sheet's rows go to a temporary file of XlsxWriter's as they come (rows in order, one
sheet after or beside another), so a 100,000-row report never sits in memory; `close`
assembles the .xlsx into the given file. XlsxWriter is made for writing and about twice
as fast as openpyxl's write-only mode; openpyxl stays for reading workbooks back.

Cells: numbers and truth values as themselves; dates, date-times and times as real date
cells with openpyxl's number formats (yyyy-mm-dd, yyyy-mm-dd h:mm:ss, h:mm:ss); every other
value as text with `write_string`, so text starting with "=" or looking like "#N/A" stays
text, never a formula or an error. Control characters XML cannot hold are dropped, and text
beyond Excel's 32,767 characters is cut with a note saying how long it was.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from opus_desktop.core.values import MAX_CELL_TEXT

_ILLEGAL_XML = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")
_PIXELS_A_CHARACTER = 7  # Calibri 11's digit, as XlsxWriter counts column widths
LAST_ROW = 1_048_575  # Excel's last row, counted from 0
# openpyxl's formats, so reports look as they did.
_DATE_FORMATS = {datetime: "yyyy-mm-dd h:mm:ss", date: "yyyy-mm-dd", time: "h:mm:ss"}


def sheet_title(title: str) -> str:
    """A title Excel takes: no [ ] : * ? / \\, not quoted, at most 31 characters."""
    return (_BAD_TITLE.sub(" ", title).strip().strip("'").strip() or "Sheet1")[:31]


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def safe_text(text: str) -> str:
    """`text` as a cell can hold it: no control characters XML cannot store, and at most
    32,767 characters (UTF-16 units, as Excel counts) with a note where it was cut."""
    if not text.isprintable():
        text = _ILLEGAL_XML.sub("", text)
    if len(text) > MAX_CELL_TEXT // 2 and _utf16_length(text) > MAX_CELL_TEXT:
        said = f" [cut here: the whole text has {len(text):,} characters]"
        room = MAX_CELL_TEXT - len(said)
        head = text[:room]
        while (over := _utf16_length(head) - room) > 0:
            head = head[: len(head) - (over + 1) // 2]  # a character is one or two units
        text = head + said
    return text


class QuietFile:
    """A file that, after one write to it failed, takes the others without writing.

    A workbook whose saving failed (a full disk) is left with its zip archive open; when
    collected, the archive writes its end again. To this file that costs nothing and
    prints no "Exception ignored" after the error's one sentence.
    """

    def __init__(self, path: Path) -> None:
        self._file = path.open("wb")
        self.failed = False
        self._position = 0  # where the writing is, as the archive sees it

    def write(self, data: bytes) -> int:
        if not self.failed:
            try:
                self._file.write(data)
            except OSError:
                self.failed = True
                raise
        self._position += len(data)
        return len(data)

    def flush(self) -> None:
        if not self.failed:
            try:
                self._file.flush()
            except OSError:
                self.failed = True
                raise

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = 0) -> int:
        if self.failed:
            self._position = offset if whence == os.SEEK_SET else self._position + offset
        else:
            self._position = self._file.seek(offset, whence)
        return self._position

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        if self.failed:
            with contextlib.suppress(OSError):
                self._file.close()
        else:
            self._file.close()


class XlsxSheet:
    """One sheet being written, row after row."""

    def __init__(
        self,
        book: XlsxBook,
        worksheet: Any,
        wrap: Collection[int],
        choices: Mapping[int, Sequence[str]],
    ) -> None:
        self.row = 1  # the header is row 0
        self._book = book
        self._worksheet = worksheet
        self._wrap = frozenset(wrap)
        self._choices = choices
        self._string: Callable[..., int] = worksheet.write_string
        self._number: Callable[..., int] = worksheet.write_number
        self._boolean: Callable[..., int] = worksheet.write_boolean
        self._datetime: Callable[..., int] = worksheet.write_datetime

    def append(self, values: Sequence[object]) -> None:
        """One row; the hot loop of every report, so types are told apart by class first."""
        row = self.row
        self.row = row + 1
        wrap = self._wrap
        for column, value in enumerate(values):
            kind = value.__class__
            if kind is str:
                text: str = value  # type: ignore[assignment]
                if not text:
                    continue  # an empty cell, as XlsxWriter's own write() leaves it
                if len(text) > MAX_CELL_TEXT // 2 or not text.isprintable():
                    text = safe_text(text)  # rare: most text has no tab, newline or the like
                if wrap and column in wrap:
                    self._string(row, column, text, self._book.wrap)
                else:
                    self._string(row, column, text)
            elif value is None:
                continue
            elif kind is int or kind is float:
                self._number(row, column, value)
            else:
                self._other(row, column, value)

    def _other(self, row: int, column: int, value: object) -> None:
        if isinstance(value, bool):
            self._boolean(row, column, value)
        elif isinstance(value, int | float):
            self._number(row, column, value)
        elif isinstance(value, datetime):
            self._datetime(row, column, value, self._book.formats[datetime])
        elif isinstance(value, date):
            self._datetime(row, column, value, self._book.formats[date])
        elif isinstance(value, time):
            self._datetime(row, column, value, self._book.formats[time])
        else:
            self.append_text(row, column, self._book.text_of(value))

    def append_text(self, row: int, column: int, text: str) -> None:
        text = safe_text(text)
        if column in self._wrap:
            self._string(row, column, text, self._book.wrap)
        else:
            self._string(row, column, text)

    def finish(self) -> None:
        """The drop-downs, over every row below the header (the officer may add rows)."""
        for column, words in self._choices.items():
            self._worksheet.data_validation(
                1, column, LAST_ROW, column, {"validate": "list", "source": list(words)}
            )


class XlsxBook:
    """A workbook streamed into `path` (an existing file, replaced on `close`)."""

    def __init__(self, path: Path, text_of: Callable[[object], str]) -> None:
        """`text_of` turns any value that is not a number, a date or text into text."""
        # Imported here, not at the top: the main window starts without loading a writer.
        import xlsxwriter

        # XlsxWriter's own temporary files go in a folder of this workbook's, removed at the
        # end whatever happens.
        self._folder = tempfile.mkdtemp(prefix="opus-desktop-xlsx-")
        self.text_of = text_of
        self._sheets: list[XlsxSheet] = []
        self._titles: set[str] = set()
        try:
            self._sink = QuietFile(path)
        except BaseException:
            shutil.rmtree(self._folder, ignore_errors=True)
            raise
        self._book = xlsxwriter.Workbook(
            self._sink,
            {
                "constant_memory": True,
                "tmpdir": self._folder,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "nan_inf_to_errors": True,
            },
        )
        self.bold = self._book.add_format({"bold": True})
        self.wrap = self._book.add_format({"text_wrap": True, "valign": "top"})
        self.formats = {
            kind: self._book.add_format({"num_format": pattern})
            for kind, pattern in _DATE_FORMATS.items()
        }

    def sheet(
        self,
        title: str,
        headers: Sequence[str],
        widths: Sequence[float],
        wrap: Collection[int] = (),
        choices: Mapping[int, Sequence[str]] | None = None,
    ) -> XlsxSheet:
        """A new sheet with its bold header row frozen at the top and its column widths."""
        worksheet = self._book.add_worksheet(self._unique(sheet_title(title)))
        for index, width in enumerate(widths):
            # In pixels, so the file holds the very width asked for, as openpyxl wrote it.
            worksheet.set_column_pixels(index, index, round(width * _PIXELS_A_CHARACTER))
        worksheet.freeze_panes(1, 0)
        for index, header in enumerate(headers):
            worksheet.write_string(0, index, safe_text(str(header)), self.bold)
        sheet = XlsxSheet(self, worksheet, wrap, choices or {})
        self._sheets.append(sheet)
        return sheet

    def _unique(self, title: str) -> str:
        """`title`, or with a number after it if a sheet has it already (as openpyxl does)."""
        candidate, number = title, 0
        while candidate.lower() in self._titles:
            number += 1
            candidate = f"{title[: 31 - len(str(number))]}{number}"
        self._titles.add(candidate.lower())
        return candidate

    def close(self) -> None:
        """Assemble the workbook into its file; an OSError (a full disk) if that failed, with
        everything closed and the temporary files gone either way."""
        from xlsxwriter.exceptions import FileCreateError

        try:
            for sheet in self._sheets:
                sheet.finish()
            self._book.close()
            self._sink.flush()
            self._sink.close()
        except FileCreateError as exc:
            error = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else None
            self.discard()
            raise error or OSError(str(exc)) from None
        except OSError:
            self.discard()
            raise
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)

    def discard(self) -> None:
        """Close what is open without writing the workbook, and remove the temporary files."""
        self._sink.failed = True
        self._sink.close()
        for worksheet in self._book.worksheets():
            for name in ("row_data_fh", "fh"):
                handle = getattr(worksheet, name, None)
                if handle is not None and hasattr(handle, "close"):
                    with contextlib.suppress(Exception):
                        handle.close()
        self._book.fileclosed = True  # nothing to save when collected
        shutil.rmtree(self._folder, ignore_errors=True)
