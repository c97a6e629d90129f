"""Checking a whole sheet: every row through the mapping and the column conversions.

`validate(sheet, template, settings, mapping)` returns the records, every problem (sheet,
Excel row, column display name, the value as given, a sentence) and the counts. A
mapping that leaves a required column without a source is reported once, against the
header row, instead of once per row; nothing can be sent until it is fixed, so every
record then counts as invalid. Mapping entries that no longer fit the sheet ("stale")
are reported once as well, but do not block records on their own.

For 100,000 rows, pass a SheetStream and `keep_records=False` with an `each` callback
(such as a report writer): rows are converted a batch at a time and nothing but the
problems is kept. A repeated row key is flagged on the later row, naming the earlier one.

Dates in digits are read in the date order chosen (settings.date_order, else the
mapping's), or else in the order each date column's own values decide (core.date_order).
Values that read only one way never need the decision; the first one that reads both
ways (03/04/2019) has the whole column looked through once (the sheet read a second
time, from the start), so that a contradiction anywhere in it is known before any such
date is read. `ValidationResult.date_orders` says what was decided, column by column.

Warnings do not make a row invalid: `ValidationResult.warnings` says, once a column, when a
column the API documents as required but the template leaves optional (settings.expected;
Graph's Created by and Modified by) has no source or is empty in some rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice, repeat

from opus_desktop.core import date_order
from opus_desktop.core.column_checks import ColumnCheck, DateColumnCheck
from opus_desktop.core.errors import CoreError, SheetError
from opus_desktop.core.gcpause import collector_paused
from opus_desktop.core.mapping import Mapping, Plan, RowReader, apply, auto_match
from opus_desktop.core.records import Problem, Record
from opus_desktop.core.schema import BUILT_INS, ROW_KEY, Column, ColumnType, Template
from opus_desktop.core.sheets import (
    RawRow,
    SheetData,
    SheetInfo,
    SheetRow,
    SheetStream,
    clean_value,
    open_sheet,
    raw_batches,
)
from opus_desktop.core.time_order import CREATED, MODIFIED, TimeOrder, order_warning
from opus_desktop.core.values import ValueSettings

BATCH = 512  # rows converted together, column by column


@dataclass
class CheckedRows:
    """A batch of rows checked column by column, before any Record is made of them."""

    numbers: list[int]  # the Excel row numbers
    names: tuple[str, ...]  # the internal names converted (fed by the sheet or a constant)
    values: list[list[object]]  # per name, the API values (None: empty, or a problem)
    given: list[list[object]]  # per name, the cells as read (before `clean_value`)
    problems: dict[int, list[Problem]]  # index in the batch -> that row's problems
    warnings: dict[int, list[Problem]] = field(default_factory=dict)  # the same, told only

    def column(self, name: str) -> list[object] | None:
        return self.values[self.names.index(name)] if name in self.names else None


@dataclass
class ValidationResult:
    source: SheetInfo
    plan: Plan
    records: list[Record]  # empty when validated with keep_records=False
    problems: list[Problem]  # the sheet's own problems first, then row by row
    sheet_problems: list[Problem]  # from the mapping: reported once, not per row
    rows: int = 0  # data rows read (blank rows are not counted)
    invalid_rows: int = 0  # rows with at least one problem of their own
    duplicates: int = 0  # rows whose row key an earlier row already uses
    blocked: bool = False  # a required column has no source: no record can be sent
    problems_by_column: Counter[str] = field(default_factory=Counter)
    date_orders: list[str] = field(default_factory=list)  # how each date column was read
    warnings: list[str] = field(default_factory=list)  # told, but no row is invalid for them
    cell_warnings: list[Problem] = field(default_factory=list)  # the cells told of, by row

    @property
    def valid_rows(self) -> int:
        return 0 if self.blocked else self.rows - self.invalid_rows

    @property
    def ok(self) -> bool:
        return not self.problems

    def is_valid(self, record: Record) -> bool:
        return record.ok and not self.blocked

    def summary(self) -> str:
        """One line for the CLI and the status bar."""
        rows = "1 row" if self.rows == 1 else f"{self.rows:,} rows"
        text = (
            f"{self.source.source}: {rows}, {self.valid_rows:,} valid, "
            f"{self.rows - self.valid_rows:,} invalid"
        )
        if self.sheet_problems:
            count = len(self.sheet_problems)
            text += f"; {count} problem{'s' if count != 1 else ''} with the mapping"
        return text + "."


def no_known_header(source: SheetInfo) -> str:
    """The sentence for a header row in which no header names a column of the connection."""
    shown = ", ".join(f"'{header}'" for header in [h for h in source.headers if h][:3])
    if source.header_guess is not None:
        then = f"the headers look to be on row {source.header_guess}."
    else:
        then = "choose the header row, or a mapping that names the sheet's headers."
    return (
        f"{source.source}: row {source.header_row}, read as the header row, names none of "
        f"the connection's columns (it holds {shown}); {then}"
    )


def expected_columns(template: Template, settings: ValueSettings) -> list[Column]:
    """The template's optional columns that the API documents as required."""
    wanted = set(settings.expected)
    return [c for c in template if c.internal_name in wanted and not c.required]


def gap_warning(column: Column, empty: int, rows: int, fed: bool = True) -> str | None:
    """The warning for an expected column empty in `empty` of `rows` rows (None: it is not),
    or fed by no header or constant at all."""
    why = (
        "which the Graph API documents as required: Opus may refuse those records (a "
        "setting of the profile makes this a problem)"
    )
    if not fed:
        return f"No header feeds {column.display_name}, {why}."
    if not empty:
        return None
    rows_text = "1 row" if rows == 1 else f"{rows:,} rows"
    return f"{column.display_name} is empty in {empty:,} of {rows_text}, {why}."


def expected_gaps(
    template: Template, settings: ValueSettings, records: Iterable[Record]
) -> list[str]:
    """The warnings for records already built (the editor's), one per expected column."""
    columns = expected_columns(template, settings)
    if not columns:
        return []
    kept = list(records)
    said = (
        gap_warning(c, sum(1 for r in kept if c.internal_name not in r.values), len(kept))
        for c in columns
    )
    return [sentence for sentence in said if sentence]


class Validator:
    """Checks rows of one sheet against one template; made once, used for every row."""

    def __init__(
        self,
        source: SheetInfo,
        template: Template,
        settings: ValueSettings,
        mapping: Mapping | None = None,
        *,
        repeated_keys: bool = True,
    ) -> None:
        # repeated_keys=False: a later pass over rows whose keys something else checks
        # (the journal's index does for a run), without holding every key here.
        self.repeated_keys = repeated_keys
        self.source = source
        self.template = template
        chosen = mapping if mapping is not None else auto_match(source.headers, template)
        self.plan = apply(chosen, source.headers, template)
        if mapping is None and not self.plan.sources and self.plan.row_key is None:
            raise SheetError(no_known_header(source))
        self.read = RowReader(self.plan)
        self.sheet_problems = self._sheet_problems()
        self.blocked = bool(self.plan.missing)
        self.names = tuple(template.internal_names)
        # Only columns the sheet (or a constant) feeds are converted: an unfed optional
        # column converts to nothing, and an unfed required one is reported once above.
        fed = set(self.plan.sources) | set(self.plan.constants)
        if self.plan.row_key is not None:
            fed.add(ROW_KEY)
        multiple = {c.internal_name for c in template if c.type is ColumnType.MULTIPLE_CHOICE}
        lists = multiple & set(chosen.values)
        self.date_order = settings.date_order or chosen.date_order
        dated = replace(settings, date_order=self.date_order)
        columns: list[ColumnCheck] = []
        self.chosen_orders: list[str] = []
        for c in template:
            if c.internal_name not in fed:
                continue
            hashable = c.internal_name not in lists
            if c.type is not ColumnType.DATE_TIME:
                columns.append(ColumnCheck(c, settings, hashable))
            elif self.date_order is not None or c.internal_name not in self.plan.sources:
                columns.append(ColumnCheck(c, dated, hashable))
                if self.date_order is not None and c.internal_name in self.plan.sources:
                    told = date_order.chosen(c.display_name, self.date_order).sentence
                    self.chosen_orders.append(told or "")
            else:
                columns.append(DateColumnCheck(c, settings, hashable, self._survey))
        self.columns = tuple(columns)
        self.fed_names = tuple(c.name for c in self.columns)
        # Where each column's cells are taken straight from one sheet column (no composed
        # key, constant or value map): those come from one transposition of the batch.
        straight = set(self.plan.sources) - set(self.plan.constants) - set(self.plan.values)
        if self.plan.row_key is not None:
            straight.discard(ROW_KEY)
        self._taken = tuple(
            self.plan.sources[c.name] if c.name in straight else None for c in self.columns
        )
        self.key_at = self.fed_names.index(ROW_KEY) if ROW_KEY in self.fed_names else None
        timed = CREATED in self.fed_names and MODIFIED in self.fed_names
        self.time_order = TimeOrder(settings, source.sheet) if timed else None
        self.cell_warnings: list[Problem] = []  # every row's, as they were checked
        self.key_column = BUILT_INS[ROW_KEY].display_name
        self.first_row_of: dict[str, int] = {}
        self.duplicates = 0
        self.expected = expected_columns(template, settings)

    def date_orders(self) -> list[str]:
        """How each date column's dates in digits were read, as sentences."""
        if self.date_order is not None:
            return list(self.chosen_orders)
        told = (c.told() for c in self.columns if isinstance(c, DateColumnCheck))
        return [sentence for sentence in told if sentence]

    def _survey(self) -> None:
        """Look through every row of the undecided date columns once, and decide them."""
        pending = [c for c in self.columns if isinstance(c, DateColumnCheck) and c.hook is not None]
        found = {c.name: date_order.Evidence() for c in pending}
        looks = [(self.plan.sources[c.name], found[c.name].see) for c in pending]
        rows = self._all_rows()
        for row in rows or ():
            cells, number = row.cells, row.number
            for index, see in looks:
                cell = cells[index] if index < len(cells) else None
                if type(cell) is str:
                    see(cell, number)
        for column in pending:
            if rows is None:  # the sheet cannot be read again: what was seen so far
                column.settle(column.evidence, whole=False)
            else:
                column.settle(found[column.name])

    def _all_rows(self) -> Iterable[SheetRow] | None:
        if isinstance(self.source, SheetData):
            return self.source.rows
        try:
            return open_sheet(self.source.path, self.source.sheet, self.source.header_row).rows
        except (CoreError, OSError):
            return None

    def _sheet_problems(self) -> list[Problem]:
        where = self.source.header_row
        sheet = self.source.sheet
        problems = [Problem(where, None, None, sentence, sheet) for sentence in self.plan.stale]
        for column in self.plan.missing:
            message = (
                f"No header in the sheet feeds {column.display_name}, which every record needs: "
                "map a header to it or give it a constant."
            )
            problems.append(Problem(where, column.display_name, None, message, sheet))
        return problems

    def watched(self) -> list[str]:
        """The expected columns fed by the mapping: count their empty cells for `warnings`."""
        fed = set(self.fed_names)
        return [c.internal_name for c in self.expected if c.internal_name in fed]

    def warnings(self, empty: Counter[str], rows: int) -> list[str]:
        """What to warn of, given the empty cells of the watched columns in `rows` rows
        (and the cells warned of as the rows were checked)."""
        fed = set(self.fed_names)
        said = [
            gap_warning(c, empty[c.internal_name], rows, c.internal_name in fed)
            for c in self.expected
        ]
        said.append(order_warning(self.cell_warnings))
        return [sentence for sentence in said if sentence]

    def check(self, row: SheetRow) -> Record:
        """One row as a Record, the same as records.build_record makes it."""
        return self.check_rows([row])[0]

    def check_rows(self, rows: Sequence[SheetRow]) -> list[Record]:
        """Rows as Records, converted column by column (see `check_batch`)."""
        batch = [(row.number, row.cells) for row in rows]
        return self.records(self.check_batch(batch, clean=False), clean=False)

    def check_batch(
        self, batch: Sequence[RawRow], *, keep: bool = True, clean: bool = True
    ) -> CheckedRows:
        """A batch of rows (as `sheets.raw_batches` gives them) converted column by
        column: only cells not seen before in their column go through its converter.
        `keep`: the values are to be kept (records, editor rows), so lists are copied;
        `clean`: the cells are as read (not SheetRow cells, which are clean already).
        A repeated row key is a problem of the later row, naming the earlier one."""
        sheet = self.source.sheet
        numbers = [number for number, _ in batch]
        cells = [row for _, row in batch]
        problems: dict[int, list[Problem]] = {}
        given: list[list[object]] = []
        converted: list[list[object]] = []
        column_of = self.read.column
        # Every row as wide as the headers (as sheets read them): one pass in C for all.
        down = list(zip(*cells, strict=True)) if len(set(map(len, cells))) == 1 else None
        for column, taken in zip(self.columns, self._taken, strict=True):
            if taken is not None and down is not None and taken < len(down):
                cells_given = list(down[taken])
            else:
                cells_given = column_of(column.name, numbers, cells)
            given.append(cells_given)
            converted.append(column.convert_all(cells_given, numbers, sheet, problems, keep, clean))
        if self.key_at is not None and self.repeated_keys:
            self._mark_repeated_keys(converted[self.key_at], numbers, problems)
        warnings: dict[int, list[Problem]] = {}
        if self.time_order is not None:
            made, changed = self.fed_names.index(CREATED), self.fed_names.index(MODIFIED)
            self.time_order.check(
                converted[made], converted[changed], given[changed], numbers, problems, warnings
            )
            for index in sorted(warnings):
                self.cell_warnings.extend(warnings[index])
        return CheckedRows(numbers, self.fed_names, converted, given, problems, warnings)

    def _mark_repeated_keys(
        self, keys: list[object], numbers: list[int], problems: dict[int, list[Problem]]
    ) -> None:
        first_row_of = self.first_row_of
        setdefault = first_row_of.setdefault
        if set(map(type, keys)) == {str}:
            # Every key registered in one pass in C: a row whose key an earlier row holds
            # gets that row's number back instead of its own.
            firsts = list(map(setdefault, keys, numbers))  # type: ignore[arg-type]
            if firsts == numbers:
                return  # no key seen before, none twice in the batch: the common case
            repeated = [
                (index, key, number)
                for index, (key, number, first) in enumerate(
                    zip(keys, numbers, firsts, strict=True)
                )
                if first != number
            ]
        else:
            repeated = [
                (index, key, number)
                for index, (key, number) in enumerate(zip(keys, numbers, strict=True))
                if type(key) is str and setdefault(key, number) != number
            ]
        for index, key, number in repeated:
            # The sentence mark_duplicate_keys writes.
            message = f"The row key '{key}' is also used on row {first_row_of[key]}."  # type: ignore[index]
            problem = Problem(number, self.key_column, key, message, self.source.sheet)
            problems.setdefault(index, []).append(problem)
            self.duplicates += 1

    def records(self, checked: CheckedRows, clean: bool = True) -> list[Record]:
        """The batch's rows as Records (`raw`: the cells cleaned, as `rows` gives them)."""
        sheet = self.source.sheet
        names, all_names = checked.names, self.names
        problems = checked.problems
        records: list[Record] = []
        width = len(checked.numbers)
        by_row = zip(*checked.values, strict=True) if names else repeat((), width)
        given = zip(*checked.given, strict=True) if names else repeat((), width)
        for index, (number, row_values, row_given) in enumerate(
            zip(checked.numbers, by_row, given, strict=True)
        ):
            if None in row_values:
                values = {n: v for n, v in zip(names, row_values, strict=True) if v is not None}
            else:
                values = dict(zip(names, row_values, strict=True))
            cells = map(clean_value, row_given) if clean else row_given
            raw: dict[str, object] = dict(zip(names, cells, strict=True))
            record = Record(number, values, problems.get(index, []), raw, sheet, all_names)
            if index in checked.warnings:
                record.warnings = checked.warnings[index]
            records.append(record)
        return records

    def run(
        self,
        rows: Iterable[SheetRow] | None = None,
        *,
        keep_records: bool = True,
        each: Callable[[Record], None] | None = None,
    ) -> ValidationResult:
        """Check `rows` (None, or the source's own `rows`: the source read as it comes);
        `each` is given every record; with neither it nor `keep_records`, no Record is
        made of a row at all: only the problems are kept."""
        source = self.source
        batches: Iterable[Sequence[RawRow]]
        whole = isinstance(source, SheetData | SheetStream)
        clean = rows is None or (whole and rows is source.rows)  # type: ignore[attr-defined]
        if clean:
            batches = raw_batches(source, BATCH)  # type: ignore[arg-type]
        else:
            pairs = ((row.number, row.cells) for row in rows or ())
            batches = iter(lambda: list(islice(pairs, BATCH)), [])
        records: list[Record] = []
        problems = list(self.sheet_problems)
        by_column: Counter[str] = Counter()
        count = invalid = 0
        watched = self.watched()
        empty: Counter[str] = Counter()
        build = keep_records or each is not None
        with collector_paused():
            for batch in batches:
                checked = self.check_batch(batch, keep=build, clean=clean)
                for name in watched:
                    empty[name] += checked.values[checked.names.index(name)].count(None)
                found = checked.problems
                invalid += len(found)
                for index in sorted(found):
                    problems.extend(found[index])
                    by_column.update(p.column or "" for p in found[index])
                count += len(batch)
                if build:
                    batch_records = self.records(checked, clean)
                    if each is not None:
                        for record in batch_records:
                            each(record)
                    if keep_records:
                        records.extend(batch_records)
        return ValidationResult(
            source=self.source,
            plan=self.plan,
            records=records,
            problems=problems,
            sheet_problems=list(self.sheet_problems),
            rows=count,
            invalid_rows=invalid,
            duplicates=self.duplicates,
            blocked=self.blocked,
            problems_by_column=by_column,
            date_orders=self.date_orders(),
            warnings=self.warnings(empty, count),
            cell_warnings=list(self.cell_warnings),
        )


def validate(
    sheet: SheetData | SheetStream,
    template: Template,
    settings: ValueSettings,
    mapping: Mapping | None = None,
    *,
    keep_records: bool = True,
    each: Callable[[Record], None] | None = None,
) -> ValidationResult:
    """Check every row of `sheet`; without a mapping, headers are matched automatically."""
    validator = Validator(sheet, template, settings, mapping)
    return validator.run(keep_records=keep_records, each=each)
