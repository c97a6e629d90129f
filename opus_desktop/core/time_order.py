"""A Modified time earlier than the Created time: told on the Modified time cell.

Opus stores both as given, so such a record goes in looking edited before it existed:
most often the two columns are swapped, or one was typed wrong. By default it is a
warning (the record can still be sent); a profile with `refuse_modified_before_created`
makes it a problem, so the row is invalid like any other row with a problem. Only the
two converted values are compared (whole seconds, as they would be sent), so an empty
or unusable cell is never compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from operator import lt

from opus_desktop.core import datetimes
from opus_desktop.core.clean import clean_value
from opus_desktop.core.records import Problem
from opus_desktop.core.schema import BUILT_INS
from opus_desktop.core.values import ValueSettings

CREATED, MODIFIED = "timeCreated", "timeModified"
CREATED_NAME = BUILT_INS[CREATED].display_name
MODIFIED_NAME = BUILT_INS[MODIFIED].display_name
SHOWN_ROWS = 5  # row numbers a summary names
SENTENCE_START = f"The {MODIFIED_NAME} "
SENTENCE_MIDDLE = f" is earlier than the {CREATED_NAME} "


def is_order_sentence(text: object) -> bool:
    """Whether a cell's problem is this check's (the editor tells it from a value's own)."""
    return type(text) is str and text.startswith(SENTENCE_START) and SENTENCE_MIDDLE in text


class TimeOrder:
    """Compares the Created and Modified time of each row of a batch (both fed, or none)."""

    def __init__(self, settings: ValueSettings, sheet: str | None) -> None:
        self.pattern = settings.date_format
        self.refuse = settings.refuse_modified_before_created
        self.sheet = sheet
        # Text in the default pattern sorts as the times do; other patterns are read back.
        self.lexical = self.pattern == datetimes.DEFAULT_FORMAT
        self.order = datetimes.pattern_order(self.pattern)
        self.write = datetimes.formatter(self.pattern)
        self._read: dict[str, datetime | None] = {}

    def check(
        self,
        created: Sequence[object],
        modified: Sequence[object],
        given: Sequence[object],
        numbers: Sequence[int],
        problems: dict[int, list[Problem]],
        warnings: dict[int, list[Problem]],
    ) -> None:
        """Tell each row (index in the batch) whose `modified` is earlier than `created`:
        a problem when refused, else a warning; `given` is the Modified time cells."""
        pairs = list(zip(range(len(numbers)), created, modified, strict=True))
        if None in created or None in modified:  # empty or unusable: nothing to compare
            pairs = [pair for pair in pairs if pair[1] is not None and pair[2] is not None]
        made = [pair[1] for pair in pairs]
        changed = [pair[2] for pair in pairs]
        kinds = set(map(type, made)) | set(map(type, changed))
        # Rounding keeps the order, so a row found earlier here is looked at to the second.
        if kinds in ({datetime}, {date}) or (kinds == {str} and self.lexical):
            found = list(map(lt, changed, made))  # type: ignore[arg-type]
            if True not in found:
                return  # the common case: a comparison in C for each row, and no more
            pairs = [pair for pair, earlier in zip(pairs, found, strict=True) if earlier]
        told = problems if self.refuse else warnings
        for index, first_value, then_value in pairs:
            first, then = self._moment(first_value), self._moment(then_value)
            if first is None or then is None or not then < first:
                continue
            sentence = self._sentence(first, then)
            cell = clean_value(given[index])
            problem = Problem(numbers[index], MODIFIED_NAME, cell, sentence, self.sheet)
            told.setdefault(index, []).append(problem)

    def compare(self, created: object, modified: object) -> str | None:
        """The sentence for one row whose converted `modified` is earlier than `created`
        (the editor, after an edit), else None; empty values are never compared."""
        if created is None or modified is None:
            return None
        first, then = self._moment(created), self._moment(modified)
        if first is None or then is None or not then < first:
            return None
        return self._sentence(first, then)

    def _moment(self, value: object) -> datetime | None:
        """A converted value as a time to compare, to the second: a date or datetime as the
        sheet holds it (validate without keeping records), or the text as sent, read back
        in the profile's pattern."""
        if type(value) is datetime:
            return datetimes.round_to_second(value)
        if type(value) is date:
            return datetime(value.year, value.month, value.day)
        if type(value) is not str:
            return None
        if value not in self._read:
            if len(self._read) > 10_000:
                self._read.clear()
            try:
                self._read[value] = datetimes.parse_datetime(value, self.pattern, order=self.order)
            except ValueError:
                self._read[value] = None
        return self._read[value]

    def _sentence(self, created: datetime, modified: datetime) -> str:
        said = f"{SENTENCE_START}{self.write(modified)}{SENTENCE_MIDDLE}{self.write(created)}"
        if self.refuse:
            return f"{said}: correct one of them (the profile refuses a record modified first)."
        return f"{said}: check the two (Opus takes them as they are)."


def order_warning(warned: Sequence[Problem]) -> str | None:
    """The one sentence for every row warned of (None for none), for the CLI and the window."""
    if not warned:
        return None
    rows = sorted({p.row for p in warned if p.row is not None})
    shown = ", ".join(str(r) for r in rows[:SHOWN_ROWS])
    if len(rows) > SHOWN_ROWS:
        shown += f" and {len(rows) - SHOWN_ROWS:,} more"
    where = f"row {shown}" if len(rows) == 1 else f"{len(rows):,} rows ({shown})"
    return (
        f"{MODIFIED_NAME} is earlier than {CREATED_NAME} in {where}: Opus takes them as they "
        "are, so check them (a setting of the profile makes this a problem)."
    )
