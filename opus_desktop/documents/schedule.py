"""The certificate's record tables, laid out so that a row key never breaks inside.

    keys = KeyLayout([r.key for r in outcome.records], writer, width)
    tables = [schedule_table(outcome.records, keys), exceptions_table(outcome.records, keys)]

Every key is set in a monospace font on a line that does not wrap: in a column as wide as
the longest key when that leaves the other columns room, else on a line of its own above
the record's other cells. A key longer than a whole line is cut after characters of its
own (`/`, `-`, `_`, `.` and the like), each line but the last ending in CONTINUATION, so
that the lines joined without it give the key back; a key without any such character is
cut where the line ends, marked all the same.

A table is a list of units: the rows of one record (and the heading of its group), which
`paginate` keeps on one page. The exceptions table lists the records not destroyed,
grouped by outcome and reason, each with its message as recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from itertools import pairwise

from PySide6.QtGui import QFont, QFontMetricsF, QPaintDevice, QTextDocument, QTextTable

from opus_desktop.documents.manifest import outcome_label
from opus_desktop.jobs.audit import DisposedRecord
from opus_desktop.jobs.disposal_outcome import DESTROYED, FAILED, NOT_SENT, PENDING, reason_kind

CONTINUATION = "↩"  # in DejaVu Sans Mono, Consolas' fallbacks and Menlo
SEPARATORS = frozenset("/\\-_.:;,|+=#@~ ")
KEY_FAMILIES = ("DejaVu Sans Mono", "Consolas", "Menlo", "Courier New")
KEY_CSS_FAMILIES = ", ".join(f"'{name}'" for name in KEY_FAMILIES) + ", monospace"
SCHEDULE_HEADING = "Schedule: every record of this disposal"
EXCEPTIONS_HEADING = "Records not destroyed"
_KEY_POINTS = (8.0, 7.0)  # tried in turn for a key column; a line of its own uses the first
_KEY_COLUMN_AT_MOST = 42  # per cent of the width: the other four columns need the rest
_KEY_COLUMN_AT_LEAST = 13
_KEY_ROW = "#f4f6f8"  # a key on a line of its own: tinted, to tie it to the row below
_PADDING = 3  # the tables' cellpadding, in screen pixels (96 an inch)
_OUTCOME_ORDER = {FAILED: 0, NOT_SENT: 1, PENDING: 2, DESTROYED: 3}


def key_font(points: float) -> QFont:
    font = QFont()
    font.setFamilies(list(KEY_FAMILIES))
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPointSizeF(points)
    return font


def key_lines(key: str, fits: Callable[[str], bool]) -> list[str]:
    """`key` cut into lines that each fit, after its own separators where it has them;
    every line but the last ends in CONTINUATION."""
    lines: list[str] = []
    rest = key
    while len(rest) > 1 and not fits(rest):
        cut = _cut(rest, fits)
        lines.append(rest[:cut] + CONTINUATION)
        rest = rest[cut:]
    lines.append(rest)
    return lines


def _cut(text: str, fits: Callable[[str], bool]) -> int:
    """How many characters of `text` go on a line that ends in the mark: up to its last
    separator that fits, else as many as fit (at least one)."""
    low, high = 1, len(text) - 1  # text[:low] + mark fits, or nothing does
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[:middle] + CONTINUATION):
            low = middle
        else:
            high = middle - 1
    for end in range(low, 0, -1):
        if text[end - 1] in SEPARATORS:
            return end
    return low


class KeyLayout:
    """How the row keys of a disposal are set: the font size, and the key column's share
    of the width (None: each key on a line of its own, the whole width)."""

    def __init__(self, keys: Sequence[str], device: QPaintDevice, width: float) -> None:
        pad = (2 * _PADDING + 2) * device.logicalDpiX() / 96.0
        longest = max(keys, key=len, default="")
        self.column: int | None = None
        self.points = _KEY_POINTS[0]
        for points in _KEY_POINTS:
            need = QFontMetricsF(key_font(points), device).horizontalAdvance(longest) + pad
            share = int(need * 100 / width) + 2  # rounding, and the borders
            if share <= _KEY_COLUMN_AT_MOST:
                self.column, self.points = max(share, _KEY_COLUMN_AT_LEAST), points
                break
        metrics = QFontMetricsF(key_font(self.points), device)
        room = (width - pad) * 0.98
        self._fits: Callable[[str], bool] = lambda text: metrics.horizontalAdvance(text) <= room

    @property
    def css(self) -> str:
        return (
            f"table.records td.key {{ font-family: {KEY_CSS_FAMILIES}; font-size: {self.points}pt; "
            "white-space: pre; }"
        )

    def lines(self, key: str) -> list[str]:
        """The key as set on the page: one line, unless it is longer than a whole line."""
        if self.column is not None:
            return [key]
        return key_lines(key, self._fits)

    def cell(self, key: str, columns: int = 1) -> str:
        span = f" colspan='{columns}'" if columns > 1 else ""
        return f"<td class='key'{span}>{'<br/>'.join(_e(line) for line in self.lines(key))}</td>"


@dataclass(frozen=True)
class Table:
    """A table of the certificate under its heading: header rows, then units of rows that
    stay together on a page."""

    heading: str
    head: str  # the <tr>s of the header, repeated on every page
    units: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # table rows in each unit

    def add(self, html: str, rows: int) -> None:
        self.units.append(html)
        self.rows.append(rows)

    def html(self, units: Sequence[int] | None = None, new_page: bool = False) -> str:
        # <thead> becomes the table's header rows, repeated at the top of every page.
        style = " style='page-break-before: always'" if new_page else ""
        chosen = range(len(self.units)) if units is None else units
        return (
            "<table class='grid records' width='100%' border='0.5' cellspacing='0' "
            f"cellpadding='{_PADDING}'{style}><thead>{self.head}</thead><tbody>"
            + "".join(self.units[n] for n in chosen)
            + "</tbody></table>"
        )


RECORD_HEADERS = ("Row key", "Name", "Classification", "Due date", "Outcome")
_DUE_WIDTH = 12


def _widths(rest: int) -> tuple[int, int, int, int]:
    """Name, classification, due date and outcome in `rest` per cent of the width."""
    outcome = round((rest - _DUE_WIDTH) * 0.26)
    name = round((rest - _DUE_WIDTH - outcome) * 0.55)
    return name, rest - _DUE_WIDTH - outcome - name, _DUE_WIDTH, outcome


def schedule_table(records: Sequence[DisposedRecord], keys: KeyLayout) -> Table:
    """Every record: row key, name, classification, due date and outcome."""
    if keys.column is not None:
        widths = (keys.column, *_widths(100 - keys.column))
        head = "<tr>" + "".join(
            f"<th width='{w}%'>{_e(name)}</th>"
            for name, w in zip(RECORD_HEADERS, widths, strict=True)
        )
        table = Table(SCHEDULE_HEADING, head + "</tr>")
        for r in records:
            table.add(f"<tr>{keys.cell(r.key)}{_details(r)}</tr>", 1)
        return table
    details = _widths(100)
    head = f"<tr><th colspan='4'>{_e(RECORD_HEADERS[0])}</th></tr><tr>" + "".join(
        f"<th width='{w}%'>{_e(name)}</th>"
        for name, w in zip(RECORD_HEADERS[1:], details, strict=True)
    )
    table = Table(SCHEDULE_HEADING, head + "</tr>")
    for r in records:
        table.add(f"<tr bgcolor='{_KEY_ROW}'>{keys.cell(r.key, 4)}</tr><tr>{_details(r)}</tr>", 2)
    return table


def _details(record: DisposedRecord) -> str:
    cells = (record.name, record.classification, _day(record.due), outcome_text(record))
    return "".join(f"<td>{_e(c)}</td>" for c in cells)


def exceptions_table(records: Sequence[DisposedRecord], keys: KeyLayout) -> Table | None:
    """The records not destroyed, grouped by outcome and reason, each with the message
    its record carries; None when every record was destroyed."""
    groups: dict[tuple[str, str], list[DisposedRecord]] = {}
    for record in records:
        if record.outcome != DESTROYED:
            groups.setdefault((record.outcome, reason_kind(record.message)), []).append(record)
    if not groups:
        return None
    order = sorted(
        groups, key=lambda g: (_OUTCOME_ORDER.get(g[0], 9), g[1] == "other", g[1].casefold())
    )
    wide = keys.column is not None
    columns = 2 if wide else 1
    if wide:
        head = f"<tr><th width='{keys.column}%'>Row key</th><th>Reason, as recorded</th></tr>"
    else:
        head = "<tr><th>Row key</th></tr><tr><th>Reason, as recorded</th></tr>"
    table = Table(EXCEPTIONS_HEADING, head)
    for group in order:
        members = groups[group]
        title = f"<tr><td class='group' colspan='{columns}'>{_e(_group_title(members))}</td></tr>"
        for n, record in enumerate(members):
            reason = _e(record.message or "(no reason recorded)")
            if wide:
                rows = f"<tr>{keys.cell(record.key)}<td>{reason}</td></tr>"
            else:
                rows = (
                    f"<tr bgcolor='{_KEY_ROW}'>{keys.cell(record.key)}</tr>"
                    f"<tr><td>{reason}</td></tr>"
                )
            table.add((title if n == 0 else "") + rows, (1 if wide else 2) + (n == 0))
    return table


def _group_title(members: list[DisposedRecord]) -> str:
    count = f"{len(members)} record" + ("" if len(members) == 1 else "s")
    return f"{outcome_text(members[0])} ({count})"


def outcome_text(record: DisposedRecord) -> str:
    """ "Destroyed", or the outcome and, when it is one of the known ones, the kind of
    reason ("Not destroyed: already destroyed"); the exceptions give the message itself."""
    label = outcome_label(record)
    if record.outcome == DESTROYED or not record.message:
        return label
    kind = reason_kind(record.message)
    return label if kind == "other" else f"{label}: {kind}"


def _day(due: str) -> str:
    """The due date without a midnight time, which only takes room in the table."""
    for suffix in (" 00:00:00", "T00:00:00", " 12:00:00 AM"):
        if due.endswith(suffix):
            return due[: -len(suffix)]
    return due


def _e(text: str) -> str:
    return escape(text, quote=True)


# -- pages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """The units of a table that go on one page; `new_page` when they start one."""

    units: list[int]
    new_page: bool


def paginate(tables: Sequence[Table], probe: QTextDocument, room: float) -> list[list[Chunk]]:
    """Each table cut into page-sized chunks, measured in `probe`: the tables' headings
    and tables one after the other in one unpaginated layout (`flow_html`). The first
    table starts a page; a later one goes on where the one before ends when its heading,
    header and first unit fit there."""
    layout = probe.documentLayout()
    frames = [f for f in probe.rootFrame().childFrames() if isinstance(f, QTextTable)]
    placed: list[list[Chunk]] = []
    used: float | None = None
    bottom = 0.0
    for table, frame in zip(tables, frames, strict=True):
        box = layout.frameBoundingRect(frame)
        tops = [
            layout.blockBoundingRect(frame.cellAt(row, 0).firstCursorPosition().block()).top()
            for row in range(frame.rows())
        ]
        tops.append(box.bottom())
        header = frame.format().headerRowCount()
        lead = tops[header] - box.top()  # the table's top border and its header rows
        heading = box.top() - bottom
        starts = [header]
        for rows in table.rows:
            starts.append(starts[-1] + rows)
        heights = [tops[b] - tops[a] for a, b in pairwise(starts)]
        first = heights[0] if heights else 0.0
        new_page = used is None or used + heading + lead + first > room
        used = (0.0 if used is None or new_page else used) + heading + lead
        chunks = [Chunk([], new_page)]
        for number, height in enumerate(heights):
            if chunks[-1].units and used + height > room:
                chunks.append(Chunk([], True))
                used = lead
            chunks[-1].units.append(number)
            used += height
        placed.append(chunks)
        bottom = box.bottom()
    return placed


def flow_html(tables: Sequence[Table], first_new_page: bool = False) -> str:
    """The tables under their headings, in the flow (a short certificate, or the probe)."""
    parts = []
    for number, table in enumerate(tables):
        style = " style='page-break-before: always'" if first_new_page and number == 0 else ""
        parts.append(f"<h2{style}>{_e(table.heading)}</h2>{table.html()}")
    return "".join(parts)


def paged_html(tables: Sequence[Table], placed: Sequence[Sequence[Chunk]]) -> str:
    """The tables cut as `paginate` cut them, each chunk on the page it was measured for."""
    parts = []
    for table, chunks in zip(tables, placed, strict=True):
        for number, chunk in enumerate(chunks):
            if number == 0:
                style = " style='page-break-before: always'" if chunk.new_page else ""
                parts.append(f"<h2{style}>{_e(table.heading)}</h2>")
            parts.append(table.html(chunk.units, new_page=chunk.new_page and number > 0))
    return "".join(parts)
