"""Connections and the values of their columns, as the sandbox checks and shows them.

A connection is its template's columns (internal name -> type, in order) plus what Opus
knows beyond the template: choice options per column and the terms of each taxonomy
column, with the retention in years of each classification term.

`check_item` validates one submitted item and returns the values to store: DateTime
values are kept as ISO text ("2024-04-01T00:59:34") so that the tenant's date format
may change later, everything else as it was sent. `display` turns stored values into
the one-string-per-column form that due-records replies carry.
"""

from __future__ import annotations

import calendar
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opus_desktop.sandbox.dates import DatePattern

TYPES = (
    "SingleText", "MultipleText", "DateTime", "Number",
    "SingleChoice", "MultipleChoice", "PeopleOrGroup", "Taxonomy",
)  # fmt: skip
REQUIRED = ("rowKey", "leafName", "timeCreated", "timeModified")
BUILT_IN_TYPES = {
    "rowKey": "SingleText", "leafName": "SingleText", "termFullPath": "Taxonomy",
    "timeCreated": "DateTime", "timeModified": "DateTime",
    "createdBy": "SingleText", "modifiedBy": "SingleText",
}  # fmt: skip
CLASSIFICATION = "termFullPath"
SINGLE_TEXT_LIMIT = 255
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@"
    + rf"{_LABEL}(?:\.{_LABEL})+"
)


def is_guid(value: object) -> bool:
    return isinstance(value, str) and GUID.fullmatch(value) is not None


def iso(value: datetime) -> str:
    return value.replace(tzinfo=None, microsecond=0).isoformat()


def add_years(value: datetime, years: int) -> datetime:
    """`value` moved by whole years; 29 February becomes 28 February in other years."""
    year = value.year + years
    day = min(value.day, calendar.monthrange(year, value.month)[1])
    return value.replace(year=year, day=day)


@dataclass(frozen=True)
class Connection:
    id: str
    columns: dict[str, str]  # internal name -> type, in the template's order
    choices: dict[str, dict[int, str]] = field(default_factory=dict)  # column -> number -> label
    terms: dict[str, dict[str, int | None]] = field(default_factory=dict)  # column -> path -> years

    @classmethod
    def from_definition(
        cls, template: dict[str, Any], choices: dict[str, Any], terms: dict[str, Any]
    ) -> Connection:
        """A connection from a template and the tenant's options; ValueError names what is wrong."""
        connection_id = template.get("id")
        if not is_guid(connection_id):
            raise ValueError(f"The template's id {connection_id!r} is not a GUID.")
        data = template.get("data")
        if not isinstance(data, list) or not data or not isinstance(data[0], dict):
            raise ValueError(
                "The template's data must be a list whose first item maps columns to types."
            )
        columns: dict[str, str] = {}
        for name, kind in data[0].items():
            if kind not in TYPES:
                raise ValueError(f"Column {name!r} has the unknown type {kind!r}.")
            if name in BUILT_IN_TYPES and BUILT_IN_TYPES[name] != kind:
                raise ValueError(f"Column {name!r} must be {BUILT_IN_TYPES[name]}, not {kind}.")
            columns[name] = kind
        missing = [name for name in REQUIRED if name not in columns]
        if missing:
            raise ValueError(f"The template lacks the required columns {', '.join(missing)}.")
        parsed_choices: dict[str, dict[int, str]] = {}
        for name, options in choices.items():
            if columns.get(name) not in ("SingleChoice", "MultipleChoice") or not isinstance(
                options, dict
            ):
                raise ValueError(f"Choices are given for {name!r}, which is not a choice column.")
            numbers = {number: label for label, number in options.items()}
            if len(numbers) != len(options) or not all(
                type(n) is int and n >= 1 and isinstance(label, str) for n, label in numbers.items()
            ):
                raise ValueError(
                    f"The options of {name!r} must be labels with distinct numbers from 1."
                )
            parsed_choices[name] = numbers
        parsed_terms: dict[str, dict[str, int | None]] = {}
        for name, paths in terms.items():
            if columns.get(name) != "Taxonomy" or not isinstance(paths, dict):
                raise ValueError(f"Terms are given for {name!r}, which is not a taxonomy column.")
            for path, years in paths.items():
                if not (years is None or (type(years) is int and years >= 0)):
                    raise ValueError(f"The retention of term {path!r} must be whole years or null.")
            parsed_terms[name] = dict(paths)
        return cls(str(connection_id).lower(), columns, parsed_choices, parsed_terms)

    def to_json(self) -> str:
        return json.dumps(
            {"id": self.id, "columns": self.columns, "choices": self.choices, "terms": self.terms}
        )

    @classmethod
    def from_json(cls, text: str) -> Connection:
        raw = json.loads(text)
        choices = {
            name: {int(n): label for n, label in options.items()}
            for name, options in raw["choices"].items()
        }
        return cls(raw["id"], raw["columns"], choices, raw["terms"])

    def due_at(self, values: dict[str, Any]) -> str | None:
        """The record's disposal due date (ISO), or None when it is never due."""
        path = values.get(CLASSIFICATION)
        years = self.terms.get(CLASSIFICATION, {}).get(path) if isinstance(path, str) else None
        if years is None:
            return None
        return iso(add_years(datetime.fromisoformat(values["timeCreated"]), years))


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def check_item(
    connection: Connection, item: dict[str, Any], pattern: DatePattern
) -> tuple[dict[str, Any], str]:
    """(values to store, "") for a good item, or ({}, why) naming the column at fault."""
    stored: dict[str, Any] = {}
    for name in REQUIRED:
        value = item.get(name)
        if value is None or value == "":
            return {}, f"Column {name!r} is required but has no value."
    for name, value in item.items():
        if value is None:
            continue  # no value for an optional column
        kind = connection.columns[name]
        try:
            stored[name] = _check_value(connection, name, kind, value, pattern)
        except ValueError as exc:
            return {}, f"Column {name!r} ({kind}): {exc}"
    return stored, ""


def _check_value(
    connection: Connection, name: str, kind: str, value: Any, pattern: DatePattern
) -> Any:
    if kind in ("SingleText", "MultipleText"):
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {_shown(value)}.")
        if kind == "SingleText" and len(value) > SINGLE_TEXT_LIMIT:
            raise ValueError(
                f"the text has {len(value)} characters; at most {SINGLE_TEXT_LIMIT} are allowed."
            )
        return value
    if kind == "DateTime":
        if not isinstance(value, str):
            raise ValueError(
                f"expected a date and time as text in the format {pattern.pattern!r}, "
                f"got {_shown(value)}."
            )
        return iso(pattern.parse(value))
    if kind == "Number":
        if type(value) not in (int, float) or not math.isfinite(value):
            raise ValueError(f"expected a JSON number, got {_shown(value)}.")
        return value
    if kind == "SingleChoice":
        options = connection.choices.get(name, {})
        if type(value) is not int or value not in options:
            raise ValueError(
                f"expected one of the option numbers {sorted(options)}, got {_shown(value)}."
            )
        return value
    if kind == "MultipleChoice":
        options = connection.choices.get(name, {})
        if not isinstance(value, list) or any(
            type(v) is not int or v not in options for v in value
        ):
            raise ValueError(
                f"expected a list of the option numbers {sorted(options)}, got {_shown(value)}."
            )
        if len(set(value)) != len(value):
            raise ValueError(f"an option is listed twice in {_shown(value)}.")
        return value
    if kind == "PeopleOrGroup":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"expected a list of e-mail addresses, got {_shown(value)}.")
        bad = [v for v in value if EMAIL.fullmatch(v) is None]
        if bad:
            raise ValueError(f"{_shown(bad[0])} is not an e-mail address.")
        return value
    # Taxonomy
    terms = connection.terms.get(name, {})
    if not isinstance(value, str):
        raise ValueError(f"expected a term path as text, got {_shown(value)}.")
    if value not in terms:
        raise ValueError(f"{_shown(value)} is not a term of this column.")
    return value


def display(connection: Connection, values: dict[str, Any], pattern: DatePattern) -> dict[str, str]:
    """One display string per column, as a due-records reply shows a record."""
    shown: dict[str, str] = {}
    for name, kind in connection.columns.items():
        value = values.get(name)
        if value is None:
            shown[name] = ""
        elif kind == "DateTime":
            # The real service ends every date and time with a space.
            shown[name] = pattern.format(datetime.fromisoformat(value)) + " "
        elif kind == "Number":
            shown[name] = str(int(value)) if float(value).is_integer() else repr(float(value))
        elif kind == "SingleChoice":
            shown[name] = connection.choices[name][value]
        elif kind == "MultipleChoice":
            shown[name] = "; ".join(connection.choices[name][v] for v in value)
        elif kind == "PeopleOrGroup":
            shown[name] = "; ".join(value)
        else:
            shown[name] = str(value)
    return shown


def submitted(
    connection: Connection, values: dict[str, Any], pattern: DatePattern
) -> dict[str, Any]:
    """Stored values as a client would have sent them (DateTime back in the tenant format)."""
    return {
        name: pattern.format(datetime.fromisoformat(value))
        if connection.columns.get(name) == "DateTime"
        else value
        for name, value in values.items()
    }
