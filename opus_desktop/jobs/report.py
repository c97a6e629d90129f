"""The report of a submit run: what became of every row, and the rows to fix and send again.

An .xlsx with two sheets:

- "Outcome": every row of the run in sheet order: Excel row, row key, outcome (stored,
  failed, skipped, pending) and the service's message (or the row's problems).
- "Failed rows": the rows that failed or were skipped as invalid, with their original
  columns and a last column "Reason". The officer fixes them in Excel and submits this
  sheet again: it has the same headers, so the same mapping reads it.

Where the failed rows come from: the input file itself, read again, when it is still
there and unchanged (its SHA-256 is in the journal), so every column, value and header
is exactly the officer's own. Otherwise (moved, edited since) they are rebuilt from the
payloads in the journal under the columns' internal names, which header matching also
understands; the report's `note` says so.

As .csv, the two sheets become two files: OUT.csv (outcome) and OUT.failed.csv.
Files are written beside their target and renamed into place, so a failure leaves none
half written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opus_desktop.core.errors import CoreError
from opus_desktop.core.reports import (
    SheetSpec,
    cell_text,
    report_kind,
    write_table,
    write_workbook,
)
from opus_desktop.core.schema import ROW_KEY
from opus_desktop.core.sheets import open_sheet
from opus_desktop.core.validation import ValidationResult
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.journal_types import ItemState, RunInfo
from opus_desktop.jobs.submit import problem_text

OUTCOME_SHEET = "Outcome"
FAILED_SHEET = "Failed rows"
OUTCOME_HEADERS = ("Row", "Row key", "Outcome", "Message")
REASON = "Reason"
OUTCOME_WORDS: dict[ItemState, str] = {
    "ok": "stored",
    "failed": "failed",
    "skipped": "skipped",
    "pending": "pending",
    "in_flight": "pending",  # may or may not have arrived: it is sent again on resume
}


@dataclass(frozen=True)
class Outcome:
    """One row of the "Outcome" sheet, with what is needed to rebuild it if failed."""

    row: int | None
    key: str
    outcome: str  # stored, failed, skipped, pending
    message: str
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def to_fix(self) -> bool:
        return self.outcome in ("failed", "skipped")


@dataclass(frozen=True)
class Source:
    """The input a run read: where to find its rows again and how to know they are the same."""

    path: Path | None
    sha256: str | None
    sheet: str | None = None
    header_row: int | None = None


@dataclass(frozen=True)
class ReportSummary:
    path: Path
    rows: int  # rows in "Outcome"
    to_fix: int  # rows in "Failed rows"
    from_input: bool  # the failed rows were copied from the input file
    note: str = ""  # why they were not, when they were not


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def run_outcomes(journal: Journal, run_id: str) -> list[Outcome]:
    """Every item of a run as an Outcome, in sheet order."""
    found = [
        Outcome(
            item.row,
            _shown_key(item.key, item.payload),
            OUTCOME_WORDS[item.state],
            item.message,
            item.payload,
        )
        for item in journal.items(run_id)
    ]
    return sorted(found, key=_by_row)


def validation_outcomes(result: ValidationResult, message: str) -> list[Outcome]:
    """A validation as Outcomes without a run (a dry run): valid rows pending with
    `message`, invalid ones skipped with their problems."""
    outcomes = []
    for record in result.records:
        payload = record.payload()
        key = record.row_key or ""
        if result.is_valid(record):
            outcomes.append(Outcome(record.row, key, "pending", message, payload))
        else:
            text = problem_text(record) or "This row is not valid."
            outcomes.append(Outcome(record.row, key, "skipped", text, payload))
    return outcomes


def source_of(info: RunInfo) -> Source:
    options = info.options
    sheet = options.get("sheet")
    header_row = options.get("header_row")
    return Source(
        Path(info.input_path) if info.input_path else None,
        info.input_sha256,
        sheet if isinstance(sheet, str) else None,
        header_row if isinstance(header_row, int) else None,
    )


def write_run_report(path: Path, journal: Journal, run_id: str) -> ReportSummary:
    """Write the report of a run as the journal has it now."""
    info = journal.run(run_id)
    return write_report(path, run_outcomes(journal, info.id), source_of(info))


def write_report(path: Path, outcomes: Sequence[Outcome], source: Source) -> ReportSummary:
    path = Path(path)
    kind = report_kind(path)
    headers, failed_rows, note = _failed_rows(outcomes, source)
    outcome_rows: list[list[object]] = [
        [outcome.row, outcome.key, outcome.outcome, outcome.message] for outcome in outcomes
    ]
    if kind == "csv":
        write_table(path, OUTCOME_HEADERS, outcome_rows, OUTCOME_SHEET)
        write_table(failed_csv_path(path), headers, failed_rows, FAILED_SHEET)
    else:
        write_workbook(
            path,
            [
                SheetSpec(OUTCOME_SHEET, OUTCOME_HEADERS, outcome_rows, (8, 24, 10, 90)),
                SheetSpec(FAILED_SHEET, headers, failed_rows),
            ],
        )
    return ReportSummary(path, len(outcome_rows), len(failed_rows), not note, note)


def failed_csv_path(path: Path) -> Path:
    """Where the failed rows of a CSV report go: OUT.csv -> OUT.failed.csv."""
    return path.with_name(f"{path.stem}.failed{path.suffix}")


# -- the failed rows --------------------------------------------------------------------------


def _failed_rows(
    outcomes: Sequence[Outcome], source: Source
) -> tuple[list[str], list[list[object]], str]:
    """Headers and rows of "Failed rows", and a note when they are not from the input."""
    to_fix = [outcome for outcome in outcomes if outcome.to_fix]
    why_not = _input_unusable(source, to_fix)
    if not why_not:
        try:
            return (*_from_input(source, to_fix), "")
        except (CoreError, OSError) as exc:
            why_not = f"it could not be read again ({exc})"
    headers, rows = _from_payloads(to_fix)
    note = (
        f"The failed rows are rebuilt from the journal, since {why_not}: the columns "
        "carry their internal names, which the import matches."
    )
    return headers, rows, note


def _input_unusable(source: Source, to_fix: Sequence[Outcome]) -> str:
    if not to_fix:
        return ""
    if source.path is None:
        return "the run has no input file"
    if any(outcome.row is None for outcome in to_fix):
        return "the run's rows carry no row numbers"
    try:
        same = source.sha256 is not None and file_sha256(source.path) == source.sha256
    except OSError:
        return f"the input file {source.path} is no longer there"
    if not same:
        return f"the input file {source.path} has changed since the run"
    return ""


def _from_input(source: Source, to_fix: Sequence[Outcome]) -> tuple[list[str], list[list[object]]]:
    assert source.path is not None
    reasons = {outcome.row: outcome.message for outcome in to_fix}
    sheet = open_sheet(source.path, source.sheet, source.header_row)
    headers = list(sheet.headers)
    reason = _free_name(REASON, headers)
    rows: list[list[object]] = []
    for row in sheet.rows:
        if row.number in reasons:
            rows.append([*row.cells, reasons[row.number]])
    return [*headers, reason], rows


def _from_payloads(to_fix: Sequence[Outcome]) -> tuple[list[str], list[list[object]]]:
    columns: dict[str, None] = {ROW_KEY: None}
    for outcome in to_fix:
        columns.update(dict.fromkeys(outcome.payload))
    names = list(columns)
    rows = [
        [_payload_value(outcome.payload.get(name)) for name in names] + [outcome.message]
        for outcome in to_fix
    ]
    return [*names, _free_name(REASON, names)], rows


def _payload_value(value: object) -> object:
    # Lists (choices, people) as "a; b", which the import reads back; numbers stay numbers.
    return cell_text(value) if isinstance(value, list | tuple) else value


def _free_name(name: str, taken: Iterable[str]) -> str:
    used = {header.strip().casefold() for header in taken}
    candidate, number = name, 1
    while candidate.casefold() in used:
        number += 1
        candidate = f"{name} {number}"
    return candidate


def _shown_key(key: str, payload: Mapping[str, Any]) -> str:
    """The row key as the sheet has it: a stand-in key ("(row 41)") shows as what the row
    gave, or nothing."""
    given = payload.get(ROW_KEY)
    if key.startswith("(row ") and given != key:
        return given if isinstance(given, str) else ""
    return key


def _by_row(outcome: Outcome) -> tuple[int, int]:
    return (0, outcome.row) if outcome.row is not None else (1, 0)
