"""One template column's conversion, a batch of cells at a time (what validation runs).

The cells come as calamine typed them (`sheets.raw_batches`): text untrimmed, 12.0 not
yet 12. Cleaning each of a million cells again in Python would cost about what the read
does, so a column instead:
- takes the batch in one piece when all its cells are of the column's usual kind (text in
  a text column, datetimes in a date column, whole numbers in a number column): a few
  passes in C (`map(str.strip, ...)`, `map(str, ...)`) give what the converter would;
- else looks every cell up in what it has converted before (a dictionary lookup, in C
  through `map`), and only a cell not seen before is cleaned (`sheets.clean_value`) and
  converted, one by one. A problem quotes the cleaned cell, as the sheet shows it.
A column whose values hardly repeat (row keys, names, exact times) stops remembering
once that is clear, so it costs no memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from itertools import compress, repeat
from operator import add, attrgetter, is_, is_not

from opus_desktop.core import date_order, datetimes
from opus_desktop.core.records import Problem
from opus_desktop.core.schema import Column, ColumnType
from opus_desktop.core.sheets import clean_value
from opus_desktop.core.values import MAX_CELL_TEXT, MAX_SINGLE_TEXT, ValueProblem, ValueSettings
from opus_desktop.core.values import make_converter as make_converter

_MEMORY = 10_000  # remembered conversions per column before the memory starts afresh
_MISSING = object()
_EXACT_INTEGERS = 2**53
_HALF_SECOND = timedelta(microseconds=500_000)
_ISO = datetime.isoformat  # (" ", "seconds"): str() cut after the seconds, a third cheaper
_ZONE = attrgetter("tzinfo")
_MIDNIGHT = "{} 00:00:00".format
_WHOLE_KINDS = frozenset({str, datetime, date, float, int})  # what `Whole`s take
# Kinds of cell whose conversion depends on the value alone and that compare equal only
# to cells that convert the same (1 and 1.0 do; True == 1, so bool is left out).
_REMEMBERED = frozenset({str, datetime, date, time, float, int})
Problems = dict[int, list[Problem]]  # index in the batch -> that row's problems
# A whole batch of one kind at once: the results, or None to go cell by cell. The third
# argument is False when the values are only looked at, never kept (validate without a
# report): a date column then gives its dates and datetimes as they are (not rounded to
# the second), standing for their text; core.time_order rounds the few it looks at.
Whole = Callable[[list[object], set[type], bool], list[object] | None]


def _single_text(required: bool) -> Whole:
    def whole(given: list[object], kinds: set[type], keep: bool) -> list[object] | None:
        if kinds != {str}:
            return None
        texts: list[str] = list(map(str.strip, given))  # type: ignore[arg-type]
        if max(map(len, texts)) > MAX_SINGLE_TEXT:
            return None
        joined = "".join(texts)
        if "\n" in joined or "\r" in joined:
            return None
        if "" in texts:
            if required:
                return None
            return [text or None for text in texts]
        return texts  # type: ignore[return-value]

    return whole


def _multiple_text(required: bool) -> Whole:
    def whole(given: list[object], kinds: set[type], keep: bool) -> list[object] | None:
        if kinds != {str} or "\r" in "".join(given):  # type: ignore[arg-type]
            return None
        texts: list[str] = list(map(str.strip, given))  # type: ignore[arg-type]
        if max(map(len, texts)) > MAX_CELL_TEXT:
            return None
        if "" in texts:
            if required:
                return None
            return [text or None for text in texts]
        return texts  # type: ignore[return-value]

    return whole


class _Texts:
    """The text of dates and datetimes a column repeats (dates received, times to the
    day): a lookup is a tenth of writing it. `write` writes a list of them, in C; a
    column whose values hardly repeat stops looking them up once that is clear."""

    def __init__(self, write: Callable[[list[object]], list[object]]) -> None:
        self.write = write
        self.known: dict[object, object] = {}
        self.looked = self.found = 0
        self.useful = True

    def __call__(self, given: list[object]) -> list[object]:
        if not self.useful:
            return self.write(given)
        known = self.known
        if len(known) > _MEMORY:
            known.clear()
        texts: list[object] = list(map(known.get, given))
        self.looked += len(texts)
        if None in texts:
            # Each value not seen before written once, however often the batch holds it.
            new = list(dict.fromkeys(compress(given, map(is_, texts, repeat(None)))))
            known.update(zip(new, self.write(new), strict=True))
            texts = list(map(known.get, given))
            self.found -= len(new)
        self.found += len(texts)
        if self.looked >= _MEMORY and self.found * 10 < self.looked:
            self.useful = False
            known.clear()
        return texts


class _Shared:
    """One text object for each text a kept column repeats (people, case numbers):
    calamine makes a string per cell, and 100,000 copies of three addresses would stay
    loaded. A column whose texts hardly repeat stops sharing once that is clear."""

    def __init__(self) -> None:
        self.known: dict[object, object] = {}
        self.looked = self.found = 0
        self.useful = True

    def __call__(self, values: list[object]) -> list[object]:
        if not self.useful:
            return values
        known = self.known
        if len(known) > _MEMORY:
            known.clear()
        before = len(known)
        shared = list(map(known.setdefault, values, values))
        self.looked += len(values)
        self.found += len(values) - (len(known) - before)
        if self.looked >= _MEMORY and self.found * 10 < self.looked:
            self.useful = False
            known.clear()
        return shared


def _moment_texts(given: list[object]) -> list[object]:
    """Naive datetimes as the default pattern writes them, rounded to the nearest second
    (half a second added first, as round_to_second does). OverflowError in the last half
    second of the year 9999."""
    moved = map(add, given, repeat(_HALF_SECOND))
    return list(map(_ISO, moved, repeat(" "), repeat("seconds")))


def _day_texts(given: list[object]) -> list[object]:
    return list(map(_MIDNIGHT, given))


def _plain_dates() -> Whole:
    days = _Texts(_day_texts)
    moments = _Texts(_moment_texts)

    def whole(given: list[object], kinds: set[type], keep: bool) -> list[object] | None:
        if not keep and (kinds == {date} or (kinds == {datetime} and not any(map(_ZONE, given)))):
            return list(given)  # nothing reads the text: see `Whole`
        if kinds == {date}:
            return days(given)
        if kinds != {datetime} or any(map(_ZONE, given)):
            return None
        try:
            return moments(given)
        except OverflowError:
            return None

    return whole


def _numbers(given: list[object], kinds: set[type], keep: bool) -> list[object] | None:
    if kinds == {int}:
        return list(given)
    # Beyond 2**53 a cleaned cell (an int) and the float itself would part ways.
    floats: list[float] = given  # type: ignore[assignment]
    if kinds == {float} and all(map(float.is_integer, floats)):  # noqa: SIM102 (cheap first)
        if max(map(abs, floats)) < _EXACT_INTEGERS:
            return list(map(int, floats))
    return None


def whole_batch(column: Column, settings: ValueSettings) -> Whole | None:
    """The column's converter for a batch all of its usual kind, chosen once."""
    kind = column.type
    if kind is ColumnType.SINGLE_TEXT:
        return _single_text(column.required)
    if kind is ColumnType.MULTIPLE_TEXT:
        return _multiple_text(column.required)
    if kind is ColumnType.NUMBER:
        return _numbers
    plain = settings.date_format == datetimes.DEFAULT_FORMAT and settings.time_zone is None
    if kind is ColumnType.DATE_TIME and plain:
        return _plain_dates()
    return None


class ColumnCheck:
    """One template column's conversion over batches of cells, remembering what it saw."""

    def __init__(self, column: Column, settings: ValueSettings, hashable: bool) -> None:
        self.name = column.internal_name
        self.display_name = column.display_name
        self.required = column.required
        self.convert = make_converter(column, settings)
        self.whole = whole_batch(column, settings)
        texts = column.type in (ColumnType.SINGLE_TEXT, ColumnType.MULTIPLE_TEXT)
        self.shared = _Shared() if texts else None
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
            self.memory[""] = None

    def convert_all(
        self,
        given: list[object],
        numbers: Sequence[int],
        sheet: str | None,
        problems: Problems,
        copies: bool = True,
        clean: bool = True,
    ) -> list[object]:
        """The API values of `given` (None for an empty cell or a problem, which goes in
        `problems` under the cell's index); `copies`: the values are kept (lists of their
        own; False lets a date column give datetimes for text, see `Whole`); `clean`: the
        cells are as read, not yet cleaned (`clean_value`)."""
        kinds = set(map(type, given))
        results: list[object] | None = None
        if self.whole is not None:  # never text in a date column's: no hook to call
            results = self.whole(given, kinds, copies)
            if results is not None:  # the batch taken whole: no cell left over
                return self.shared(results) if copies and self.shared else results
            if len(kinds) > 1:
                results = self._whole_parts(given, kinds, copies)
        memory = self.memory
        remember = self.remember and bool not in kinds
        if results is not None:
            pass  # the cells left over are looked up one by one
        elif remember:
            results = list(map(memory.get, given, repeat(_MISSING, len(given))))
        else:
            optional = not self.required
            results = [None if optional and (g is None or g == "") else _MISSING for g in given]
        if _MISSING in results:
            self._convert_misses(given, results, numbers, sheet, problems, remember, clean)
        if copies and self.copies:
            results = [list(v) if type(v) is list else v for v in results]
        return results

    def _whole_parts(
        self, given: list[object], kinds: set[type], keep: bool
    ) -> list[object] | None:
        """A batch of several kinds (a few bad or empty cells among dates, say): each kind
        the column takes whole is taken so; the other cells are left _MISSING."""
        assert self.whole is not None
        typed = list(map(type, given))
        taken = kinds & _WHOLE_KINDS
        if not taken:
            return None
        # The kind most cells are of is taken with the other cells standing in for one of
        # its own (a whole batch decides nothing from how many cells hold a value), so
        # only the few others are moved one by one, in and out.
        most = max(taken, key=typed.count)
        others = list(compress(range(len(given)), map(is_not, typed, repeat(most))))
        stand_in = given[typed.index(most)]
        patched = list(given)
        for index in others:
            patched[index] = stand_in
        results = self.whole(patched, {most}, keep)
        found = results is not None
        if results is None:
            results = [_MISSING] * len(given)
        else:
            for index in others:
                results[index] = _MISSING
        for kind in taken - {most}:
            places = [index for index in others if typed[index] is kind]
            done = self.whole([given[index] for index in places], {kind}, keep)
            if done is not None:
                found = True
                for index, value in zip(places, done, strict=True):
                    results[index] = value
        return results if found else None

    def _convert_misses(
        self,
        given: list[object],
        results: list[object],
        numbers: Sequence[int],
        sheet: str | None,
        problems: Problems,
        remember: bool,
        clean: bool,
    ) -> None:
        memory = self.memory
        misses = [index for index, value in enumerate(results) if value is _MISSING]
        self.looked += len(results)
        self.found += len(results) - len(misses)
        for index in misses:
            raw = given[index]
            # A value repeated within the batch was not in memory when `map` ran.
            value = memory.get(raw, _MISSING) if remember else _MISSING
            if value is not _MISSING:
                self.found += 1
            else:
                cell = clean_value(raw) if clean else raw
                if self.hook is not None:
                    self.hook(cell, numbers[index])
                try:
                    value = self.convert(cell)
                except ValueProblem as exc:
                    problem = Problem(numbers[index], self.display_name, cell, exc.message, sheet)
                    problems.setdefault(index, []).append(problem)
                    value = None
                else:
                    if remember and type(raw) in _REMEMBERED:
                        memory[raw] = value
            results[index] = value
        if len(memory) > _MEMORY:
            self._forget()
        if self.remember and self.looked >= _MEMORY and self.found * 10 < self.looked:
            self.remember = False
            self._forget()


class DateColumnCheck(ColumnCheck):
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
