"""The records due for disposal, and the officer's selection of them.

    listing = fetch_due(client, before, per_page=100, state=state, template=template)
    listing.records          # DueRecord: row key, name, classification, due date, all columns

Pages follow the continuation token until it ends; `state` reports each page (loaded
records count as done) and a cancel stops after the page under way, leaving
`listing.next_start` to go on from. `due_pages` yields one page at a time ("load more").
Items are normalised to {internal name: display string}, whether the service keyed them
by internal or by display name.

The selection: `read_selection` reads the row keys of a signed-off sheet (the one
`due_table` lays out), `plan_disposal` sets them against a fresh due list, and
`summarise` gives the counts a confirmation shows. The destroy run is jobs/disposal.py.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from opus_desktop.core.datetimes import DEFAULT_FORMAT, parse_with_offset
from opus_desktop.core.errors import SheetError
from opus_desktop.core.schema import BUILT_INS, ROW_KEY, Template, decode_internal_name
from opus_desktop.core.sheets import CellValue, read_sheet
from opus_desktop.jobs.state import RunState
from opus_desktop.opus.protocols import DuePage

log = logging.getLogger(__name__)

MAX_PER_PAGE = 100
DUE_DATE = "disposalDueDate"
DUE_DATE_HEADER = "Disposal due date"
NAME, CLASSIFICATION = "leafName", "termFullPath"


class DueClient(Protocol):
    """What listing due records needs of OpusClient (a fake in unit tests)."""

    def due_page(
        self, before: datetime, start: str | None = None, per_page: int = MAX_PER_PAGE
    ) -> DuePage: ...


def _normal(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).casefold()


# -- due records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueRecord:
    """One record due for disposal, as the service listed it."""

    row_key: str
    name: str
    classification: str
    due: str  # the disposal due date as the service wrote it
    due_at: datetime | None  # the same, read (naive: as the service wrote it)
    values: dict[str, str] = field(default_factory=dict)  # internal name -> display string

    def item(self, row: int | None = None) -> DisposalItem:
        return DisposalItem(self.row_key, self.name, self.classification, self.due, row)


@dataclass
class DueList:
    records: list[DueRecord]
    next_start: str | None  # where to go on from, when cut short by a cancel or a limit
    pages: int

    @property
    def complete(self) -> bool:
        return self.next_start is None


def _column_names(template: Template | None) -> dict[str, str]:
    """Normalised internal and display names -> internal name."""
    names: dict[str, str] = {}
    for internal, builtin in BUILT_INS.items():
        names[_normal(builtin.display_name)] = internal
    for column in template or ():
        names[_normal(column.display_name)] = column.internal_name
    for internal in [*BUILT_INS, *(template.internal_names if template else [])]:
        names[_normal(internal)] = internal
    names[_normal(DUE_DATE)] = names[_normal(DUE_DATE_HEADER)] = DUE_DATE
    return names


def normalise_due(
    items: Iterable[Mapping[str, str]],
    template: Template | None = None,
    date_format: str = DEFAULT_FORMAT,
) -> list[DueRecord]:
    """Service items -> DueRecords; items without a row key are left out (nothing to act on)."""
    names = _column_names(template)
    exact = set(BUILT_INS) | set(template.internal_names if template else ()) | {DUE_DATE}
    records: list[DueRecord] = []
    for item in items:
        values: dict[str, str] = {}
        for key, value in item.items():
            internal = key if key in exact else names.get(_normal(key), key)
            values[internal] = str(value).strip()
        key = values.get(ROW_KEY, "")
        if not key:
            continue
        due = values.pop(DUE_DATE, "")
        records.append(
            DueRecord(
                key,
                values.get(NAME, ""),
                values.get(CLASSIFICATION, ""),
                due,
                _read_time(due, date_format),
                values,
            )
        )
    return records


def _read_time(text: str, date_format: str) -> datetime | None:
    if not text:
        return None
    try:
        value, offset = parse_with_offset(text, date_format)
    except ValueError:
        return None
    return value if offset is None else value - offset


@dataclass(frozen=True)
class DueBatch:
    """One page of due records."""

    number: int  # from 1
    records: list[DueRecord]
    next_start: str | None
    message: str


def due_pages(
    client: DueClient,
    before: datetime,
    per_page: int = MAX_PER_PAGE,
    start: str | None = None,
    template: Template | None = None,
    date_format: str = DEFAULT_FORMAT,
) -> Iterator[DueBatch]:
    """The due records page by page, from `start` (None: the first page) to the last."""
    number = 0
    while True:
        page = client.due_page(before, start, per_page)
        number += 1
        records = normalise_due(page.items, template, date_format)
        yield DueBatch(number, records, page.next_start, page.message)
        if not page.next_start or not page.items:
            return
        start = page.next_start


def fetch_due(
    client: DueClient,
    before: datetime,
    *,
    per_page: int = MAX_PER_PAGE,
    state: RunState | None = None,
    template: Template | None = None,
    date_format: str = DEFAULT_FORMAT,
    start: str | None = None,
    max_pages: int | None = None,
    on_page: Callable[[DueBatch], None] | None = None,
) -> DueList:
    """Every record due before `before` (or up to `max_pages` pages), following the token.

    A row key listed twice (the list moved between pages) is kept once.
    """
    state = state or RunState()
    state.start(0)
    records: list[DueRecord] = []
    seen: set[str] = set()
    pages = 0
    next_start = start
    for batch in due_pages(client, before, per_page, start, template, date_format):
        pages += 1
        fresh = [r for r in batch.records if r.row_key not in seen]
        seen.update(r.row_key for r in fresh)
        records.extend(fresh)
        next_start = batch.next_start or None
        state.set_total(len(records))
        state.add(stored=len(fresh))
        state.set_status(f"Page {pages}: {len(records)} due records so far")
        if on_page is not None:
            on_page(DueBatch(batch.number, fresh, batch.next_start, batch.message))
        if next_start is None:
            break
        if state.cancel_requested or (max_pages is not None and pages >= max_pages):
            break
    return DueList(records, next_start, pages)


def due_table(
    records: Sequence[DueRecord], template: Template | None = None
) -> tuple[list[str], list[list[str]]]:
    """Headers and rows for a sign-off sheet: "Row key", every column's display name in
    template order (then any other column the service sent), then "Disposal due date"."""
    columns = list(template.internal_names) if template else [ROW_KEY, NAME, CLASSIFICATION]
    if ROW_KEY in columns:
        columns.remove(ROW_KEY)
    columns.insert(0, ROW_KEY)
    for record in records:
        columns.extend(name for name in record.values if name not in columns)
    display = {c.internal_name: c.display_name for c in template or ()}
    headers = [display.get(c) or decode_internal_name(c) for c in columns] + [DUE_DATE_HEADER]
    rows = [[r.values.get(c, "") for c in columns] + [r.due] for r in records]
    return headers, rows


# -- the officer's selection -------------------------------------------------------------------


@dataclass(frozen=True)
class DisposalItem:
    """A record to mark destroyed, with what the audit log and certificate show of it."""

    key: str
    name: str = ""
    classification: str = ""
    due: str = ""
    row: int | None = None  # its row in the signed-off sheet, if it came from one

    def payload(self) -> dict[str, str]:
        return {
            "rowKey": self.key,
            "name": self.name,
            "classification": self.classification,
            "dueDate": self.due,
        }


@dataclass
class Selection:
    """The row keys of a signed-off sheet, in sheet order, each once."""

    path: Path
    items: list[DisposalItem]
    repeated: dict[str, list[int]]  # key -> the rows where it appears again

    @property
    def keys(self) -> list[str]:
        return [item.key for item in self.items]


_KEY_HEADERS = {_normal("Row key"), _normal(ROW_KEY)}


def read_selection(path: Path, sheet: str | None = None) -> Selection:
    """The row keys in the column headed "Row key" (or rowKey) of a sheet such as the one
    `due --out` writes; name, classification and due date too where the sheet has them."""
    data = read_sheet(Path(path), sheet)
    normal = [_normal(h) for h in data.headers]
    found = [i for i, h in enumerate(normal) if h in _KEY_HEADERS]
    if not found:
        shown = ", ".join(f'"{h}"' for h in data.headers if h) or "none"
        raise SheetError(
            f'{data.source} has no column headed "Row key" (or rowKey), so it does not say '
            f"which records to destroy. Its headers are: {shown}."
        )
    column = found[0]

    def find(*names: str) -> int | None:
        wanted = {_normal(n) for n in names}
        return next((i for i, h in enumerate(normal) if h in wanted), None)

    extra = (
        find("Name", NAME),
        find("Classification", CLASSIFICATION),
        find(DUE_DATE_HEADER, DUE_DATE, "Due date"),
    )
    items: list[DisposalItem] = []
    first: dict[str, int] = {}
    repeated: dict[str, list[int]] = {}
    for row in data.rows:
        key = _cell_text(row.cells[column])
        if not key:
            continue
        if key in first:
            repeated.setdefault(key, []).append(row.number)
            continue
        first[key] = row.number
        name, classification, due = (
            _cell_text(row.cells[i]) if i is not None else "" for i in extra
        )
        items.append(DisposalItem(key, name, classification, due, row.number))
    if not items:
        raise SheetError(
            f'{data.source} lists no row keys: the column "{data.headers[column]}" is empty.'
        )
    return Selection(Path(path), items, repeated)


def _cell_text(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(" ")
    return str(value).strip()


@dataclass
class DisposalPlan:
    """What a destroy will send, given a fresh due list."""

    send: list[DisposalItem]
    not_due: list[DisposalItem]  # selected but not in the due list

    def not_sent(self, include_not_due: bool) -> dict[str, DisposalItem]:
        return {} if include_not_due else {item.key: item for item in self.not_due}


def plan_disposal(
    selected: Sequence[DisposalItem], due: Sequence[DueRecord], include_not_due: bool = False
) -> DisposalPlan:
    """Selected keys that are due (described as the service lists them now) and those that
    are not; with `include_not_due` the latter are sent too (Opus then says why not)."""
    listed = {record.row_key: record for record in due}
    send: list[DisposalItem] = []
    not_due: list[DisposalItem] = []
    for item in selected:
        record = listed.get(item.key)
        if record is not None:
            send.append(record.item(item.row))
        else:
            not_due.append(item)
            if include_not_due:
                send.append(item)
    return DisposalPlan(send, not_due)


@dataclass(frozen=True)
class SelectionSummary:
    """What a confirmation shows before anything is sent."""

    count: int
    by_classification: list[tuple[str, int]]  # most records first
    earliest_due: str  # as the service wrote them; "" when none is known
    latest_due: str


def summarise(items: Sequence[DisposalItem], date_format: str = DEFAULT_FORMAT) -> SelectionSummary:
    """Count, counts by classification, earliest and latest due date of a selection (dates
    read in the tenant's `date_format`; unreadable ones are compared as text, after)."""
    counts: dict[str, int] = {}
    for item in items:
        name = item.classification or "(no classification)"
        counts[name] = counts.get(name, 0) + 1
    ordered = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0].casefold()))
    dated = sorted(
        (moment is None, moment or datetime.min, item.due)
        for item in items
        if item.due
        for moment in [_read_time(item.due, date_format)]
    )
    earliest, latest = (dated[0][2], dated[-1][2]) if dated else ("", "")
    return SelectionSummary(len(items), ordered, earliest, latest)


def not_due_reason(before: datetime) -> str:
    return (
        f"Not in the list of records due for disposal before {_when(before)}, so it was not "
        "sent (--include-not-due sends such records anyway)."
    )


def _when(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M")
