"""Records: one sheet row turned into API values, with a problem for every unusable cell.

`build_record` converts a row keyed by internal name; `mark_duplicate_keys` flags rows
whose row key an earlier row already uses. A Record is mutable so the editor can change
values in place; `payload()` is what goes into the "data" list of a submit call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from opus_desktop.core.schema import BUILT_INS, ROW_KEY, Template
from opus_desktop.core.values import Converter, ValueProblem, ValueSettings, make_converter


@dataclass(frozen=True)
class Problem:
    row: int | None
    column: str | None  # display name
    value: object
    message: str
    sheet: str | None = None

    def __str__(self) -> str:
        """E.g. "Sheet1, row 7, Created time: '31/02/2021' is not a date in the format ..."."""
        row = f"row {self.row}" if self.row is not None else None
        where = ", ".join(part for part in (self.sheet, row, self.column) if part)
        return f"{where}: {self.message}" if where else self.message


@dataclass
class Record:
    row: int
    values: dict[str, object] = field(default_factory=dict)  # internal name -> API value
    problems: list[Problem] = field(default_factory=list)
    raw: dict[str, object] = field(default_factory=dict)  # internal name -> value as given
    sheet: str | None = None
    columns: tuple[str, ...] = ()  # the template's internal names, in order
    # Told, but not in the way of sending: a Modified time earlier than the Created time.
    warnings: list[Problem] = field(default_factory=list)

    @property
    def row_key(self) -> str | None:
        key = self.values.get(ROW_KEY)
        return key if isinstance(key, str) and key else None

    @property
    def ok(self) -> bool:
        return not self.problems

    def payload(self) -> dict[str, object]:
        """The record as the API wants it: keys in template order, empty values left out."""
        order = self.columns or tuple(self.values)
        return {
            name: self.values[name]
            for name in order
            if name in self.values and self.values[name] not in (None, "", [])
        }


@dataclass(frozen=True)
class _Plan:
    """Converters for one template and one settings object, made once for many rows."""

    template: Template
    settings: ValueSettings
    steps: tuple[tuple[str, str, Converter], ...]  # internal name, display name, converter
    names: tuple[str, ...]


# Keyed by identity: hashing a template for each of 100,000 rows would cost more than
# the conversion. Each plan holds its template and settings, so their ids stay valid.
_plans: dict[tuple[int, int], _Plan] = {}
_MAX_PLANS = 8


def _plan(template: Template, settings: ValueSettings) -> _Plan:
    key = (id(template), id(settings))
    plan = _plans.get(key)
    if plan is not None and plan.template is template and plan.settings is settings:
        return plan
    plan = _Plan(
        template,
        settings,
        tuple((c.internal_name, c.display_name, make_converter(c, settings)) for c in template),
        tuple(template.internal_names),
    )
    if len(_plans) >= _MAX_PLANS:
        _plans.pop(next(iter(_plans)), None)
    _plans[key] = plan
    return plan


def build_record(
    template: Template,
    raw: Mapping[str, object],
    settings: ValueSettings,
    row: int,
    sheet: str | None = None,
) -> Record:
    """Convert one row (keyed by internal name; missing columns count as empty)."""
    plan = _plan(template, settings)
    values: dict[str, object] = {}
    problems: list[Problem] = []
    get = raw.get
    for name, display_name, converter in plan.steps:
        given = get(name)
        try:
            value = converter(given)
        except ValueProblem as exc:
            problems.append(Problem(row, display_name, given, exc.message, sheet))
            continue
        if value is not None:
            values[name] = value
    return Record(row, values, problems, dict(raw), sheet, plan.names)


def mark_duplicate_keys(records: Sequence[Record]) -> int:
    """Add a problem to every record whose row key an earlier record uses; return how many.

    Opus treats a second record with the same key as the same record (overwrite or skip),
    so a repeated key in one sheet is almost always a mistake. Calling this again adds
    nothing new.
    """
    first: dict[str, Record] = {}
    column = BUILT_INS[ROW_KEY].display_name
    count = 0
    for record in records:
        key = record.row_key
        if key is None:
            continue
        earlier = first.setdefault(key, record)
        if earlier is record:
            continue
        count += 1
        where = f"row {earlier.row}"
        if earlier.sheet and earlier.sheet != record.sheet:
            where = f"{earlier.sheet}, {where}"
        problem = Problem(
            record.row, column, key, f"The row key '{key}' is also used on {where}.", record.sheet
        )
        if problem not in record.problems:
            record.problems.append(problem)
    return count
