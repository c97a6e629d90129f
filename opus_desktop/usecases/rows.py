"""The editor's rows and the per-column work behind them; no Qt, so a worker can build them.

A Row keeps one value per template column: the API value when the cell is valid, the
value as given (typed, pasted or read from the sheet) when it is not, with the problem's
sentence in `problems`. Display strings are made when a cell is drawn, never stored, so
100,000 rows cost one small object and one list each.

Row keys are checked across rows by a KeyIndex (key -> the rows holding it): an edit
re-checks only the rows sharing the old and the new key, never the whole sheet. Of the
rows sharing a key, the one made first (lowest `seq`: sheet order, then rows added in
the editor) keeps it; the others are marked as duplicates of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from itertools import repeat
from operator import attrgetter, contains, itemgetter
from typing import Any, cast

from opus_desktop.core import datetimes
from opus_desktop.core.records import Problem, Record
from opus_desktop.core.schema import ROW_KEY, Column, ColumnType, Template
from opus_desktop.core.time_order import CREATED, MODIFIED, TimeOrder, is_order_sentence
from opus_desktop.core.validation import CheckedRows
from opus_desktop.core.values import (
    LIST_JOINER,
    Converter,
    ValueProblem,
    ValueSettings,
    display,
    make_converter,
)
from opus_desktop.jobs.journal_types import ItemState

# A row's state with Opus, filled in by the submit run.
PENDING, SENT, STORED, FAILED, SKIPPED = "pending", "sent", "stored", "failed", "skipped"
STATUSES = (PENDING, SENT, STORED, FAILED, SKIPPED)
UNSENT = ("", PENDING)  # never sent: imported or added and not yet submitted

SortKey = Callable[["Row"], tuple[Any, ...]]


class Row:
    """One record in the editor. `seq` orders rows by creation, whatever the sort."""

    __slots__ = (
        "duplicate_of",
        "message",
        "order",
        "problems",
        "seq",
        "source",
        "status",
        "values",
    )

    def __init__(
        self,
        values: list[object],
        problems: dict[int, str] | None = None,
        source: int | None = None,
        seq: int = 0,
    ) -> None:
        self.values = values
        self.problems = problems or None  # template column index -> sentence
        self.source = source  # the Excel row number; None for rows added in the editor
        self.seq = seq
        self.status = ""
        self.message = ""
        self.duplicate_of: Row | None = None
        # A Modified time earlier than the Created time: the sentence on the Modified time
        # cell, a warning (or also in `problems` where the profile refuses it).
        self.order: str | None = None

    def copy(self, seq: int) -> Row:
        """A new row with the same cells (not yet sent, no duplicate mark)."""
        values = [list(v) if isinstance(v, list) else v for v in self.values]
        row = Row(values, dict(self.problems) if self.problems else None, None, seq)
        row.order = self.order
        return row

    @property
    def invalid(self) -> bool:
        return self.problems is not None or self.duplicate_of is not None

    def problem_count(self) -> int:
        return (len(self.problems) if self.problems else 0) + (self.duplicate_of is not None)

    def __repr__(self) -> str:
        return f"Row(source={self.source}, seq={self.seq}, values={self.values!r})"


def duplicate_message(key: str, first: Row) -> str:
    """The sentence core.records uses for a repeated row key."""
    where = f"row {first.source}" if first.source is not None else "a row added in the editor"
    return f"The row key '{key}' is also used on {where}."


class ColumnSet:
    """One template under one profile's settings: conversion, display, sorting, payloads.

    Read-only once made, so the GUI thread and a worker may share it.
    """

    def __init__(self, template: Template, settings: ValueSettings) -> None:
        self.template = template
        self.settings = settings
        self.columns: tuple[Column, ...] = template.columns
        self.names: tuple[str, ...] = tuple(template.internal_names)
        self.key_index = self.names.index(ROW_KEY)
        self._by_display = {c.display_name: i for i, c in enumerate(self.columns)}
        timed = CREATED in self.names and MODIFIED in self.names
        self._time_order = TimeOrder(settings, None) if timed else None
        self.created_at = self.names.index(CREATED) if timed else None
        self.modified_at = self.names.index(MODIFIED) if timed else None
        self._converters: list[Converter] = [make_converter(c, settings) for c in self.columns]
        self._labels: list[dict[int, str] | None] = []
        for column in self.columns:
            if column.type in (ColumnType.SINGLE_CHOICE, ColumnType.MULTIPLE_CHOICE):
                labels: dict[int, str] = {}
                for label, number in settings.choices.get(column.internal_name, {}).items():
                    labels.setdefault(number, label)
                self._labels.append(labels)
            else:
                self._labels.append(None)

    def __len__(self) -> int:
        return len(self.columns)

    def same_columns(self, other: ColumnSet | None) -> bool:
        return other is not None and self.columns == other.columns

    def index_of_display(self, display_name: str | None) -> int | None:
        return self._by_display.get(display_name) if display_name is not None else None

    # -- cells --------------------------------------------------------------------------------

    def convert(self, index: int, given: object) -> tuple[object, str | None]:
        """(API value, None) for a usable cell, (the value as given, sentence) otherwise."""
        if isinstance(given, str) and (not given or given.isspace()):
            given = None
        try:
            return self._converters[index](given), None
        except ValueProblem as exc:
            return given, exc.message

    def text(self, index: int, value: object) -> str:
        """The cell as shown and edited: for a valid cell, exactly what will be sent
        (option numbers as their labels). The common types are done here, fast: this
        runs for every cell drawn, sorted by or searched."""
        kind = type(value)
        if kind is str:
            return cast(str, value)
        if value is None:
            return ""
        labels = self._labels[index]
        if kind is int:
            number = cast(int, value)
            return (labels.get(number) if labels else None) or str(number)
        if kind is list:
            items = cast(list[object], value)
            if labels is not None:
                if all(type(item) is int for item in items):
                    return LIST_JOINER.join([labels.get(cast(int, i)) or str(i) for i in items])
            elif all(type(item) is str for item in items):
                return LIST_JOINER.join(cast(list[str], items))
        return display(self.columns[index], value, self.settings)

    def option_labels(self, index: int) -> list[str]:
        """A choice column's labels in option order (empty for other columns)."""
        options = self.settings.choices.get(self.columns[index].internal_name, {})
        return [label for label, _ in sorted(options.items(), key=lambda item: item[1])]

    def terms(self, index: int) -> list[str]:
        return list(self.settings.terms.get(self.columns[index].internal_name, ()))

    def sent_as(self, index: int, value: object) -> str | None:
        """For a choice cell, how its labels travel: "Sent as 3" or "Sent as [1, 4]"."""
        if self._labels[index] is None or value is None:
            return None
        if isinstance(value, list):
            return f"Sent as [{', '.join(str(v) for v in value)}]"
        return f"Sent as {value}"

    def sort_key(self, index: int) -> SortKey:
        """Valid values in their natural order (numbers, dates, option order), then invalid
        cells by their text, then empty cells."""
        column = self.columns[index]
        kind = column.type
        text = self.text
        pattern = self.settings.date_format
        # Text in the default pattern sorts as the dates do; other patterns are read back.
        lexical_dates = pattern.startswith("yyyy-MM-dd HH")
        dates: dict[str, datetime] = {}

        def date_of(value: str) -> object:
            found = dates.get(value)
            if found is None:
                try:
                    found = datetimes.parse_datetime(value, pattern)
                except ValueError:
                    return datetime.max
                dates[value] = found
            return found

        def key(row: Row) -> tuple[Any, ...]:
            value = row.values[index]
            if row.problems is not None and index in row.problems:
                return (1, text(index, value).casefold())
            if value is None:
                return (2, "")
            if kind in (ColumnType.NUMBER, ColumnType.SINGLE_CHOICE):
                return (0, value)
            if kind is ColumnType.MULTIPLE_CHOICE and isinstance(value, list):
                return (0, tuple(value))
            if kind is ColumnType.DATE_TIME and isinstance(value, str) and not lexical_dates:
                return (0, date_of(value))
            return (0, text(index, value).casefold())

        return key

    # -- rows ---------------------------------------------------------------------------------

    def cell_problem(self, row: Row, index: int) -> str | None:
        if row.problems is not None:
            found = row.problems.get(index)
            if found is not None:
                return found
        if index == self.key_index and row.duplicate_of is not None:
            return duplicate_message(str(row.values[index]), row.duplicate_of)
        return None

    def cell_warning(self, row: Row, index: int) -> str | None:
        """The warning on a cell (a Modified time earlier than the Created time), unless
        the profile makes it a problem."""
        if (
            row.order is None
            or index != self.modified_at
            or self.settings.refuse_modified_before_created
        ):
            return None
        return row.order

    def own_problem(self, row: Row, index: int) -> str | None:
        """The cell's problem with its own value (the time order left out): what an undo
        puts back, the order being checked again after it."""
        found = row.problems.get(index) if row.problems is not None else None
        return None if found is not None and is_order_sentence(found) else found

    def mark_order(self, row: Row) -> None:
        """Compare the row's Created and Modified time again (after an edit of either, or
        new settings): the Modified time cell's warning, or its problem when refused."""
        order, made, changed = self._time_order, self.created_at, self.modified_at
        if order is None or made is None or changed is None:
            return
        problems = row.problems
        if problems is not None and is_order_sentence(problems.get(changed)):
            del problems[changed]
            if not problems:
                row.problems = problems = None
        row.order = None
        if problems is not None and (made in problems or changed in problems):
            return  # an unusable cell is never compared
        sentence = order.compare(row.values[made], row.values[changed])
        row.order = sentence
        if sentence is not None and self.settings.refuse_modified_before_created:
            if row.problems is None:
                row.problems = {}
            row.problems[changed] = sentence

    def row_problems(self, row: Row) -> list[tuple[int, str]]:
        """(column index, sentence) for every problem of the row, in column order."""
        found = dict(row.problems) if row.problems is not None else {}
        if row.duplicate_of is not None:
            key = self.key_index
            found.setdefault(key, duplicate_message(str(row.values[key]), row.duplicate_of))
        return sorted(found.items())

    def payload(self, row: Row) -> dict[str, object]:
        """The record as it would be sent: usable cells only, keys in template order."""
        problems = row.problems or {}
        return {
            name: value
            for index, (name, value) in enumerate(zip(self.names, row.values, strict=True))
            if index not in problems and value is not None and value != "" and value != []
        }

    def record(self, row: Row, sheet: str | None = None) -> Record:
        """A core Record for the submit run: usable values, and a Problem per bad cell."""
        problems = [
            Problem(row.source, self.columns[index].display_name, row.values[index], text, sheet)
            for index, text in self.row_problems(row)
        ]
        return Record(row.source or 0, self.payload(row), problems, {}, sheet, self.names)

    def new_row(self, texts: dict[int, str] | None = None, seq: int = 0) -> Row:
        """A row added in the editor: every column converted, so required ones say so."""
        values: list[object] = []
        problems: dict[int, str] = {}
        for index in range(len(self.columns)):
            value, problem = self.convert(index, (texts or {}).get(index))
            values.append(value)
            if problem is not None:
                problems[index] = problem
        row = Row(values, problems, None, seq)
        self.mark_order(row)
        return row

    def rows_from_records(
        self, records: Iterable[Record], unfed: Sequence[int] = (), seq: int = 0
    ) -> list[Row]:
        """Rows for validated records. Duplicate row keys are left to a KeyIndex; required
        columns in `unfed` (nothing in the sheet feeds them) get their problem on every row."""
        names = self.names
        key_index = self.key_index
        by_display = self._by_display
        required = [(i, self.convert(i, None)[1]) for i in unfed if self.columns[i].required]
        rows: list[Row] = []
        append = rows.append
        for record in records:
            values = list(map(record.values.get, names))
            problems: dict[int, str] | None = None
            order: str | None = None
            for problem in record.problems:
                index = by_display.get(problem.column) if problem.column else None
                if index is None:
                    continue
                if index == key_index and ROW_KEY in record.values:
                    continue  # a repeated key: the KeyIndex marks it
                if problems is None:
                    problems = {}
                if is_order_sentence(problem.message):
                    order = problem.message  # refused: the converted value stays
                else:
                    values[index] = problem.value
                problems[index] = problem.message
            for index, message in required:
                if message is not None:
                    if problems is None:
                        problems = {}
                    problems[index] = message
            row = Row(values, problems, record.row, seq)
            if record.warnings or order is not None:
                row.order = order or record.warnings[0].message
            append(row)
            seq += 1
        return rows

    def rows_from_checked(
        self, checked: CheckedRows, unfed: Sequence[int] = (), seq: int = 0
    ) -> list[Row]:
        """`rows_from_records` for a batch checked column by column, without a Record
        made of any row: the values are taken down the columns as they came."""
        fed = dict(zip(checked.names, checked.values, strict=True))
        width = len(checked.numbers)
        nothing = [None] * width
        columns = [fed.get(name, nothing) for name in self.names]
        key_index = self.key_index
        by_display = self._by_display
        told = [(i, self.convert(i, None)[1]) for i in unfed if self.columns[i].required]
        required = [(i, message) for i, message in told if message is not None]
        problems = checked.problems
        values = map(list, zip(*columns, strict=True))
        rows = list(map(Row, values, repeat(None), checked.numbers, range(seq, seq + width)))
        for index, warned in checked.warnings.items():
            rows[index].order = warned[0].message
        for index in problems.keys() if not required else range(width):
            row = rows[index]
            found: dict[int, str] = {}
            for problem in problems.get(index, ()):
                place = by_display.get(problem.column) if problem.column else None
                if place is None:
                    continue
                if place == key_index and row.values[key_index] is not None:
                    continue  # a repeated key: the KeyIndex marks it
                if is_order_sentence(problem.message):
                    row.order = problem.message  # refused: the converted value stays
                else:
                    row.values[place] = problem.value
                found[place] = problem.message
            for place, message in required:
                found[place] = message
            row.problems = found or None
        return rows

    def given_for(self, index: int, value: object, problem: str | None, new: ColumnSet) -> object:
        """What to convert again when the settings change: the value as given for a bad
        cell, else the API value in a form the new settings read the same way."""
        if problem is not None or value is None:
            return value
        column = self.columns[index]
        if column.type is ColumnType.DATE_TIME and isinstance(value, str):
            try:
                moment = datetimes.parse_datetime(value, self.settings.date_format)
            except ValueError:
                return value
            if self.settings.time_zone and new.settings.time_zone:
                return moment.replace(tzinfo=UTC)  # already in UTC: not converted twice
            return moment
        if column.type is ColumnType.TAXONOMY and isinstance(value, str):
            return value.replace(self.settings.term_separator, "/")
        return value


Tally = tuple[int, int, int]  # invalid rows, problems, the next free seq


def tally(rows: Iterable[Row]) -> Tally:
    """What the model counts, done once in a worker rather than in the GUI thread."""
    invalid = problems = 0
    next_seq = 0
    for row in rows:
        if row.problems is not None or row.duplicate_of is not None:
            invalid += 1
            problems += row.problem_count()
        if row.seq >= next_seq:
            next_seq = row.seq + 1
    return invalid, problems, next_seq


def recheck_rows(
    rows: Sequence[Row], old: ColumnSet, new: ColumnSet, cancelled: Callable[[], bool]
) -> list[Row] | None:
    """The rows converted again under new settings (same template), in the same order;
    None if `cancelled()` turned true on the way."""
    width = len(new)
    fresh: list[Row] = []
    for number, row in enumerate(rows):
        if number % 1000 == 0 and cancelled():
            return None
        values: list[object] = []
        problems: dict[int, str] = {}
        for index in range(width):
            old_problem = old.own_problem(row, index)
            given = old.given_for(index, row.values[index], old_problem, new)
            value, problem = new.convert(index, given)
            values.append(value)
            if problem is not None:
                problems[index] = problem
        copy = Row(values, problems, row.source, row.seq)
        copy.status, copy.message = row.status, row.message
        new.mark_order(copy)
        fresh.append(copy)
    return fresh


Change = tuple[Row, "Row | None"]  # a row whose duplicate mark changed, and its old mark


class KeyIndex:
    """Row key -> the rows holding it, so a key edit re-checks only the rows concerned.
    A key one row holds maps to that row, one several hold to the list of them."""

    def __init__(self, key_index: int) -> None:
        self.key_index = key_index
        self.groups: dict[str, Row | list[Row]] = {}

    def key_of(self, row: Row) -> str | None:
        value = row.values[self.key_index]
        if type(value) is not str or not value:
            return None
        if row.problems is not None and self.key_index in row.problems:
            return None
        return value

    def build(self, rows: Iterable[Row]) -> None:
        """Index rows from scratch (rows in creation order, as a sheet is read)."""
        rows = list(rows)
        if self._build_unique(rows):
            return
        groups: dict[str, Row | list[Row]] = {}
        key_of = self.key_of
        for row in rows:
            key = key_of(row)
            if key is not None:
                found = groups.get(key)
                if found is None:
                    groups[key] = row
                elif isinstance(found, list):
                    found.append(row)
                else:
                    groups[key] = [found, row]
        self.groups = groups
        for group in groups.values():
            if isinstance(group, list):
                self._settle(group)

    def _build_unique(self, rows: list[Row]) -> bool:
        """`build` for the common sheet, every row's key text and no two alike: a few
        passes in C. False (nothing done) for any other."""
        at = self.key_index
        keys = list(map(itemgetter(at), map(attrgetter("values"), rows)))
        if set(map(type, keys)) - {str} or "" in keys:
            return False
        # A problem in a key cell: the rows with problems looked through, in C.
        if any(map(contains, filter(None, map(attrgetter("problems"), rows)), repeat(at))):
            return False
        groups: dict[str, Row | list[Row]] = dict(zip(keys, rows, strict=True))
        if len(groups) != len(rows):
            return False
        self.groups = groups
        return True

    def add(self, row: Row) -> list[Change]:
        """Register the row under its key; return the rows whose duplicate mark changed."""
        key = self.key_of(row)
        if key is None:
            return self._clear(row)
        found = self.groups.get(key)
        if found is None:
            self.groups[key] = row
            return self._clear(row)  # alone with its key
        group = found if isinstance(found, list) else [found]
        self.groups[key] = group
        group.append(row)
        return self._settle(group)

    def remove(self, row: Row, key: str | None) -> list[Change]:
        """Forget the row under `key`, the key it was added with."""
        changed = self._clear(row)
        found = self.groups.get(key) if key is not None else None
        if found is None:
            return changed
        group = found if isinstance(found, list) else [found]
        for position, member in enumerate(group):
            if member is row:
                del group[position]
                break
        if not group:
            del self.groups[key]  # type: ignore[arg-type]
            return changed
        if len(group) == 1:
            self.groups[key] = group[0]  # type: ignore[index]
        return changed + self._settle(group)

    def rows_with(self, key: str) -> list[Row]:
        found = self.groups.get(key)
        if found is None:
            return []
        return list(found) if isinstance(found, list) else [found]

    @staticmethod
    def _clear(row: Row) -> list[Change]:
        if row.duplicate_of is None:
            return []
        previous, row.duplicate_of = row.duplicate_of, None
        return [(row, previous)]

    @staticmethod
    def _settle(group: list[Row]) -> list[Change]:
        first = min(group, key=lambda r: r.seq)
        changed: list[Change] = []
        for row in group:
            wanted = None if row is first else first
            if row.duplicate_of is not wanted:
                changed.append((row, row.duplicate_of))
                row.duplicate_of = wanted
        return changed


# A row's grid status for each journal state. In flight: the call was made, or was about
# to be, and its answer is unknown: "sent", and sent again on resume.
GRID_STATUS: dict[ItemState, str] = {
    "pending": PENDING,
    "in_flight": SENT,
    "ok": STORED,
    "failed": FAILED,
    "skipped": SKIPPED,
}


def position_runs(placed: Sequence[tuple[int, Row]]) -> list[tuple[int, list[Row]]]:
    """Group ascending (position, row) pairs into runs of consecutive positions."""
    runs: list[tuple[int, list[Row]]] = []
    for position, row in placed:
        if runs and runs[-1][0] + len(runs[-1][1]) == position:
            runs[-1][1].append(row)
        else:
            runs.append((position, [row]))
    return runs
