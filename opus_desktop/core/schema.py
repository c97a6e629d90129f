"""Connection templates: the JSON file Opus lets users download from Settings > Connector.

    {"id": "<connection GUID>", "conflictOption": "Overwrite",
     "data": [{"rowKey": "SingleText", ..., "_Number_%20_Column": "Number"}]}

`data[0]` lists the columns in order, internal name to type. The misspelt key
"confilictOption" appears in Opus's own example, so both spellings are accepted.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from opus_desktop.core.errors import TemplateError
from opus_desktop.jsonfile import load_json


class ColumnType(StrEnum):
    SINGLE_TEXT = "SingleText"
    MULTIPLE_TEXT = "MultipleText"
    DATE_TIME = "DateTime"
    NUMBER = "Number"
    SINGLE_CHOICE = "SingleChoice"
    MULTIPLE_CHOICE = "MultipleChoice"
    PEOPLE_OR_GROUP = "PeopleOrGroup"
    TAXONOMY = "Taxonomy"


@dataclass(frozen=True)
class BuiltIn:
    display_name: str
    type: ColumnType
    required: bool


BUILT_INS: dict[str, BuiltIn] = {
    "rowKey": BuiltIn("Row key", ColumnType.SINGLE_TEXT, True),
    "leafName": BuiltIn("Name", ColumnType.SINGLE_TEXT, True),
    "termFullPath": BuiltIn("Classification", ColumnType.TAXONOMY, False),
    "timeCreated": BuiltIn("Created time", ColumnType.DATE_TIME, True),
    "timeModified": BuiltIn("Modified time", ColumnType.DATE_TIME, True),
    "createdBy": BuiltIn("Created by", ColumnType.SINGLE_TEXT, False),
    "modifiedBy": BuiltIn("Modified by", ColumnType.SINGLE_TEXT, False),
}

ROW_KEY = "rowKey"
CONFLICT_OPTIONS = ("Overwrite", "Skip")


@dataclass(frozen=True)
class Column:
    internal_name: str
    display_name: str
    type: ColumnType
    required: bool
    builtin: bool


@dataclass(frozen=True)
class Template:
    connection_id: str | None
    conflict_option: str
    columns: tuple[Column, ...]

    def __iter__(self) -> Iterator[Column]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def column(self, internal_name: str) -> Column:
        for column in self.columns:
            if column.internal_name == internal_name:
                return column
        raise KeyError(internal_name)

    @property
    def internal_names(self) -> list[str]:
        return [c.internal_name for c in self.columns]


def decode_internal_name(internal_name: str) -> str:
    """`_Multiple_%20_Text_%20_Column` -> "Multiple Text Column".

    Underscores only separate runs; `%XX` escapes stand for symbols (an underscore
    in a display name is itself escaped as %5F, so removing them loses nothing).
    """
    if internal_name in BUILT_INS:
        return BUILT_INS[internal_name].display_name
    decoded = unquote(internal_name.replace("_", ""))
    return re.sub(r"\s+", " ", decoded).strip() or internal_name


_DOCUMENT_KEYS = ("id", "conflictoption", "confilictoption", "data")


class _Twice(TemplateError):
    """A key or column named twice, said with the file's name once it is known."""


def _no_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            what = "key" if key.lower() in _DOCUMENT_KEYS else "column"
            raise _Twice(f'the {what} "{key}" appears twice')
        seen[key] = value
    return seen


def parse_template(
    text: str | bytes, source: str = "template", *, require_id: bool = True
) -> Template:
    """Read a template from its JSON text; raise TemplateError saying what is wrong and where."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise TemplateError(
                f"{source} is not a text file in UTF-8 (byte {exc.start})."
            ) from exc
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise TemplateError(f"{source} is empty: download the connection's JSON file again.")
    try:
        document = load_json(
            text, source, "a connection template", TemplateError, object_pairs_hook=_no_twice
        )
    except _Twice as exc:
        raise TemplateError(f"{source}: {exc.message}.") from exc
    if not isinstance(document, dict):
        raise TemplateError(
            f"{source} should hold a JSON object with id and data, not a {_kind(document)}."
        )
    fields = {key.lower(): value for key, value in document.items()}

    connection_id = _connection_id(fields.get("id"), source, require_id)
    conflict = fields.get("conflictoption", fields.get("confilictoption", "Overwrite"))
    if not isinstance(conflict, str) or conflict.strip().capitalize() not in CONFLICT_OPTIONS:
        raise TemplateError(
            f'{source}: conflictOption must be "Overwrite" or "Skip", not {conflict!r}.'
        )

    data = fields.get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise TemplateError(f'{source} has no "data" list with the connection\'s columns.')
    return Template(connection_id, conflict.strip().capitalize(), _columns(data[0], source))


def load_template(path: Path, *, require_id: bool = True) -> Template:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise TemplateError(f"Cannot read the template {path}: {exc.strerror or exc}.") from exc
    return parse_template(raw, str(path), require_id=require_id)


def _kind(value: object) -> str:
    return {list: "list", str: "string", int: "number", float: "number"}.get(type(value), "value")


def _connection_id(value: object, source: str, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise TemplateError(
                f"{source} has no connection id: download the connection's JSON file again "
                "from Settings > Connector."
            )
        return None
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        raise TemplateError(f"{source}: the connection id {value!r} is not a GUID.") from None


def _columns(spec: dict[str, Any], source: str) -> tuple[Column, ...]:
    by_type = {t.value.lower(): t for t in ColumnType}
    columns: list[Column] = []
    for name, type_name in spec.items():
        if not isinstance(name, str) or not name.strip():
            raise TemplateError(f"{source}: a column has an empty internal name.")
        column_type = by_type.get(type_name.strip().lower()) if isinstance(type_name, str) else None
        if column_type is None:
            known = ", ".join(t.value for t in ColumnType)
            raise TemplateError(
                f'{source}: the column "{name}" has the unknown type {type_name!r} '
                f"(known: {known})."
            )
        builtin = BUILT_INS.get(name)
        if builtin and builtin.type is not column_type:
            raise TemplateError(
                f'{source}: the built-in column "{name}" must be {builtin.type.value}, '
                f"not {column_type.value}."
            )
        columns.append(
            Column(
                internal_name=name,
                display_name=decode_internal_name(name),
                type=column_type,
                required=builtin.required if builtin else False,
                builtin=builtin is not None,
            )
        )
    present = {c.internal_name for c in columns}
    missing = [name for name, b in BUILT_INS.items() if b.required and name not in present]
    if missing:
        raise TemplateError(
            f"{source} lacks the required built-in column(s): {', '.join(missing)}."
        )
    shown: dict[str, str] = {}
    for column in columns:
        key = column.display_name.casefold()
        if key in shown:
            raise TemplateError(
                f'{source}: the columns "{shown[key]}" and "{column.internal_name}" '
                f'both read as "{column.display_name}".'
            )
        shown[key] = column.internal_name
    return tuple(columns)
