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
from datetime import datetime
from itertools import islice, repeat
from operator import methodcaller

from opus_desktop.core import date_order
from opus_desktop.core.errors import CoreError, SheetError
from opus_desktop.core.gcpause import collector_paused
from opus_desktop.core.mapping import Mapping, Plan, RowReader, apply, auto_match
from opus_desktop.core.records import Problem, Record, mark_duplicate_keys
from opus_desktop.core.schema import ROW_KEY, Column, ColumnType, Template
from opus_desktop.core.sheets import SheetData, SheetInfo, SheetRow, SheetStream, open_sheet
from opus_desktop.core.values import ValueProblem, ValueSettings, make_converter

BATCH = 512  # rows converted together, column by column
_MEMORY = 10_000  # remembered conversions per column before the memory starts afresh
_MISSING = object()
_Problems = dict[int, list[Problem]]  # index in the batch -> that row's problems


class _Column:
    """One template column's conversion over a batch of cells, remembering what it saw.

    The values module already remembers text conversions; here a dictionary lookup, run
    in C through `map`, stands in for the whole converter call for every value the
    column repeats (labels, terms, people, dates), and only new values are converted one
    by one. A column whose values hardly repeat (row keys, names, exact times) stops
    remembering once that is clear, so it costs no memory.
    """

    def __init__(self, column: Column, settings: ValueSettings, hashable: bool) -> None:
        self.name = column.internal_name
        self.display_name = column.display_name
        self.required = column.required
        self.convert = make_converter(column, settings)
        # List values: every record gets a list of its own, since the editor changes them.
        self.copies = column.type in (ColumnType.MULTIPLE_CHOICE, ColumnType.PEOPLE_OR_GROUP)
        self.remember = hashable  # False when a value map turns cells into lists
        self.memory: dict[object, object] = {}
        self.looked = self.found = 0
        # Called as hook(cell, row number) before a value not seen before is converted.
        self.hook: Callable[[object, int], None] | None = None
        self._forget()

    def _forget(self) -> None:
        self.memory.clear()
        if not self.required:
            self.memory[None] = None  # an empty optional cell converts to nothing

    def convert_all(
        self, given: list[object], rows: Sequence[SheetRow], sheet: str, problems: _Problems
    ) -> list[object]:
        memory = self.memory
        if self.remember:
            results = list(map(memory.get, given, repeat(_MISSING, len(given))))
        else:
            results = [None if cell is None and not self.required else _MISSING for cell in given]
        if _MISSING in results:
            misses = [index for index, value in enumerate(results) if value is _MISSING]
            self.looked += len(results)
            self.found += len(results) - len(misses)
            remember = self.remember
            for index in misses:
                cell = given[index]
                # A value repeated within the batch was not in memory when `map` ran.
                value = memory.get(cell, _MISSING) if remember else _MISSING
                if value is not _MISSING:
                    self.found += 1
                else:
                    if self.hook is not None:
                        self.hook(cell, rows[index].number)
                    try:
                        value = self.convert(cell)
                    except ValueProblem as exc:
                        problem = Problem(
                            rows[index].number, self.display_name, cell, exc.message, sheet
                        )
                        problems.setdefault(index, []).append(problem)
                        value = None
                    else:
                        if remember and (type(cell) is str or type(cell) is datetime):
                            memory[cell] = value
                results[index] = value
            if len(memory) > _MEMORY:
                self._forget()
            if remember and self.looked >= _MEMORY and self.found * 10 < self.looked:
                self.remember = False
                self._forget()
        if self.copies:
            results = [list(v) if type(v) is list else v for v in results]
        return results


class _DateColumn(_Column):
    """A date column whose order its values decide: until they do, each new value is
    looked at first, and one that reads both ways has the whole column surveyed."""

    def __init__(
        self,
        column: Column,
        settings: ValueSettings,
        hashable: bool,
        survey: Callable[[], None],
    ) -> None:
        super().__init__(column, settings, hashable)
        self.column = column
        self.settings = settings
        self.evidence = date_order.Evidence()
        self.survey = survey
        self.hook = self._look
        self.decision: date_order.Decision | None = None

    def _look(self, cell: object, row: int) -> None:
        if type(cell) is str and self.evidence.see(cell, row) is date_order.AMBIGUOUS:
            self.survey()  # settles this column (and the other undecided ones)

    def settle(self, evidence: date_order.Evidence, whole: bool = True) -> None:
        """Decide from `evidence` (everything the column holds, unless not `whole`)."""
        self.evidence = evidence
        self.hook = None
        decision = date_order.decide(self.display_name, evidence, self.settings.date_format)
        if not whole and evidence.ambiguous:
            decision = replace(decision, order=date_order.ASK)
        self.decision = decision
        self.convert = make_converter(
            self.column, replace(self.settings, date_order=decision.order)
        )
        self._forget()

    def told(self) -> str | None:
        """What was decided, as a sentence (None: nothing worth saying)."""
        if self.decision is None:
            return date_order.decide(
                self.display_name, self.evidence, self.settings.date_format
            ).sentence
        return self.decision.sentence


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
    ) -> None:
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
        columns: list[_Column] = []
        self.chosen_orders: list[str] = []
        for c in template:
            if c.internal_name not in fed:
                continue
            hashable = c.internal_name not in lists
            if c.type is not ColumnType.DATE_TIME:
                columns.append(_Column(c, settings, hashable))
            elif self.date_order is not None or c.internal_name not in self.plan.sources:
                columns.append(_Column(c, dated, hashable))
                if self.date_order is not None and c.internal_name in self.plan.sources:
                    told = date_order.chosen(c.display_name, self.date_order).sentence
                    self.chosen_orders.append(told or "")
            else:
                columns.append(_DateColumn(c, settings, hashable, self._survey))
        self.columns = tuple(columns)
        self.fed_names = tuple(c.name for c in self.columns)
        self.first_row_of: dict[str, int] = {}
        self.duplicates = 0
        self.expected = expected_columns(template, settings)

    def date_orders(self) -> list[str]:
        """How each date column's dates in digits were read, as sentences."""
        if self.date_order is not None:
            return list(self.chosen_orders)
        told = (c.told() for c in self.columns if isinstance(c, _DateColumn))
        return [sentence for sentence in told if sentence]

    def _survey(self) -> None:
        """Look through every row of the undecided date columns once, and decide them."""
        pending = [c for c in self.columns if isinstance(c, _DateColumn) and c.hook is not None]
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
        """What to warn of, given the empty cells of the watched columns in `rows` rows."""
        fed = set(self.fed_names)
        said = (
            gap_warning(c, empty[c.internal_name], rows, c.internal_name in fed)
            for c in self.expected
        )
        return [sentence for sentence in said if sentence]

    def check(self, row: SheetRow) -> Record:
        """One row as a Record, the same as records.build_record makes it."""
        return self.check_rows([row])[0]

    def check_rows(self, rows: Sequence[SheetRow]) -> list[Record]:
        """Rows as Records, converted column by column.

        Going down a column lets a dictionary lookup (in C, through `map`) stand in for
        the conversion of every value the column repeats: labels, terms, people, dates.
        Only values not seen before go through the column's converter, one by one.
        """
        sheet = self.source.sheet
        raws = self.read.many(rows)
        problems: _Problems = {}
        converted: list[list[object]] = []
        for column in self.columns:
            given = list(map(methodcaller("get", column.name), raws))
            converted.append(column.convert_all(given, rows, sheet, problems))

        names, all_names = self.fed_names, self.names
        first_row_of = self.first_row_of
        records: list[Record] = []
        by_row = zip(*converted, strict=True) if converted else repeat((), len(rows))
        for index, (row, raw, row_values) in enumerate(zip(rows, raws, by_row, strict=True)):
            if None in row_values:
                values = {n: v for n, v in zip(names, row_values, strict=True) if v is not None}
            else:
                values = dict(zip(names, row_values, strict=True))
            number = row.number
            record = Record(number, values, problems.get(index, []), raw, sheet, all_names)
            key = values.get(ROW_KEY)
            if type(key) is str and first_row_of.setdefault(key, number) != number:
                # Streaming keeps no earlier records: a stand-in carries the row
                # number, so the message is the one mark_duplicate_keys writes.
                earlier = Record(first_row_of[key], {ROW_KEY: key}, sheet=sheet)
                self.duplicates += mark_duplicate_keys([earlier, record])
            records.append(record)
        return records

    def run(
        self,
        rows: Iterable[SheetRow],
        *,
        keep_records: bool = True,
        each: Callable[[Record], None] | None = None,
    ) -> ValidationResult:
        records: list[Record] = []
        problems = list(self.sheet_problems)
        by_column: Counter[str] = Counter()
        count = invalid = 0
        rows = iter(rows)
        watched = self.watched()
        empty: Counter[str] = Counter()
        with collector_paused():
            while batch := list(islice(rows, BATCH)):
                batch_records = self.check_rows(batch)
                for name in watched:
                    empty[name] += sum(1 for r in batch_records if name not in r.values)
                for record in batch_records:
                    if record.problems:
                        invalid += 1
                        problems.extend(record.problems)
                        by_column.update(p.column or "" for p in record.problems)
                    if each is not None:
                        each(record)
                count += len(batch)
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
    return validator.run(sheet.rows, keep_records=keep_records, each=each)
