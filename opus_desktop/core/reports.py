"""Writing tables and validation reports as .xlsx or .csv (chosen by the file's extension).

- `write_table(path, headers, rows, sheet_title)`: any table (due records, failed rows).
- `write_workbook(path, sheets)`: an .xlsx with one sheet per `SheetSpec` (title, headers,
  rows, widths, columns whose text wraps): the run report, the disposal manifest.
- `write_validation_report(path, result, template, settings)`: a workbook with a sheet
  "Problems" (Row, Column, Value, Problem) and a sheet "Records" (the row number, every
  template column as the text that would be sent, and Status: valid or invalid). A cell
  warned of (a Modified time earlier than the Created time) is listed among the problems
  of its row, its sentence starting "Warning: "; its row stays valid.
  As CSV the two sheets become two files side by side: OUT.csv holds the problems,
  OUT.records.csv the records.
- `ValidationReport`: the same report written record by record while a sheet is
  validated, so 100,000 rows never sit in memory (`validate_into_report` does both).

Workbooks are written with XlsxWriter in constant_memory mode (`core/xlsx_writer.py`):
rows stream to disk as they come. Headers are bold, the top row is frozen and columns get
widths from their headers and first rows. Numbers, dates, times and truth values are
written as themselves; every other value is written as text, as it is: never as a formula
(text starting with "=") or an error (text such as "#N/A"), and with no apostrophe added.
In CSV, text starting with = + - @ (unless a plain number) or ' gets a leading apostrophe,
so Excel runs no formula; such a file then starts with a one-cell line saying so
(`core/csvtext.py`), which tells the app to take the apostrophes off when it reads the
file again (`unprotect`, `is_own_report`), so the failed rows sent again store exactly
their original values. The `choices` columns of an .xlsx table get a drop-down.
CSV files are UTF-8 with a BOM, which Excel needs to show accents and CJK.
Every file is written beside its target (mode 0600, as `tempfile.mkstemp` makes it) and
renamed into place when complete, so a failure (a full disk included) leaves no
half-written report and says so in one sentence (ReportError).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import os
import shutil
import tempfile
from collections import abc
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import chain, islice
from pathlib import Path
from types import TracebackType
from typing import IO

from opus_desktop.core.csvtext import MARKER, is_own_report, is_own_report_text, protect, unprotect
from opus_desktop.core.errors import CoreError
from opus_desktop.core.mapping import Mapping
from opus_desktop.core.records import Problem, Record
from opus_desktop.core.schema import Template
from opus_desktop.core.sheets import SheetData, SheetStream
from opus_desktop.core.validation import ValidationResult, Validator
from opus_desktop.core.values import LIST_JOINER, ValueSettings, display
from opus_desktop.core.xlsx_writer import XlsxBook, XlsxSheet

__all__ = [
    "PROBLEM_HEADERS",
    "WARNING_MARK",
    "ReportError",
    "SheetSpec",
    "ValidationReport",
    "cell_text",
    "is_own_report",
    "is_own_report_text",
    "records_csv_path",
    "report_kind",
    "rows_of",
    "unprotect",
    "validate_into_report",
    "write_table",
    "write_validation_report",
    "write_workbook",
]

PROBLEM_HEADERS = ("Row", "Column", "Value", "Problem")
WARNING_MARK = "Warning: "  # a Problems line that is a warning: the row can still be sent
STATUS_VALID, STATUS_INVALID = "valid", "invalid"
WIDTH_SAMPLE = 50  # rows looked at to choose column widths


class ReportError(CoreError):
    """A report that cannot be written (folder missing, file open in Excel, ...)."""


@dataclass(frozen=True)
class SheetSpec:
    """One sheet of a workbook. Without `widths`, columns are as wide as their header and
    first rows need; text in the `wrap` columns (counted from 0) wraps, top-aligned; the
    `choices` columns get a drop-down of those words (in .xlsx; a CSV has none)."""

    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[object]]
    widths: Sequence[float] | None = None
    wrap: Collection[int] = ()
    choices: abc.Mapping[int, Sequence[str]] = field(default_factory=dict)


def report_kind(path: Path) -> str:
    """The kind of report, "xlsx" or "csv", from the file's extension; anything else is refused."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix == ".csv":
        return "csv"
    raise ReportError(f"{path.name}: a report must be an .xlsx or a .csv file.")


def records_csv_path(path: Path) -> Path:
    """Where the records of a CSV report go: OUT.csv -> OUT.records.csv."""
    return path.with_name(f"{path.stem}.records{path.suffix}")


def cell_text(value: object) -> str:
    """A value as report text: dates as yyyy-mm-dd hh:mm:ss, lists joined with "; "."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d") if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return LIST_JOINER.join(cell_text(v) for v in value)
    return str(value)


# -- files written whole or not at all --------------------------------------------------------


def temporary_beside(path: Path) -> Path:
    """A new empty file (mode 0600) in the folder of `path`, to be renamed over it once
    complete."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except FileNotFoundError:
        raise ReportError(
            f"Cannot write {path}: the folder {path.parent} does not exist."
        ) from None
    except OSError as exc:
        raise ReportError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    os.close(fd)
    return Path(name)


def _cannot_write(path: Path, exc: OSError) -> ReportError:
    if exc.errno == errno.ENOSPC:
        return ReportError(
            f"Cannot write {path}: the disk is full (no space left on device); nothing was written."
        )
    hint = " (is it open in Excel?)" if isinstance(exc, PermissionError) else ""
    return ReportError(f"Cannot write {path}{hint}: {exc.strerror or exc}.")


class _Target:
    """A temporary file beside `path`, renamed over it by `commit`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.temporary = temporary_beside(path)

    def commit(self) -> None:
        try:
            os.replace(self.temporary, self.path)
        except OSError as exc:
            self.discard()
            raise _cannot_write(self.path, exc) from None

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.temporary.unlink()


# -- sheets -----------------------------------------------------------------------------------


class _CsvFile:
    """One CSV file being written; `protected` once a cell got an apostrophe."""

    def __init__(self, target: _Target) -> None:
        self.target = target
        self.handle: IO[str] = target.temporary.open("w", encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.handle, lineterminator="\r\n")
        self.protected = False

    def writerow(self, values: Sequence[object]) -> None:
        row = []
        for value in values:
            text = cell_text(value)
            cell = protect(text)
            if cell is not text:
                self.protected = True
            row.append(cell)
        self.writer.writerow(row)

    def finish(self) -> None:
        """Close the file; put the marker line first if a cell got an apostrophe."""
        self.handle.close()
        if not self.protected:
            return
        marked = temporary_beside(self.target.path)
        try:
            with self.target.temporary.open("rb") as body, marked.open("wb") as out:
                body.read(len(codecs.BOM_UTF8))
                out.write(codecs.BOM_UTF8 + f"{MARKER}\r\n".encode())
                shutil.copyfileobj(body, out, 1 << 20)
            os.replace(marked, self.target.temporary)
        except BaseException:
            with contextlib.suppress(OSError):
                marked.unlink()
            raise


class _Sheet:
    """One table being written: a worksheet or a CSV file."""

    def __init__(self, sink: XlsxSheet | _CsvFile, path: Path) -> None:
        self.sink = sink
        self.path = path

    def append(self, values: Sequence[object]) -> None:
        try:
            if isinstance(self.sink, _CsvFile):
                self.sink.writerow(values)
            else:
                self.sink.append(values)
        except OSError as exc:  # a full disk, most likely
            raise _cannot_write(self.path, exc) from None


def _widths(headers: Sequence[str], sample: Sequence[Sequence[object]]) -> list[float]:
    widths = []
    for index, header in enumerate(headers):
        longest = max(
            [len(header) + 2] + [len(cell_text(row[index])) for row in sample if index < len(row)]
        )
        widths.append(float(min(max(longest + 2, 8), 60)))
    return widths


class _Writer:
    """The file behind a report: one workbook, or one CSV file per sheet."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.kind = report_kind(self.path)
        self.targets: list[_Target] = []
        self.csv_files: list[_CsvFile] = []
        self.book: XlsxBook | None = None
        if self.kind == "xlsx":
            # The file before the workbook: a missing folder is found before any row.
            target = _Target(self.path)
            self.targets.append(target)
            try:
                self.book = XlsxBook(target.temporary, cell_text)
            except OSError as exc:
                target.discard()
                raise _cannot_write(self.path, exc) from None

    def sheet(
        self,
        title: str,
        headers: Sequence[str],
        widths: Sequence[float],
        path: Path | None = None,
        wrap: Collection[int] = (),
        choices: abc.Mapping[int, Sequence[str]] | None = None,
    ) -> _Sheet:
        if self.book is not None:
            try:
                sheet = self.book.sheet(title, headers, widths, wrap, choices)
            except OSError as exc:
                raise _cannot_write(self.path, exc) from None
            return _Sheet(sheet, self.path)
        target = _Target(path or self.path)
        self.targets.append(target)
        try:
            file = _CsvFile(target)
        except OSError as exc:
            raise _cannot_write(target.path, exc) from None
        self.csv_files.append(file)
        result = _Sheet(file, target.path)
        result.append(headers)
        return result

    def close(self, ok: bool) -> None:
        """Save and rename everything into place (ok), or remove it all; a failure to
        save removes it all too and raises ReportError."""
        failure: ReportError | None = None
        for file in self.csv_files:
            try:
                file.finish() if ok and failure is None else file.handle.close()
            except OSError as exc:
                failure = failure or _cannot_write(file.target.path, exc)
        if self.book is not None:
            if ok and failure is None:
                try:
                    self.book.close()
                except OSError as exc:
                    failure = _cannot_write(self.path, exc)
            else:
                self.book.discard()
        for target in self.targets:
            if ok and failure is None:
                try:
                    target.commit()
                except ReportError as exc:
                    failure = exc
            else:
                target.discard()
        if failure is not None:
            for target in self.targets:
                target.discard()  # the ones renamed into place already stay: they are whole
            raise failure


def write_table(
    path: Path,
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    sheet_title: str = "Sheet1",
    choices: abc.Mapping[int, Sequence[str]] | None = None,
) -> int:
    """Write a table (an .xlsx with one sheet, or a .csv file); return the number of rows.
    The `choices` columns (counted from 0) of an .xlsx get a drop-down of those words."""
    return _write(Path(path), [SheetSpec(sheet_title, headers, rows, choices=choices or {})])[0]


def write_workbook(path: Path, sheets: Iterable[SheetSpec]) -> list[int]:
    """Write an .xlsx with one sheet per spec, in order; return the rows of each."""
    path = Path(path)
    if report_kind(path) != "xlsx":
        raise ReportError(f"{path.name}: a workbook must be an .xlsx file.")
    return _write(path, sheets)


def _write(path: Path, sheets: Iterable[SheetSpec]) -> list[int]:
    writer = _Writer(path)
    ok = False
    counts: list[int] = []
    try:
        for spec in sheets:
            iterator = iter(spec.rows)
            sample = [] if spec.widths is not None else list(islice(iterator, WIDTH_SAMPLE))
            widths = spec.widths if spec.widths is not None else _widths(spec.headers, sample)
            sheet = writer.sheet(
                spec.title, spec.headers, widths, wrap=spec.wrap, choices=spec.choices
            )
            count = 0
            for row in chain(sample, iterator):
                sheet.append(row)
                count += 1
            counts.append(count)
        ok = True
    finally:
        writer.close(ok)
    return counts


# -- validation reports -----------------------------------------------------------------------


class ValidationReport:
    """A validation report written as records arrive; use it as a context manager.

    The sheets are opened at the start; records are added one by one (`add`), problems
    as they are found (`add_problems`). Leaving the block with an exception deletes the
    unfinished file.
    """

    def __init__(
        self, path: Path, template: Template, settings: ValueSettings, blocked: bool = False
    ) -> None:
        self.template = template
        self.settings = settings
        self.blocked = blocked
        self.columns = tuple(template.columns)
        self.rows = 0
        self._writer = _Writer(Path(path))
        records_headers = ["Row", *(c.display_name for c in self.columns), "Status"]
        record_widths = [8.0, *(_column_width(c.display_name) for c in self.columns), 10.0]
        try:
            self._problems = self._writer.sheet(
                "Problems", PROBLEM_HEADERS, (8, 20, 30, 80), self._writer.path
            )
            self._records = self._writer.sheet(
                "Records", records_headers, record_widths, records_csv_path(self._writer.path)
            )
        except BaseException:
            self._writer.close(False)
            raise

    def __enter__(self) -> ValidationReport:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._writer.close(ok=kind is None)

    def add_problems(self, problems: Iterable[Problem], *, warnings: bool = False) -> None:
        """Lines of the Problems sheet; `warnings` marks each sentence as a warning."""
        mark = WARNING_MARK if warnings else ""
        for problem in problems:
            message = mark + problem.message
            self._problems.append([problem.row, problem.column, problem.value, message])

    def add(self, record: Record, *, with_problems: bool = True) -> None:
        """One record's row in "Records" and, unless told otherwise, its problems and
        warnings."""
        self._records.append(self.record_row(record))
        self.rows += 1
        if with_problems and record.problems:
            self.add_problems(record.problems)
        if with_problems and record.warnings:
            self.add_problems(record.warnings, warnings=True)

    def record_row(self, record: Record) -> list[object]:
        """The cells of a record's row in "Records"."""
        failed = {p.column for p in record.problems} if record.problems else ()
        row: list[object] = [record.row]
        for column in self.columns:
            name = column.internal_name
            if column.display_name in failed:
                row.append(record.raw.get(name))  # what the sheet holds, not sendable
            elif name in record.values:
                row.append(display(column, record.values[name], self.settings))
            else:
                row.append(None)
        valid = record.ok and not self.blocked
        row.append(STATUS_VALID if valid else STATUS_INVALID)
        return row


def _column_width(name: str) -> float:
    return float(min(max(len(name) + 4, 14), 40))


def write_validation_report(
    path: Path, result: ValidationResult, template: Template, settings: ValueSettings
) -> None:
    """Write the report of a finished validation (its records must have been kept)."""
    with ValidationReport(path, template, settings, result.blocked) as report:
        report.add_problems(result.sheet_problems)
        for record in result.records:
            report.add(record, with_problems=False)
        told = [(p, False) for p in result.problems if p not in result.sheet_problems]
        told += [(p, True) for p in result.cell_warnings]
        told.sort(key=lambda pair: pair[0].row or 0)  # stable: a row's problems, then warnings
        for problem, warning in told:
            report.add_problems([problem], warnings=warning)


def validate_into_report(
    path: Path,
    sheet: SheetData | SheetStream,
    template: Template,
    settings: ValueSettings,
    mapping: Mapping | None = None,
) -> ValidationResult:
    """Validate `sheet` and write its report as the rows go by; only problems are kept."""
    validator = Validator(sheet, template, settings, mapping)
    with ValidationReport(path, template, settings, validator.blocked) as report:
        report.add_problems(validator.sheet_problems)
        return validator.run(sheet.rows, keep_records=False, each=report.add)


def rows_of(
    records: Iterable[Record], template: Template, settings: ValueSettings
) -> Iterator[list[str]]:
    """Records as display text in template order, for `write_table`."""
    for record in records:
        yield [display(c, record.values.get(c.internal_name), settings) for c in template.columns]
