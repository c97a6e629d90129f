"""Which sheet header feeds which template column, and how cell values are translated.

The mapping file (DESIGN §4), also what the GUI saves:

    {"columns":   {"Sheet header": "internalName"},
     "constants": {"internalName": "value for every row"},
     "values":    {"internalName": {"Label in the sheet": 3}},
     "rowKey":    {"compose": "{Case number}-{Row}"},
     "dateOrder": "DMY"}

Everything but "columns" is optional. "dateOrder" (DMY, MDY or YMD) is how the sheet
writes dates in digits; without it each date column's order is decided from its values
(core.date_order). "rowKey" builds the row key of sheets that have
none: `{Header}` is that header's cell, `{Row}` the Excel row number, `{{` and `}}` are
literal braces. A row whose named cell is empty gets no row key, so it is reported as
missing one. A pattern naming a header the sheet lacks is reported once, as stale.

Headers are compared ignoring case, spaces and punctuation, so a mapping saved for one
sheet applies to the next one with the same headers even if "Case No." became "case no".
With a mapping, only its entries count; without one, `auto_match` pairs headers with
columns by display name, internal name, or a common synonym ("Title" for Name).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from operator import itemgetter
from pathlib import Path
from typing import Any

from opus_desktop.core.errors import MappingError
from opus_desktop.core.schema import ROW_KEY, Column, ColumnType, Template
from opus_desktop.core.sheets import SheetRow, clean_value
from opus_desktop.files import write_private
from opus_desktop.jsonfile import load_json

Constant = str | int | float

# Synonyms a sheet often uses for the built-in columns, compared as `match_key` does.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "leafName": ("Title", "File name", "Filename", "Document name", "Document title"),
    "rowKey": ("ID", "Key", "Unique key", "Record ID", "Unique ID"),
    "timeCreated": ("Created", "Date created", "Creation date", "Created date", "Created on"),
    "timeModified": ("Modified", "Last modified", "Date modified", "Modified date"),
    "createdBy": ("Author", "Creator"),
    "modifiedBy": ("Editor", "Modified By", "Last modified by"),
    "termFullPath": ("Category", "Classification path", "Record category"),
}
ROW_PLACEHOLDER = "row"
_KNOWN_KEYS = ("columns", "constants", "values", "rowKey", "dateOrder")
DATE_ORDERS = ("DMY", "MDY", "YMD")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_LIST_BREAKS = re.compile(r"[;\r\n]+")


def match_key(text: str) -> str:
    """Letters and digits only, case folded: "Case No." -> "caseno"."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def label_key(label: str) -> str:
    """Value labels compare as the values module compares option labels."""
    return " ".join(label.split()).casefold()


# -- the mapping file ----------------------------------------------------------------------


@dataclass
class Mapping:
    columns: dict[str, str] = field(default_factory=dict)  # sheet header -> internal name
    constants: dict[str, Constant] = field(default_factory=dict)  # internal name -> value
    values: dict[str, dict[str, int]] = field(default_factory=dict)  # internal -> label -> n
    row_key_pattern: str | None = None
    date_order: str | None = None  # "DMY", "MDY", "YMD"; None: decided per column

    def to_json(self) -> str:
        document: dict[str, Any] = {"columns": self.columns}
        if self.constants:
            document["constants"] = self.constants
        if self.values:
            document["values"] = self.values
        if self.row_key_pattern:
            document["rowKey"] = {"compose": self.row_key_pattern}
        if self.date_order:
            document["dateOrder"] = self.date_order
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "The mapping") -> Mapping:
        """Read a mapping; MappingError with a sentence naming what is wrong and where."""
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise MappingError(f"{source} is not UTF-8 text (byte {exc.start}).") from None
        text = text.lstrip("\ufeff")
        if not text.strip():
            raise MappingError(f"{source} is empty.")
        document = load_json(text, source, "a mapping", MappingError)
        if not isinstance(document, dict):
            raise MappingError(
                f'{source} must be a JSON object with "columns", not {_kind(document)}.'
            )
        unknown = [key for key in document if key not in _KNOWN_KEYS]
        if unknown:
            known = ", ".join(f'"{k}"' for k in _KNOWN_KEYS)
            raise MappingError(f'{source} has the unknown entry "{unknown[0]}" (known: {known}).')
        mapping = cls(
            columns=_columns(document.get("columns", {}), source),
            constants=_constants(document.get("constants", {}), source),
            values=_value_maps(document.get("values", {}), source),
            row_key_pattern=_row_key(document.get("rowKey"), source),
            date_order=_date_order(document.get("dateOrder"), source),
        )
        mapping.check(source)
        return mapping

    def check(self, source: str = "The mapping") -> None:
        """Refuse a mapping that contradicts itself (also for mappings built in code)."""
        if self.date_order is not None and self.date_order not in DATE_ORDERS:
            raise MappingError(
                f'{source}: "dateOrder" must be "DMY", "MDY" or "YMD", not "{self.date_order}".'
            )
        fed_by: dict[str, str] = {}
        seen_keys: dict[str, str] = {}
        for header, internal in self.columns.items():
            key = match_key(header)
            if key in seen_keys:
                raise MappingError(
                    f"{source} lists the headers '{seen_keys[key]}' and '{header}', which read "
                    "the same; keep one."
                )
            seen_keys[key] = header
            if internal in fed_by:
                raise MappingError(
                    f"{source} sends both '{fed_by[internal]}' and '{header}' to the column "
                    f"'{internal}'; a column takes one header."
                )
            fed_by[internal] = header
        for internal in self.constants:
            if internal in fed_by:
                raise MappingError(
                    f"{source} both reads the column '{internal}' from the header "
                    f"'{fed_by[internal]}' and sets it to a constant; keep one."
                )
        if self.row_key_pattern is not None:
            parse_pattern(self.row_key_pattern, source)
            if ROW_KEY in fed_by:
                clash = f"the header '{fed_by[ROW_KEY]}'"
            elif ROW_KEY in self.constants:
                clash = "a constant"
            else:
                return
            raise MappingError(
                f"{source} both composes the row key and takes it from {clash}; keep one."
            )

    @classmethod
    def load(cls, path: Path) -> Mapping:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise MappingError(f"Cannot read the mapping {path}: {exc.strerror or exc}.") from None
        return cls.from_json(raw, f"The mapping {Path(path).name}")

    def save(self, path: Path) -> None:
        self.check()
        write_private(Path(path), self.to_json())


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else "an object"


def _object(value: object, what: str, source: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MappingError(f'{source}: "{what}" must be a JSON object, not {_kind(value)}.')
    return value


def _columns(value: object, source: str) -> dict[str, str]:
    columns: dict[str, str] = {}
    for header, internal in _object(value, "columns", source).items():
        if not header.strip():
            raise MappingError(f'{source}: "columns" has an empty header.')
        if not isinstance(internal, str) or not internal.strip():
            raise MappingError(
                f"{source}: the header '{header}' must name a column's internal name, "
                f"not {_kind(internal)}."
            )
        columns[header.strip()] = internal.strip()
    return columns


def _constants(value: object, source: str) -> dict[str, Constant]:
    constants: dict[str, Constant] = {}
    for internal, constant in _object(value, "constants", source).items():
        if isinstance(constant, bool) or not isinstance(constant, str | int | float):
            raise MappingError(
                f"{source}: the constant for '{internal}' must be text or a number, "
                f"not {_kind(constant)}."
            )
        constants[internal.strip()] = constant
    return constants


def _value_maps(value: object, source: str) -> dict[str, dict[str, int]]:
    maps: dict[str, dict[str, int]] = {}
    for internal, labels in _object(value, "values", source).items():
        table: dict[str, int] = {}
        for label, number in _object(labels, f"values.{internal}", source).items():
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                raise MappingError(
                    f"{source}: the label '{label}' of '{internal}' must map to an option "
                    f"number (1, 2, ...), not {json.dumps(number)}."
                )
            table[label] = number
        maps[internal.strip()] = table
    return maps


def _row_key(value: object, source: str) -> str | None:
    if value is None:
        return None
    spec = _object(value, "rowKey", source)
    pattern = spec.get("compose")
    if set(spec) != {"compose"} or not isinstance(pattern, str) or not pattern.strip():
        raise MappingError(
            f'{source}: "rowKey" must look like {{"compose": "{{Case number}}-{{Row}}"}}.'
        )
    return pattern


def _date_order(value: object, source: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or value.strip().upper() not in DATE_ORDERS:
        shown = json.dumps(value, ensure_ascii=False)
        raise MappingError(f'{source}: "dateOrder" must be "DMY", "MDY" or "YMD", not {shown}.')
    return value.strip().upper()


def parse_pattern(pattern: str, source: str = "The mapping") -> list[tuple[bool, str]]:
    """`"{Case}-{Row}"` -> [(True, "Case"), (False, "-"), (True, "Row")]: placeholders flagged."""
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in _PLACEHOLDER.finditer(pattern):
        if match.start() > position:
            parts.append((False, pattern[position : match.start()]))
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append((False, token[0]))
        elif match.group(1) is None or not match.group(1).strip():
            raise MappingError(
                f"{source}: the row key pattern '{pattern}' has a stray or empty brace at "
                f"character {match.start() + 1} (write {{{{ or }}}} for a literal brace)."
            )
        else:
            parts.append((True, match.group(1).strip()))
        position = match.end()
    if position < len(pattern):
        parts.append((False, pattern[position:]))
    if not any(is_field for is_field, _ in parts):
        raise MappingError(
            f"{source}: the row key pattern '{pattern}' names no {{Header}} or {{Row}}, "
            "so every row would get the same key."
        )
    return parts


# -- matching headers to columns ------------------------------------------------------------


def auto_match(headers: Sequence[str], template: Template) -> Mapping:
    """Pair headers with columns: display or internal name first, then synonyms."""
    by_key: dict[str, Column] = {}
    for column in template:
        by_key.setdefault(match_key(column.display_name), column)
        by_key.setdefault(match_key(column.internal_name), column)
    synonyms: dict[str, Column] = {}
    for column in template:
        for synonym in SYNONYMS.get(column.internal_name, ()):
            synonyms.setdefault(match_key(synonym), column)

    taken: dict[str, str] = {}  # internal name -> header
    chosen: dict[str, str] = {}  # header -> internal name
    for table in (by_key, synonyms):
        for header in headers:
            if not header or header in chosen:
                continue
            found = table.get(match_key(header))
            if found is not None and found.internal_name not in taken:
                taken[found.internal_name] = header
                chosen[header] = found.internal_name
    return Mapping(columns={h: chosen[h] for h in headers if h in chosen})


@dataclass(frozen=True)
class Plan:
    """A mapping resolved against one sheet's headers and one template."""

    template: Template
    sources: dict[str, int]  # internal name -> index of the header that feeds it
    constants: dict[str, Constant]
    values: dict[str, dict[str, int]]  # internal name -> label_key(label) -> option number
    row_key: tuple[tuple[bool, str | int], ...] | None  # literals, header indexes, ROW
    unmatched: list[str]  # sheet headers that feed nothing
    missing: list[Column]  # required columns nothing feeds
    stale: list[str]  # sentences: mapping entries that no longer fit sheet or template

    @property
    def messages(self) -> list[str]:
        """Every reason the plan cannot feed all required columns, as sentences."""
        missing = [
            f"Nothing in the sheet feeds the required column {c.display_name}: map a header "
            "to it or give it a constant."
            for c in self.missing
        ]
        return self.stale + missing


def _find_header(header: str, headers: Sequence[str]) -> int | None:
    if header in headers:
        return headers.index(header)
    key = match_key(header)
    found = [i for i, h in enumerate(headers) if h and match_key(h) == key]
    return found[0] if len(found) == 1 else None


def _no_header(header: str, headers: Sequence[str], what: str) -> str:
    close = difflib.get_close_matches(header, [h for h in headers if h], n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else "."
    return f"{what} a header '{header}', which this sheet no longer has{hint}"


def apply(mapping: Mapping, headers: Sequence[str], template: Template) -> Plan:
    """Resolve `mapping` against a sheet's headers.

    Stale entries become sentences in the plan; only a mapping that contradicts itself
    (two headers for one column, say) raises MappingError.
    """
    mapping.check()
    names = set(template.internal_names)
    sources: dict[str, int] = {}
    stale: list[str] = []
    used: set[int] = set()
    for header, internal in mapping.columns.items():
        index = _find_header(header, headers)
        if internal not in names:
            stale.append(
                f"The mapping sends the header '{header}' to the column '{internal}', "
                "which the template does not have."
            )
            continue
        if index is None:
            stale.append(_no_header(header, headers, "The mapping expects"))
            continue
        sources[internal] = index
        used.add(index)

    constants: dict[str, Constant] = {}
    for internal, constant in mapping.constants.items():
        if internal in names:
            constants[internal] = constant
        else:
            stale.append(
                f"The mapping sets the column '{internal}' to '{constant}' on every row, "
                "but the template has no such column."
            )

    values: dict[str, dict[str, int]] = {}
    for internal, labels in mapping.values.items():
        if internal in names:
            values[internal] = {label_key(label): n for label, n in labels.items()}
        else:
            stale.append(
                f"The mapping translates values of the column '{internal}', "
                "which the template does not have."
            )

    row_key: tuple[tuple[bool, str | int], ...] | None = None
    if mapping.row_key_pattern is not None:
        parts: list[tuple[bool, str | int]] = []
        for is_field, text in parse_pattern(mapping.row_key_pattern):
            if not is_field:
                parts.append((False, text))
            elif match_key(text) == ROW_PLACEHOLDER:
                parts.append((True, ROW_PLACEHOLDER))
            else:
                index = _find_header(text, headers)
                if index is None:
                    what = f"The row key pattern '{mapping.row_key_pattern}' uses"
                    stale.append(_no_header(text, headers, what))
                    parts = []
                    break
                parts.append((True, index))
                used.add(index)
        if parts:
            row_key = tuple(parts)

    fed = set(sources) | set(constants) | ({ROW_KEY} if row_key else set())
    missing = [c for c in template if c.required and c.internal_name not in fed]
    unmatched = [h for i, h in enumerate(headers) if h and i not in used]
    return Plan(template, sources, constants, values, row_key, unmatched, missing, stale)


# -- rows ------------------------------------------------------------------------------------


class RowReader:
    """Turns sheet rows into raw records (internal name -> cell) for one plan; reuse it."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.names = tuple(plan.sources)
        indexes = tuple(plan.sources.values())
        self._pick = itemgetter(*indexes) if len(indexes) > 1 else None
        self._single = indexes[0] if len(indexes) == 1 else None
        self._constants = tuple(plan.constants.items())
        multiple = {c.internal_name for c in plan.template if c.type is ColumnType.MULTIPLE_CHOICE}
        self._value_maps = tuple(
            (name, table, name in multiple) for name, table in plan.values.items()
        )

    def __call__(self, row: SheetRow) -> dict[str, object]:
        cells = row.cells
        raw: dict[str, object]
        if self._pick is not None:
            raw = dict(zip(self.names, self._pick(cells), strict=False))
        elif self._single is not None:
            raw = {self.names[0]: cells[self._single]}
        else:
            raw = {}
        for name, table, multiple in self._value_maps:
            given = raw.get(name)
            if isinstance(given, str):
                raw[name] = (
                    _translate_list(given, table)
                    if multiple
                    else table.get(label_key(given), given)
                )
        for name, constant in self._constants:
            raw[name] = constant
        if self.plan.row_key is not None:
            raw[ROW_KEY] = self._compose(row)
        return raw

    def many(self, rows: Iterable[SheetRow]) -> list[dict[str, object]]:
        """`[self(row) for row in rows]`, faster when there is nothing but columns to pick."""
        if self._pick is None or self._value_maps or self._constants or self.plan.row_key:
            return [self(row) for row in rows]
        names, pick = self.names, self._pick
        return [dict(zip(names, pick(row.cells), strict=False)) for row in rows]

    def column(
        self, name: str, numbers: Sequence[int], cells: Sequence[Sequence[Any]]
    ) -> list[object]:
        """One internal name's raw values down many rows (their numbers and cells), as
        `self` gives them row by row; the cells may be as read (before `clean_value`)."""
        if name == ROW_KEY and self.plan.row_key is not None:
            compose = self._compose_cells
            return [compose(row, number) for number, row in zip(numbers, cells, strict=True)]
        if name in self.plan.constants:
            return [self.plan.constants[name]] * len(cells)
        index = self.plan.sources.get(name)
        if index is None:
            return [None] * len(cells)
        given: list[object] = list(map(itemgetter(index), cells))
        for mapped, table, multiple in self._value_maps:
            if mapped == name:
                given = [self._translated(clean_value(g), table, multiple) for g in given]
        return given

    @staticmethod
    def _translated(given: object, table: dict[str, int], multiple: bool) -> object:
        if not isinstance(given, str):
            return given
        return _translate_list(given, table) if multiple else table.get(label_key(given), given)

    def _compose(self, row: SheetRow) -> str | None:
        return self._compose_cells(row.cells, row.number)

    def _compose_cells(self, cells: Sequence[Any], number: int) -> str | None:
        pieces: list[str] = []
        assert self.plan.row_key is not None
        for is_field, part in self.plan.row_key:
            if not is_field:
                pieces.append(str(part))
            elif part == ROW_PLACEHOLDER:
                pieces.append(str(number))
            else:
                value = clean_value(cells[int(part)])
                if value is None:
                    return None  # reported as a missing row key, not composed half-way
                pieces.append(_key_text(value))
        return "".join(pieces)


def _key_text(value: object) -> str:
    """A cell as it reads inside a composed key: 2024-01-02, 08:30:00, 12, TRUE."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, time):
        return value.isoformat()
    return str(value)


def _translate_list(text: str, table: dict[str, int]) -> object:
    """Several labels in one cell: each known one becomes its number, the rest stay text."""
    whole = table.get(label_key(text))
    if whole is not None:
        return [whole]
    found: list[int | str] = []
    for piece in _LIST_BREAKS.split(text):
        pieces = [piece] if label_key(piece) in table else piece.split(",")
        for item in pieces:
            if item.strip():
                found.append(table.get(label_key(item), item.strip()))
    return found


def raw_row(plan: Plan, row: SheetRow) -> dict[str, object]:
    """One row as internal name -> value, with constants, value maps and the row key applied.

    For many rows make one RowReader(plan) and call it: it does the set-up once.
    """
    return RowReader(plan)(row)
