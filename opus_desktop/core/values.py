"""Cell values: what a user types or Excel holds, turned into what the API wants (DESIGN §2).

`make_converter(column, settings)` does the per-column work once (option tables, term
lists, the time zone) and returns a function from a raw cell to the API value; `convert`
is the one-off form. None means "empty"; anything unusable raises ValueProblem with a
sentence that quotes the value. `display` turns an API value back into editor text.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opus_desktop.core import datetimes
from opus_desktop.core.errors import CoreError
from opus_desktop.core.schema import Column, ColumnType
from opus_desktop.core.sheet_cells import ExcelError, Uncalculated

ApiValue = str | int | float | list[int] | list[str]
Converter = Callable[[object], ApiValue | None]

MAX_SINGLE_TEXT = 255
# Excel's limit for a cell: longer text would be cut in any workbook (reports included).
MAX_CELL_TEXT = 32_767
_DATE_ORDERS = (*datetimes.DATE_ORDERS, "ASK")
LIST_JOINER = "; "
# Integral numbers beyond 2**53 stay floats: a JSON reader using doubles cannot hold them exactly.
_EXACT_INTEGERS = 2**53


@dataclass(frozen=True)
class ValueSettings:
    """What the profile says about values. Treat as immutable: make a new one to change it."""

    date_format: str = datetimes.DEFAULT_FORMAT
    term_separator: str = "/"
    time_zone: str | None = None  # IANA name; when set, sheet times are converted to UTC
    # How dates in digits are read: "DMY", "MDY", "YMD"; "ASK" refuses every ambiguous one;
    # None reads each the only way it can be (25/12/2019), an ambiguous one (03/04/2019)
    # in the pattern's own day/month order, else refused (see core.date_order).
    date_order: str | None = None
    # internal name -> option label -> option number (1-based)
    choices: Mapping[str, Mapping[str, int]] = field(default_factory=dict, hash=False)
    # internal name -> known term paths; no entry (or an empty one) accepts any path
    terms: Mapping[str, Sequence[str]] = field(default_factory=dict, hash=False)
    # Internal names of columns the API documents as required that the template leaves
    # optional (Graph: createdBy, modifiedBy): validation warns when they are empty.
    expected: tuple[str, ...] = ()
    # A Modified time earlier than the Created time: a warning on the Modified time cell,
    # or with this a problem that keeps the record from being sent.
    refuse_modified_before_created: bool = False

    def __post_init__(self) -> None:
        datetimes.check_format(self.date_format)
        if not self.term_separator.strip():
            raise ValueError("The term separator must be a character such as / or >.")
        if self.time_zone is not None:
            load_time_zone(self.time_zone)
        if self.date_order is not None and self.date_order not in _DATE_ORDERS:
            raise ValueError(f"'{self.date_order}' is not a date order: use DMY, MDY or YMD.")
        # Converters are cached per settings object, so it keeps copies of its own that the
        # caller cannot change afterwards (plain dicts, so copy, pickle and asdict still work).
        choices = {name: dict(options) for name, options in self.choices.items()}
        terms = {name: tuple(paths) for name, paths in self.terms.items()}
        object.__setattr__(self, "choices", choices)
        object.__setattr__(self, "terms", terms)


class ValueProblem(CoreError):
    """A cell value that cannot be sent; `message` is a sentence quoting the value."""


def load_time_zone(name: str) -> ZoneInfo:
    """The zone named `name` (e.g. "Australia/Sydney"); ValueError with a sentence if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"'{name}' is not a time zone name such as Australia/Sydney or UTC."
        ) from None


def convert(column: Column, raw: object, settings: ValueSettings) -> ApiValue | None:
    """The API value for one cell, None when it is empty; raise ValueProblem if unusable."""
    return _converter(column, settings)(raw)


@lru_cache(maxsize=256)
def _converter(column: Column, settings: ValueSettings) -> Converter:
    # The editor converts one cell per edit: building a term table each time would show.
    return make_converter(column, settings)


def make_converter(column: Column, settings: ValueSettings) -> Converter:
    """The conversion for one column, prepared once for many cells."""
    inner = _BUILDERS[column.type](column, settings)
    required = column.required

    def converter(raw: object) -> ApiValue | None:
        if raw is None or (isinstance(raw, str) and (not raw or raw.isspace())):
            value = None
        elif type(raw) is ExcelError or type(raw) is Uncalculated:  # not a union: hot
            raise ValueProblem(raw.problem)
        else:
            value = inner(raw)
        if value is None and required:
            raise ValueProblem("A value is required.")
        return value

    if column.type in (ColumnType.SINGLE_TEXT, ColumnType.MULTIPLE_TEXT):
        return converter  # nothing to gain: text is already cheap
    return _remembering(converter)


def display(column: Column, value: object, settings: ValueSettings) -> str:
    """Editor text for an API value: option numbers as labels, lists joined with "; "."""
    if value is None:
        return ""
    if column.type in (ColumnType.SINGLE_CHOICE, ColumnType.MULTIPLE_CHOICE):
        labels: dict[int, str] = {}
        for label, number in settings.choices.get(column.internal_name, {}).items():
            labels.setdefault(number, label)
        items = value if isinstance(value, list) else [value]
        return LIST_JOINER.join(
            labels.get(item, str(item)) if isinstance(item, int) else _text(item, settings)
            for item in items
        )
    if isinstance(value, list):
        return LIST_JOINER.join(_text(item, settings) for item in value)
    return _text(value, settings)


# -- shared helpers -------------------------------------------------------------------------

_MEMORY = 4096


def _remembering(inner: Converter) -> Converter:
    """Remember the results for text: sheets repeat the same labels, terms, people and dates.

    A conversion depends only on the text and the settings fixed in `inner`. Lists are
    copied on the way out, since the editor may change a record's values in place.
    """
    memory: dict[str, tuple[bool, ApiValue | str | None]] = {}

    def remembering(raw: object) -> ApiValue | None:
        if type(raw) is not str:
            return inner(raw)
        known = memory.get(raw)
        if known is None:
            try:
                known = (True, inner(raw))
            except ValueProblem as exc:
                known = (False, exc.message)
            if len(memory) >= _MEMORY:
                memory.clear()
            memory[raw] = known
        converted, value = known
        if not converted:
            raise ValueProblem(str(value))
        if isinstance(value, list):
            return value.copy()
        return value

    return remembering


def _number_text(value: float) -> str:
    if math.isfinite(value) and value.is_integer() and abs(value) < _EXACT_INTEGERS:
        return str(int(value))
    return repr(value)


def _text(raw: object, settings: ValueSettings) -> str:
    """A raw value as the text it shows in a sheet."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return _number_text(raw)
    if isinstance(raw, datetime):
        return datetimes.format_datetime(raw, settings.date_format)
    if isinstance(raw, date):
        date_pattern = settings.date_format.split(" ")[0]
        if date_pattern not in datetimes.DATE_PATTERNS:  # "MMMM d,yyyy" has a space
            date_pattern = " ".join(settings.date_format.split(" ")[:2])
        return datetimes.format_datetime(datetime(raw.year, raw.month, raw.day), date_pattern)
    if isinstance(raw, time):
        return f"{raw.hour:02d}:{raw.minute:02d}:{raw.second:02d}"
    return str(raw)


def _key(label: str) -> str:
    """Labels and terms compare without regard to case or runs of spaces."""
    return " ".join(label.split()).casefold()


def _positive_integer(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        number = raw
    elif isinstance(raw, float) and raw.is_integer():
        number = int(raw)
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        number = int(raw.strip())  # isdigit alone admits '²', which int() refuses
    else:
        return None
    return number if number > 0 else None


def _quoted(items: Sequence[str]) -> str:
    quoted = [f"'{item}'" for item in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _some(items: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _problem(exc: ValueError) -> ValueProblem:
    return ValueProblem(str(exc))


# -- one builder per column type ----------------------------------------------------------

_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def _single_text(column: Column, settings: ValueSettings) -> Converter:
    def single_text(raw: object) -> str | None:
        text = (raw if isinstance(raw, str) else _text(raw, settings)).strip()
        if "\n" in text or "\r" in text:
            text = _LINE_BREAKS.sub(" ", text)  # one line: a break becomes a space
        if len(text) > MAX_SINGLE_TEXT:
            raise ValueProblem(
                f"'{text[:40]}…' is {len(text)} characters long; "
                f"this column holds at most {MAX_SINGLE_TEXT}."
            )
        return text or None

    return single_text


def _multiple_text(column: Column, settings: ValueSettings) -> Converter:
    def multiple_text(raw: object) -> str | None:
        text = raw if isinstance(raw, str) else _text(raw, settings)
        text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
        if len(text) > MAX_CELL_TEXT:
            raise ValueProblem(
                f"'{text[:40]}…' is {len(text):,} characters long; a cell holds at most "
                f"{MAX_CELL_TEXT:,} (Excel's limit), and the text is never cut: shorten it."
            )
        return text or None

    return multiple_text


def _date_time(column: Column, settings: ValueSettings) -> Converter:
    pattern = settings.date_format
    order = settings.date_order or "AUTO"
    zone = load_time_zone(settings.time_zone) if settings.time_zone else None
    write = datetimes.formatter(pattern)
    round_to_second = datetimes.round_to_second

    def sent(value: datetime) -> str:
        if zone is not None:
            # A wall time that a DST change skips or repeats is read as zoneinfo does (fold=0).
            value = value.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
        return write(round_to_second(value))

    def in_utc(value: datetime) -> str:
        return write(round_to_second(value))

    def date_time(raw: object) -> str:
        if isinstance(raw, datetime):
            if raw.tzinfo is None:
                return sent(raw)
            if zone is None:
                raise ValueProblem(
                    f"'{raw.isoformat(sep=' ')}' has a time zone offset, accepted only when "
                    "the sheet's time zone is set."
                )
            return in_utc(raw.astimezone(UTC).replace(tzinfo=None))
        if isinstance(raw, date):
            return sent(datetime(raw.year, raw.month, raw.day))
        if isinstance(raw, bool):
            raise ValueProblem(f"{_text(raw, settings)} is a yes/no value, not a date.")
        if isinstance(raw, int | float):
            try:
                return sent(datetimes.from_excel_serial(raw))
            except ValueError as exc:
                raise _problem(exc) from None
        if isinstance(raw, time):
            raise ValueProblem(f"{_text(raw, settings)} is a time of day without a date.")
        text = raw if isinstance(raw, str) else str(raw)
        try:
            if zone is None:
                return sent(datetimes.parse_datetime(text, pattern, order=order))
            value, offset = datetimes.parse_with_offset(text, pattern, order)
        except ValueError as exc:
            raise _problem(exc) from None
        return sent(value) if offset is None else in_utc(value - offset)

    return date_time


# Commas only between groups of three digits, so "1,5" (a European 1.5) is not read as 15.
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")


def _number(column: Column, settings: ValueSettings) -> Converter:
    def from_float(value: float, shown: str) -> int | float:
        if not math.isfinite(value):
            raise ValueProblem(f"'{shown}' is not a number that can be sent.")
        return int(value) if value.is_integer() and abs(value) < _EXACT_INTEGERS else value

    def number(raw: object) -> int | float:
        if isinstance(raw, bool):
            raise ValueProblem(f"{_text(raw, settings)} is a yes/no value, not a number.")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float):
            return from_float(raw, repr(raw))
        text = (raw if isinstance(raw, str) else _text(raw, settings)).strip()
        if text.isascii() and text.isdigit():
            return int(text)
        if not _NUMBER.fullmatch(text) or not any(c.isdigit() for c in text):
            hint = " (commas may only separate thousands, as in 1,234.5)" if "," in text else ""
            raise ValueProblem(f"'{text}' is not a number{hint}.")
        plain = text.replace(",", "")
        if _INTEGER.fullmatch(plain):
            return int(plain)
        return from_float(float(plain), text)

    return number


class _Options:
    """A choice column's options: label or number in, option number out."""

    def __init__(self, column: Column, settings: ValueSettings) -> None:
        self.column = column
        self.settings = settings
        options = settings.choices.get(column.internal_name, {})
        self.by_label = {_key(label): number for label, number in options.items()}
        self.numbers = frozenset(options.values())
        self.labels = [label for label, _ in sorted(options.items(), key=lambda item: item[1])]

    def number(self, raw: object) -> int | None:
        """The option number, or None if `raw` names no option."""
        text = raw if isinstance(raw, str) else _text(raw, self.settings)
        found = self.by_label.get(_key(text))
        if found is not None:
            return found
        number = _positive_integer(raw)
        if number is not None and (not self.numbers or number in self.numbers):
            return number
        return None

    def is_label(self, text: str) -> bool:
        return _key(text) in self.by_label

    def problem(self, unknown: Sequence[str]) -> ValueProblem:
        if not self.labels:
            return ValueProblem(
                f"{_quoted(unknown)} cannot be sent: the options of {self.column.display_name} "
                "are not set up in the profile, so enter option numbers or set up the options."
            )
        verb = "is not one of" if len(unknown) == 1 else "are not among"
        return ValueProblem(f"{_quoted(unknown)} {verb} the options: {_some(self.labels)}.")


def _single_choice(column: Column, settings: ValueSettings) -> Converter:
    options = _Options(column, settings)

    def single_choice(raw: object) -> int | None:
        if isinstance(raw, str):
            raw = raw.strip()
        number = options.number(raw)
        if number is None:
            raise options.problem([_text(raw, settings)])
        return number

    return single_choice


_LIST_BREAKS = re.compile(r"[;\r\n]+")


def _multiple_choice(column: Column, settings: ValueSettings) -> Converter:
    options = _Options(column, settings)

    def pieces(raw: object) -> Iterable[object]:
        if isinstance(raw, list | tuple):
            return raw
        if not isinstance(raw, str) or options.is_label(raw):
            return [raw]
        found: list[str] = []
        for piece in _LIST_BREAKS.split(raw):
            # A label may itself hold a comma ("Research, Development"): keep it whole.
            found.extend([piece] if options.is_label(piece) else piece.split(","))
        return found

    def multiple_choice(raw: object) -> list[int] | None:
        numbers: list[int] = []
        unknown: list[str] = []
        for piece in pieces(raw):
            text = _text(piece, settings).strip() if piece is not None else ""
            if not text:
                continue
            number = options.number(piece.strip() if isinstance(piece, str) else piece)
            if number is None:
                unknown.append(text)
            elif number not in numbers:
                numbers.append(number)
        if unknown:
            raise options.problem(unknown)
        return numbers or None

    return multiple_choice


# Deliberately plain: local part, @, a domain with at least one dot. Opus checks the rest.
_DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    rf"@(?:{_DOMAIN_LABEL}\.)+{_DOMAIN_LABEL}"
)
# "Name <address>" (the name may hold commas but no @), or a bare address up to , ; or a line end.
_PERSON = re.compile(r'(?:"[^"]*"|[^;\r\n<>"@])*?<(?P<bracketed>[^<>]*)>|(?P<bare>[^,;\r\n<>]+)')
_SEPARATORS = re.compile(r"[\s,;]*")


def _people_or_group(column: Column, settings: ValueSettings) -> Converter:
    def addresses(text: str) -> tuple[list[str], list[str]]:
        found: list[str] = []
        stray: list[str] = []
        position = 0
        for match in _PERSON.finditer(text):
            gap = text[position : match.start()]
            if not _SEPARATORS.fullmatch(gap):
                stray.append(gap.strip())
            bracketed = match.group("bracketed")
            if bracketed is not None and not bracketed.strip():
                stray.append(match.group().strip())  # "Bob <>": a name without an address
            else:
                found.append((bracketed or match.group("bare") or "").strip())
            position = match.end()
        if not _SEPARATORS.fullmatch(text[position:]):
            stray.append(text[position:].strip())
        return found, stray

    def people_or_group(raw: object) -> list[str] | None:
        items = raw if isinstance(raw, list | tuple) else [raw]
        result: list[str] = []
        seen: set[str] = set()
        bad: list[str] = []
        for item in items:
            if item is None:
                continue
            found, stray = addresses(_text(item, settings))
            bad.extend(stray)
            for address in found:
                if not address:
                    continue
                if not _EMAIL.fullmatch(address):
                    bad.append(address)
                elif address.casefold() not in seen:
                    seen.add(address.casefold())
                    result.append(address)
        if bad:
            verb = "is not an e-mail address" if len(bad) == 1 else "are not e-mail addresses"
            raise ValueProblem(f"{_quoted(bad)} {verb}.")
        return result or None

    return people_or_group


def _taxonomy(column: Column, settings: ValueSettings) -> Converter:
    joiner = settings.term_separator
    marks = sorted({"/", "\\", ">", joiner.strip()}, key=len, reverse=True)
    splitter = re.compile("|".join(re.escape(mark) for mark in marks))

    def levels(path: str) -> list[str]:
        return [level for level in (part.strip() for part in splitter.split(path)) if level]

    canonical: dict[str, str] = {}  # joined keys -> the path as the profile spells it
    by_leaf: dict[str, list[str]] = {}
    for path in settings.terms.get(column.internal_name, ()):
        spelled = levels(path)
        if spelled:
            canonical.setdefault(_key(joiner.join(spelled)), joiner.join(spelled))
            by_leaf.setdefault(_key(spelled[-1]), []).append(joiner.join(spelled))

    def suggestion(given: list[str]) -> str | None:
        leaf_matches = by_leaf.get(_key(given[-1]), [])
        if len(leaf_matches) == 1:
            return leaf_matches[0]
        close = difflib.get_close_matches(_key(joiner.join(given)), canonical, n=1, cutoff=0.75)
        return canonical[close[0]] if close else None

    def taxonomy(raw: object) -> str | None:
        given = levels(_text(raw, settings))
        if not given:
            return None
        path = joiner.join(given)
        if not canonical:
            return path
        known = canonical.get(_key(path))
        if known is not None:
            return known
        guess = suggestion(given)
        hint = f"; did you mean '{guess}'?" if guess else " in the profile's term list."
        raise ValueProblem(f"'{path}' is not a term of {column.display_name}{hint}")

    return taxonomy


_BUILDERS: dict[ColumnType, Callable[[Column, ValueSettings], Converter]] = {
    ColumnType.SINGLE_TEXT: _single_text,
    ColumnType.MULTIPLE_TEXT: _multiple_text,
    ColumnType.DATE_TIME: _date_time,
    ColumnType.NUMBER: _number,
    ColumnType.SINGLE_CHOICE: _single_choice,
    ColumnType.MULTIPLE_CHOICE: _multiple_choice,
    ColumnType.PEOPLE_OR_GROUP: _people_or_group,
    ColumnType.TAXONOMY: _taxonomy,
}
