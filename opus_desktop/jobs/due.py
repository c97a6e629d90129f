"""The records due for disposal, and the officer's selection of them.

    listing = fetch_due(client, before, per_page=100, state=state, template=template)
    listing.records          # DueRecord: row key, name, classification, due date, all columns

Pages follow the continuation token until it ends; `state` reports each page (loaded
records count as done) and a cancel stops after the page under way, leaving
`listing.next_start` to go on from. `due_pages` yields one page at a time ("load more").
Items are normalised to {internal name: display string}, whether the service keyed them
by internal or by display name.

The selection: `read_selection` reads a signed-off due list (the sheet `due_table` lays
out: a "Disposal due date" column is required, a Decision column of Destroy / Keep is
optional), `plan_disposal` sets it against a fresh due list, and `summarise` gives the
counts a confirmation shows. A key is sent only when Opus lists it as due now with the
due date it had when it was signed off; every other key is left out with the reason in
words (LeftOut): unknown to Opus, not due yet, destroyed already, or held back because
the retention changed after sign-off. `find_due` looks up the due dates of keys that are
not due yet. The destroy run is jobs/disposal.py.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as day_start
from pathlib import Path
from typing import Protocol

from opus_desktop.core.datetimes import DEFAULT_FORMAT, parse_with_offset
from opus_desktop.core.errors import SheetError
from opus_desktop.core.schema import BUILT_INS, ROW_KEY, Template, decode_internal_name
from opus_desktop.core.sheets import CellValue, read_sheet
from opus_desktop.jobs.due_fields import CLASSIFICATION as CLASSIFICATION
from opus_desktop.jobs.due_fields import DUE_DATE as DUE_DATE
from opus_desktop.jobs.due_fields import DUE_DATE_HEADER as DUE_DATE_HEADER
from opus_desktop.jobs.due_fields import MAX_PER_PAGE as MAX_PER_PAGE
from opus_desktop.jobs.due_fields import NAME as NAME
from opus_desktop.jobs.state import RunState
from opus_desktop.opus.protocols import DuePage

log = logging.getLogger(__name__)

DECISION_HEADERS = ("Decision", "Disposal decision")  # the second when a column is "Decision"
DESTROY, KEEP = "Destroy", "Keep"
DECISION_COLUMN = 1  # where `due_table` puts it, counted from 0
HORIZON = timedelta(days=36_525)  # "at any date": a hundred years on


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
    keep: bool = True,
) -> DueList:
    """Every record due before `before` (or up to `max_pages` pages), following the token.

    A row key listed twice (the list moved between pages) is kept once. Without `keep`
    the records are only handed to `on_page` (the list's records stay empty; its row
    keys are still kept, to leave out one listed twice).
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
        if keep:
            records.extend(fresh)
        next_start = batch.next_start or None
        state.set_total(len(seen))
        state.add(stored=len(fresh))
        state.set_status(f"Page {pages}: {len(seen)} due records so far")
        if on_page is not None:
            on_page(DueBatch(batch.number, fresh, batch.next_start, batch.message))
        if next_start is None:
            break
        if state.cancel_requested or (max_pages is not None and pages >= max_pages):
            break
    return DueList(records, next_start, pages)


def due_table(
    records: Iterable[DueRecord], template: Template | None = None
) -> tuple[list[str], Iterator[list[str]]]:
    """Headers and rows for a sign-off sheet: "Row key", "Decision" (Destroy on every row:
    the officer changes it to Keep), every column's display name in template order (then
    any other column the service sent), then "Disposal due date". The rows are made as
    they are written, so 100,000 due records are not held twice. `records` is read twice
    (a list, or a DueSpool)."""
    columns = list(template.internal_names) if template else [ROW_KEY, NAME, CLASSIFICATION]
    if ROW_KEY in columns:
        columns.remove(ROW_KEY)
    columns.insert(0, ROW_KEY)
    for record in records:
        columns.extend(name for name in record.values if name not in columns)
    display = {c.internal_name: c.display_name for c in template or ()}
    names = [display.get(c) or decode_internal_name(c) for c in columns]
    taken = {_normal(name) for name in names}
    decision = next((h for h in DECISION_HEADERS if _normal(h) not in taken), DECISION_HEADERS[-1])
    headers = [names[0], decision, *names[1:], DUE_DATE_HEADER]
    rows = (
        [r.row_key, DESTROY] + [r.values.get(c, "") for c in columns[1:]] + [r.due] for r in records
    )
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
    """The row keys of a signed-off due list, in sheet order, each once: those to destroy
    (`items`, with the due date they were signed off with) and those marked Keep."""

    path: Path
    items: list[DisposalItem]
    repeated: dict[str, list[int]]  # key -> the rows where it appears again
    kept: list[DisposalItem] = field(default_factory=list)  # rows marked Keep: never sent

    @property
    def keys(self) -> list[str]:
        return [item.key for item in self.items]


_KEY_HEADERS = {_normal("Row key"), _normal(ROW_KEY)}
_DUE_HEADER = _normal(DUE_DATE_HEADER)  # also disposalDueDate, the internal name
_DECISIONS = {_normal(DESTROY): DESTROY, _normal(KEEP): KEEP}


def read_selection(path: Path, sheet: str | None = None) -> Selection:
    """The signed-off due list in a sheet such as `due --out` writes: the row keys of its
    "Row key" (or rowKey) column, with their "Disposal due date"; name and classification
    too where the sheet has them. A sheet without the due date column is no due list and
    is refused (SheetError); so is a Decision that is neither Destroy nor Keep."""
    data = read_sheet(Path(path), sheet)
    normal = [_normal(h) for h in data.headers]
    found = [i for i, h in enumerate(normal) if h in _KEY_HEADERS]
    if not found:
        shown = ", ".join(f'"{h}"' for h in data.headers if h)  # read_sheet finds one
        raise SheetError(
            f'{data.source} has no column headed "Row key" (or rowKey), so it does not say '
            f"which records to destroy. Its headers are: {shown}."
        )
    column = found[0]

    def find(*names: str) -> int | None:
        wanted = {_normal(n) for n in names}
        return next((i for i, h in enumerate(normal) if h in wanted), None)

    due_column = next((i for i, h in enumerate(normal) if h == _DUE_HEADER), None)
    if due_column is None:
        raise SheetError(
            f'{data.source} has no "{DUE_DATE_HEADER}" column, so it is not a due list as '
            "`opus-desktop due --out` or the Disposal tab's export writes it."
        )
    decision = find(DECISION_HEADERS[1])
    decision = find(DECISION_HEADERS[0]) if decision is None else decision
    source = str(data.source)
    extra = (find("Name", NAME), find("Classification", CLASSIFICATION), due_column)
    items: list[DisposalItem] = []
    kept: list[DisposalItem] = []
    first: dict[str, tuple[int, str]] = {}  # key -> its first row and decision
    repeated: dict[str, list[int]] = {}
    for row in data.rows:
        key = _cell_text(row.cells[column])
        if not key:
            continue
        said = DESTROY if decision is None else _decision(row.cells[decision], row.number, source)
        if key in first:
            row_before, said_before = first[key]
            if said != said_before:
                raise SheetError(
                    f"{source} marks {key} {said_before} in row {row_before} and {said} "
                    f"in row {row.number}: decide once."
                )
            repeated.setdefault(key, []).append(row.number)
            continue
        first[key] = (row.number, said)
        name, classification, due = (
            _cell_text(row.cells[i]) if i is not None else "" for i in extra
        )
        (items if said == DESTROY else kept).append(
            DisposalItem(key, name, classification, due, row.number)
        )
    if not items and not kept:
        raise SheetError(
            f'{data.source} lists no row keys: the column "{data.headers[column]}" is empty.'
        )
    return Selection(Path(path), items, repeated, kept)


def _decision(value: CellValue, row: int, source: str) -> str:
    text = _cell_text(value)
    said = _DECISIONS.get(_normal(text))
    if said is None:
        what = f'the Decision "{text}"' if text else "no Decision"
        raise SheetError(
            f"{source}, row {row}: {what}; write {DESTROY} or {KEEP} (Keep is never sent)."
        )
    return said


def _cell_text(value: CellValue) -> str:
    # A whole number comes as an int already: core/sheets reads 1002.0 as 1002.
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(" ")
    return str(value).strip()


# -- the plan: what is sent, and why the others are not ------------------------------------------

UNKNOWN, NOT_DUE_YET, DESTROYED_ALREADY, HELD_BACK = (
    "unknown",
    "not due yet",
    "destroyed already",
    "held back",
)


@dataclass(frozen=True)
class EarlierDisposal:
    """A disposal run of this app (its audit log) that destroyed a record."""

    run: str
    time: str  # UTC, ISO 8601


@dataclass(frozen=True)
class LeftOut:
    """A signed-off key that is not sent (unless --include-not-due, for all but HELD_BACK)."""

    item: DisposalItem
    kind: str  # UNKNOWN, NOT_DUE_YET, DESTROYED_ALREADY or HELD_BACK
    reason: str  # the sentence the CLI, the window and the certificate show


@dataclass
class DisposalPlan:
    """What a destroy will send, given a fresh due list."""

    send: list[DisposalItem]
    left_out: list[LeftOut] = field(default_factory=list)  # in sheet order

    @property
    def not_sent(self) -> list[LeftOut]:
        """The keys left out that are not sent after all (all of them without
        --include-not-due; the held back ones with it)."""
        sent = {item.key for item in self.send}
        return [out for out in self.left_out if out.item.key not in sent]

    @property
    def not_due(self) -> list[DisposalItem]:
        """Signed-off keys that Opus does not list as due now."""
        return [out.item for out in self.left_out if out.kind != HELD_BACK]

    def of_kind(self, kind: str) -> list[LeftOut]:
        return [out for out in self.left_out if out.kind == kind]


def plan_disposal(
    selected: Sequence[DisposalItem],
    due: Sequence[DueRecord],
    include_not_due: bool = False,
    *,
    before: datetime | None = None,
    later: Mapping[str, DueRecord] | None = None,
    destroyed: Mapping[str, EarlierDisposal] | None = None,
    date_format: str = DEFAULT_FORMAT,
) -> DisposalPlan:
    """Selected keys that are due before `before` with the due date they were signed off
    with (described as the service lists them now) and, each with its reason, those that
    are not: held back (due, but Opus gives another due date than the signed-off list:
    the retention changed after sign-off), destroyed already (`destroyed`: by a run of
    this app), not due yet (`later`: due after `before`), or unknown to Opus. With
    `include_not_due` all but the held back ones are sent too (Opus then says why not)."""
    listed = {record.row_key: record for record in due}
    later = later or {}
    destroyed = destroyed or {}
    send: list[DisposalItem] = []
    left_out: list[LeftOut] = []
    for item in selected:
        record = listed.get(item.key)
        if record is not None:
            if same_due(item.due, record, date_format):
                send.append(record.item(item.row))
            else:
                left_out.append(LeftOut(item, HELD_BACK, held_back_reason(item, record)))
            continue
        found = later.get(item.key)
        if item.key in destroyed:
            earlier = destroyed[item.key]
            out = LeftOut(item, DESTROYED_ALREADY, destroyed_reason(earlier))
        elif found is not None:
            out = LeftOut(item, NOT_DUE_YET, not_due_yet_reason(found, before))
        else:
            out = LeftOut(item, UNKNOWN, UNKNOWN_REASON)
        left_out.append(out)
        if include_not_due:
            send.append(found.item(item.row) if found is not None else item)
    return DisposalPlan(send, left_out)


def same_due(signed: str, record: DueRecord, date_format: str = DEFAULT_FORMAT) -> bool:
    """Whether the due date on the signed-off list is the one Opus gives now: the same
    text, the same minute (a sheet program may drop the seconds), or the same day when
    the list gives a day only."""
    if signed.strip() == record.due.strip():
        return True
    moment = _read_time(signed, date_format)
    if moment is None or record.due_at is None:
        return False
    if moment.replace(second=0, microsecond=0) == record.due_at.replace(second=0, microsecond=0):
        return True
    return moment.time() == day_start() and moment.date() == record.due_at.date()


def held_back_reason(item: DisposalItem, record: DueRecord) -> str:
    if not item.due.strip():
        return (
            f"Held back: the signed-off list gives no disposal due date for it (Opus gives "
            f"{record.due}), so its sign-off cannot be checked; sign it off again."
        )
    return (
        f"Held back: Opus now gives its disposal due date as {record.due}, not {item.due} "
        "as on the signed-off list, so the retention changed after sign-off; sign it off "
        "again."
    )


def not_due_yet_reason(record: DueRecord, before: datetime | None) -> str:
    after = f", after {_when(before)}" if before is not None else ""
    return (
        f"Not due yet: its disposal is due on {record.due or 'a date Opus does not give'}{after}."
    )


def destroyed_reason(earlier: EarlierDisposal) -> str:
    return f"Already destroyed: run {earlier.run} marked it destroyed on {_iso_text(earlier.time)}."


UNKNOWN_REASON = (
    "Unknown to Opus: no record with this key is listed for disposal at any date, and no "
    "disposal run of this app destroyed it; check the key."
)


def find_due(
    client: DueClient,
    keys: Iterable[str],
    before: datetime,
    *,
    per_page: int = MAX_PER_PAGE,
    state: RunState | None = None,
    template: Template | None = None,
    date_format: str = DEFAULT_FORMAT,
) -> dict[str, DueRecord]:
    """The records among `keys` that Opus lists as due before `before` (a moment far on
    finds the ones not due yet, with their due dates), page by page until every key is
    found, the list ends, or a cancel."""
    wanted = set(keys)
    found: dict[str, DueRecord] = {}
    if not wanted:
        return found
    pages = due_pages(client, before, per_page, None, template, date_format)
    for batch in pages:
        found.update((r.row_key, r) for r in batch.records if r.row_key in wanted)
        if state is not None:
            state.set_status(
                f"Looking up the due dates of {len(wanted):,} keys: page {batch.number}"
            )
        if len(found) == len(wanted) or (state is not None and state.cancel_requested):
            break
    return found


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


def _iso_text(text: str) -> str:
    """An audit time (2025-06-01T10:04:05.123Z) as 2025-06-01 10:04 UTC."""
    try:
        return _when(datetime.fromisoformat(text))
    except ValueError:
        return text


def _when(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M")
