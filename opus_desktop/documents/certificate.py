"""The certificate of destruction: a PDF laid out by QTextDocument, written by QPdfWriter.

    documents = write_disposal_documents(outcome, Path("certificate.pdf"))
    documents.pdf, documents.manifest, documents.manifest_sha256, documents.pages

It states who destroyed what, when and why: title, organisation and operator, date,
justification, the statement that the listed records were destroyed in the source system
and marked destroyed in Opus, counts by classification, a table of every record (row key,
name, classification, due date, outcome), the SHA-256 of the manifest written beside it
and the hash of each audit entry of the run. The record table repeats its header row on
every page (QTextTableFormat.setHeaderRowCount); each page carries a footer with the run
and the page number.

Qt needs a QGuiApplication for fonts; `gui_application()` makes an offscreen one when
there is none and no display, so `opus-desktop destroy` writes the PDF headless.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QGuiApplication,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextDocument,
    QTextTable,
)

from opus_desktop.core.reports import ReportError, temporary_beside
from opus_desktop.documents import DocumentError
from opus_desktop.documents.manifest import disposal_fields, outcome_label, write_manifest
from opus_desktop.jobs.audit import DisposedRecord
from opus_desktop.jobs.disposal_outcome import DESTROYED, NOT_SENT, DestroyOutcome, reason_kind

TITLE = "Certificate of destruction"
RECORD_HEADERS = ("Row key", "Name", "Classification", "Due date", "Outcome")
_RECORD_WIDTHS = (13, 26, 22, 19, 20)  # per cent of the text width
_COUNTED = ("Records destroyed", "Records not destroyed", "Records not sent")
_RESOLUTION = 300
_ONE_PAGE_AT_MOST = 30  # records: beyond this, no need to try the one-page layout
_PAGE_USE = 0.97  # of a page's height filled by schedule rows: room for rounding
_BASE_POINTS = 9.0
_RULE = QColor("#8a94a3")
_application: QGuiApplication | None = None


def gui_application() -> QGuiApplication:
    """The running QGuiApplication, or a new one (offscreen when there is no display)."""
    global _application
    existing = QGuiApplication.instance()
    if isinstance(existing, QGuiApplication):
        return existing
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if headless:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _application = QGuiApplication(["opus-desktop"])
    return _application


@dataclass(frozen=True)
class DisposalDocuments:
    pdf: Path
    manifest: Path
    manifest_sha256: str
    pages: int


def manifest_path_for(pdf: Path) -> Path:
    """certificate.pdf -> certificate-manifest.xlsx, beside it."""
    return pdf.with_name(f"{pdf.stem}-manifest.xlsx")


def write_disposal_documents(
    outcome: DestroyOutcome, pdf: Path, issued: datetime | None = None
) -> DisposalDocuments:
    """Write the manifest beside `pdf`, then the certificate quoting its SHA-256."""
    pdf = Path(pdf)
    if pdf.suffix.lower() != ".pdf":
        raise DocumentError(f"{pdf.name}: the certificate must be a .pdf file.")
    issued = issued or datetime.now(UTC)
    manifest = manifest_path_for(pdf)
    digest = write_manifest(manifest, outcome, issued)
    pages = write_certificate(pdf, outcome, manifest, digest, issued)
    return DisposalDocuments(pdf, manifest, digest, pages)


def write_certificate(
    path: Path,
    outcome: DestroyOutcome,
    manifest: Path,
    manifest_sha256: str,
    issued: datetime,
) -> int:
    """Write the certificate PDF to `path`; return its number of pages."""
    gui_application()
    path = Path(path)
    try:
        temporary = temporary_beside(path)
    except ReportError as exc:
        raise DocumentError(exc.message) from None
    try:
        pages = _render(temporary, outcome, manifest, manifest_sha256, issued)
        os.replace(temporary, path)
    except OSError as exc:
        raise DocumentError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
    return pages


# -- layout ------------------------------------------------------------------------------------


def _render(
    target: Path, outcome: DestroyOutcome, manifest: Path, digest: str, issued: datetime
) -> int:
    writer = QPdfWriter(str(target))
    writer.setResolution(_RESOLUTION)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(16, 16, 16, 14), QPageLayout.Unit.Millimeter)
    writer.setTitle(f"{TITLE}, run {outcome.run.id}")
    writer.setCreator("Opus Desktop")

    area = writer.pageLayout().paintRectPixels(_RESOLUTION)
    footer = _points(writer, 22)
    body = QSizeF(area.width(), area.height() - footer)

    document = None
    if len(outcome.records) <= _ONE_PAGE_AT_MOST:
        document = _document(writer, body, _html(outcome, manifest, digest, issued))
    if document is None or document.pageCount() > 1:
        # Too long for one page: the certificate first, then the records as a schedule cut
        # into page-sized tables, so that no row is split by a page break.
        chunks = _schedule_pages(outcome.records, writer, body)
        document = _document(writer, body, _html(outcome, manifest, digest, issued, chunks))

    pages = document.pageCount()
    layout = document.documentLayout()
    painter = QPainter()
    if not painter.begin(writer):
        raise DocumentError(f"Cannot write {target}: Qt could not open the PDF for writing.")
    try:
        for page in range(pages):
            if page:
                writer.newPage()
            painter.save()
            painter.translate(0, -page * body.height())
            page_rect = QRectF(0, page * body.height(), body.width(), body.height())
            # A block split by a page break is drawn whole on both pages; the clip hides
            # what belongs to the other page (its text would still be in the PDF, which is
            # why the schedule's rows are never split).
            painter.setClipRect(page_rect)
            context = QAbstractTextDocumentLayout.PaintContext()
            context.clip = page_rect
            layout.draw(painter, context)
            painter.restore()
            _footer(painter, writer, outcome, page + 1, pages, body, footer)
    finally:
        painter.end()
    return pages


def _document(writer: QPdfWriter, body: QSizeF, html: str) -> QTextDocument:
    document = QTextDocument()
    document.setDefaultFont(_font(_BASE_POINTS))
    document.setDocumentMargin(0)
    document.setHtml(html)
    # Laid out once, for the PDF's resolution and page, after the content is in (a layout
    # that exists while a long table is built is redone on every edit).
    document.documentLayout().setPaintDevice(writer)
    document.setPageSize(body)
    return document


def _schedule_pages(
    records: list[DisposedRecord], writer: QPdfWriter, body: QSizeF
) -> list[list[DisposedRecord]]:
    """The records cut into runs that each fit a page under the table's header row, the
    first one under the schedule's heading too; measured in one unpaginated layout."""
    probe = _document(writer, QSizeF(body.width(), 1e9), _schedule_html([records], probe=True))
    layout = probe.documentLayout()
    table = next(f for f in probe.rootFrame().childFrames() if isinstance(f, QTextTable))
    frame = layout.frameBoundingRect(table)
    tops = [
        layout.blockBoundingRect(table.cellAt(row, 0).firstCursorPosition().block()).top()
        for row in range(table.rows())
    ]
    tops.append(frame.bottom())
    lead = tops[1] - frame.top()  # the table's top border and its header row
    room = body.height() * _PAGE_USE
    chunks: list[list[DisposedRecord]] = [[]]
    used = frame.top() + lead  # the first page also holds the heading
    for index, record in enumerate(records, start=1):
        height = tops[index + 1] - tops[index]
        if chunks[-1] and used + height > room:
            chunks.append([])
            used = lead
        chunks[-1].append(record)
        used += height
    return chunks


def _points(writer: QPdfWriter, points: float) -> float:
    return points * writer.resolution() / 72.0


def _footer(
    painter: QPainter,
    writer: QPdfWriter,
    outcome: DestroyOutcome,
    page: int,
    pages: int,
    body: QSizeF,
    height: float,
) -> None:
    painter.setFont(_font(7.5))
    painter.setPen(_RULE)
    top = body.height() + _points(writer, 8)
    painter.drawLine(QPointF(0, top), QPointF(body.width(), top))
    box = QRectF(0, top + _points(writer, 2), body.width(), height - _points(writer, 10))
    left = f"{TITLE} · run {outcome.run.id} · {outcome.organisation or outcome.run.profile}"
    painter.drawText(box, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop), left)
    painter.drawText(
        box, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop), f"Page {page} of {pages}"
    )


def _plain_letters() -> dict[QFont.Tag, int]:
    """Font features that keep "fi" and "ffi" as separate letters: a ligature would make
    the PDF's text read "Certiﬁcate", and row keys must be found as typed. (Qt 6.7+.)"""
    if not hasattr(QFont, "Tag"):
        return {}
    return {QFont.Tag(name): 0 for name in ("liga", "clig", "dlig")}


def _font(points: float) -> QFont:
    font = QFont()
    font.setPointSizeF(points)
    for tag, value in _plain_letters().items():
        font.setFeature(tag, value)
    return font


# The document is built as one piece of HTML: QTextDocument lays a table out again on
# every cursor edit (slow for long tables), and one setHtml() keeps calls into Qt few.
# Lengths in px are screen pixels (96 per inch), whatever the PDF's resolution.
_STYLE = """
body { font-size: 9pt; }
h1 { font-size: 20pt; font-weight: bold; margin: 0; }
h2 { font-size: 12pt; font-weight: bold; margin-top: 16px; margin-bottom: 5px; }
p { margin-top: 0; margin-bottom: 4px; }
p.organisation { font-size: 12pt; margin-bottom: 12px; }
p.hash { font-family: 'DejaVu Sans Mono', Consolas, Menlo, 'Courier New', monospace;
         font-size: 8pt; margin-bottom: 6px; }
p.small { font-size: 8pt; }
p.signature { margin-top: 36px; }
table.grid { border-collapse: collapse; border-color: #8a94a3; border-style: solid; }
table.grid th { background-color: #e4e8ee; font-weight: bold; text-align: left; }
table.records td { font-size: 8pt; }
table.records th { font-size: 8.5pt; }
td.label { font-weight: bold; }
"""


def _e(text: str) -> str:
    return escape(text, quote=True)


def _html(
    outcome: DestroyOutcome,
    manifest: Path,
    digest: str,
    issued: datetime,
    schedule: list[list[DisposedRecord]] | None = None,
) -> str:
    """The certificate; the records in its flow, or (`schedule`) on pages of their own."""
    destroyed = outcome.destroyed
    parts = [
        f"<html><head><style>{_STYLE}</style></head><body>",
        f"<h1>{TITLE}</h1>",
        f"<p class='organisation'>{_e(outcome.organisation or outcome.run.profile)}</p>",
        "<table width='100%' cellspacing='0' cellpadding='2' style='margin-top: 6px'>",
    ]
    for label, value in disposal_fields(outcome, issued):
        if label.startswith("Audit entry") or label in _COUNTED:
            continue
        parts.append(
            f"<tr><td class='label' width='24%'>{_e(label)}</td>"
            f"<td width='76%'>{_e(value)}</td></tr>"
        )
    parts.append("</table>")

    noun = "record" if len(destroyed) == 1 else "records"
    where = "in the schedule below" if schedule else "below"
    parts += [
        "<h2>Statement</h2>",
        f"<p>The {len(destroyed)} {noun} listed {where} as Destroyed were destroyed in the "
        "source system and marked destroyed in Opus, which confirmed each of them, for the "
        "justification above and by the operator named above.</p>",
    ]
    others = len(outcome.records) - len(destroyed)
    if others:
        parts.append(
            f"<p>{others} other {'record' if others == 1 else 'records'} of this disposal "
            f"{'was' if others == 1 else 'were'} not destroyed in Opus; the table gives the "
            "reason for each.</p>"
        )

    parts.append("<h2>Records destroyed by classification</h2>")
    parts.append(_counts_table(destroyed))
    if schedule is None:
        parts.append("<h2>Records</h2>")
        parts.append(_records_table(outcome.records))
    parts += [
        "<h2>Integrity</h2>",
        f"<p>Manifest: {_e(manifest.name)} (every record and Opus's answer), SHA-256:</p>",
        f"<p class='hash'>{digest}</p>",
    ]
    for entry in outcome.entries:
        parts.append(f"<p>Audit log entry {entry.seq}, written {_e(entry.time)}, SHA-256:</p>")
        parts.append(f"<p class='hash'>{_e(entry.hash)}</p>")
    parts += [
        "<p class='small'>The command <tt>opus-desktop audit verify</tt> checks that the "
        "audit log still holds these entries unchanged.</p>",
        "<p class='signature'>Signature: ______________________________"
        "&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;Date: ________________</p>",
    ]
    if schedule is not None:
        parts.append(_schedule_html(schedule))
    parts.append("</body></html>")
    return "".join(parts)


def _schedule_html(chunks: list[list[DisposedRecord]], probe: bool = False) -> str:
    """The schedule: its heading on a new page, then one table per page."""
    heading = "Schedule: every record of this disposal"
    parts = [f"<h2 style='page-break-before: always'>{heading}</h2>"]
    if probe:
        parts.insert(0, f"<html><head><style>{_STYLE}</style></head><body>")
    for number, chunk in enumerate(chunks):
        parts.append(_records_table(chunk, new_page=number > 0))
    if probe:
        parts.append("</body></html>")
    return "".join(parts)


def _counts_table(destroyed: list[DisposedRecord]) -> str:
    counts = Counter(r.classification or "(no classification)" for r in destroyed)
    rows = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0].casefold()))
    parts = [
        "<table class='grid' width='100%' border='0.5' cellspacing='0' cellpadding='3'>",
        "<thead><tr><th width='80%'>Classification</th>"
        "<th align='right' width='20%'>Destroyed</th></tr></thead><tbody>",
    ]
    for name, count in rows:
        parts.append(f"<tr><td>{_e(name)}</td><td align='right'>{count}</td></tr>")
    parts.append(
        "<tr><td class='label'>Total</td>"
        f"<td class='label' align='right'>{len(destroyed)}</td></tr>"
    )
    parts.append("</tbody></table>")
    return "".join(parts)


def _records_table(records: list[DisposedRecord], new_page: bool = False) -> str:
    # <thead> becomes the table's header row, repeated at the top of every page.
    head = "".join(
        f"<th width='{width}%'>{_e(name)}</th>"
        for name, width in zip(RECORD_HEADERS, _RECORD_WIDTHS, strict=True)
    )
    style = " style='page-break-before: always'" if new_page else ""
    parts = [
        "<table class='grid records' width='100%' border='0.5' cellspacing='0' "
        f"cellpadding='3'{style}><thead><tr>{head}</tr></thead><tbody>"
    ]
    for record in records:
        cells = (record.key, record.name, record.classification, _day(record.due), _outcome(record))
        parts.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def _outcome(record: DisposedRecord) -> str:
    """ "Destroyed", or why not in a few words (the manifest keeps Opus's full answer)."""
    label = outcome_label(record)
    if record.outcome == DESTROYED or not record.message:
        return label
    if record.outcome == NOT_SENT:
        return f"{label}: not in the due list"
    kind = reason_kind(record.message)
    return f"{label}: {record.message if kind == 'other' else kind}"


def _day(due: str) -> str:
    """The due date without a midnight time, which only takes room in the table."""
    for suffix in (" 00:00:00", "T00:00:00", " 12:00:00 AM"):
        if due.endswith(suffix):
            return due[: -len(suffix)]
    return due
