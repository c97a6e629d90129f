"""Checking a sheet into editor rows: what the window's import Task runs in its worker.

    task = Task(lambda state: load_records(request, state), name="import")

Rows are read, mapped and checked in batches (core.validation's Validator), turned into
compact editor rows at once so the Records never pile up, and the row keys are indexed
here too: the GUI thread only swaps the finished rows in. Between batches the run
checks for Cancel and reports how many rows it has read.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from opus_desktop.core.gcpause import collector_paused
from opus_desktop.core.mapping import Mapping, Plan, auto_match
from opus_desktop.core.records import Problem
from opus_desktop.core.schema import Template
from opus_desktop.core.sheets import (
    SheetData,
    SheetInfo,
    open_sheet,
    raw_batches,
    read_sheet,
    sheet_names,
)
from opus_desktop.core.validation import BATCH, Validator
from opus_desktop.core.values import ValueSettings
from opus_desktop.jobs.state import RunState
from opus_desktop.usecases.rows import ColumnSet, KeyIndex, Row, Tally, tally


@dataclass(frozen=True)
class ImportRequest:
    path: Path
    template: Template
    settings: ValueSettings
    mapping: Mapping | None = None  # None: headers matched automatically
    sheet: str | None = None  # None: the first sheet with a header row
    header_row: int | None = None  # None: detected
    # Stop before reading rows when required columns have no source (the caller asks).
    require_complete: bool = False


@dataclass
class LoadedSheet:
    """What an import hands the editor."""

    source: SheetInfo
    mapping: Mapping
    plan: Plan
    columns: ColumnSet
    rows: list[Row] = field(default_factory=list)
    keys: KeyIndex | None = None
    counts: Tally | None = None  # invalid rows, problems, next seq: counted in the worker
    sheet_problems: list[Problem] = field(default_factory=list)  # from the mapping, once
    warnings: list[str] = field(default_factory=list)  # e.g. Graph's createdBy left empty
    cancelled: bool = False
    incomplete: bool = False  # require_complete and required columns have no source
    seconds: float = 0.0

    @property
    def invalid_rows(self) -> int:
        return (self.counts or tally(self.rows))[0]

    def summary(self) -> str:
        rows = "1 row" if len(self.rows) == 1 else f"{len(self.rows):,} rows"
        told = "".join(f" Warning: {warning}" for warning in self.warnings)
        return f"{self.source.source}: {rows}, {self.invalid_rows:,} with problems.{told}"


PREVIEW_ROWS = 200  # rows the import dialog shows, and looks through for option labels


@dataclass(frozen=True)
class Inspection:
    """What the import dialog shows before anything is imported."""

    sheets: list[str]
    data: SheetData  # the header and the first PREVIEW_ROWS data rows


def inspect_sheet(
    path: Path, sheet: str | None = None, header_row: int | None = None
) -> Inspection:
    return Inspection(sheet_names(path), read_sheet(path, sheet, header_row, PREVIEW_ROWS))


def load_records(request: ImportRequest, state: RunState | None = None) -> LoadedSheet:
    """Read every row of the sheet as editor rows; stops early (cancelled) on request."""
    with collector_paused(freeze=True):
        return _load(request, state or RunState())


def _load(request: ImportRequest, state: RunState) -> LoadedSheet:
    started = time.perf_counter()
    state.start(0)
    state.set_status("Opening the sheet…")
    stream = open_sheet(request.path, request.sheet, request.header_row)
    mapping = request.mapping or auto_match(stream.headers, request.template)
    validator = Validator(stream, request.template, request.settings, mapping)
    columns = ColumnSet(request.template, request.settings)
    fed = set(validator.fed_names)
    unfed = [i for i, name in enumerate(columns.names) if name not in fed]
    loaded = LoadedSheet(
        source=stream,
        mapping=mapping,
        plan=validator.plan,
        columns=columns,
        sheet_problems=list(validator.sheet_problems),
    )
    if request.require_complete and validator.plan.missing:
        loaded.incomplete = True
        return loaded
    rows = loaded.rows
    watched = validator.watched()
    empty: Counter[str] = Counter()
    for batch in raw_batches(stream, BATCH):
        if state.cancel_requested:
            loaded.cancelled = True
            break
        checked = validator.check_batch(batch)
        for name in watched:
            empty[name] += (checked.column(name) or []).count(None)
        rows.extend(columns.rows_from_checked(checked, unfed, seq=len(rows)))
        state.add(stored=len(batch))
        state.set_status(f"{len(rows):,} rows read and checked")
    if not loaded.cancelled:
        keys = KeyIndex(columns.key_index)
        keys.build(rows)
        loaded.keys = keys
        loaded.counts = tally(rows)
        loaded.warnings = validator.warnings(empty, len(rows))
    loaded.seconds = time.perf_counter() - started
    return loaded
