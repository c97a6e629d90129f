"""The certificate of destruction: a PDF laid out by QTextDocument, written by QPdfWriter.

    documents = write_disposal_documents(outcome, Path("certificate.pdf"))
    documents.pdf, documents.manifest, documents.manifest_sha256, documents.pages

It states who destroyed what, when and why: title, organisation and operator, date,
justification, the statement that the listed records were destroyed in the source system
and marked destroyed in Opus, counts by classification, a table of every record (row key,
name, classification, due date, outcome), the records not destroyed with the reason each
carries, the SHA-256 of the manifest written beside it and the hash of each audit entry of
the run. Row keys are never broken inside (schedule.py lays the tables out). The record
tables repeat their header rows on every page (QTextTableFormat.setHeaderRowCount); each
page carries a footer with the run and the page number.

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
)

from opus_desktop.core.reports import ReportError, temporary_beside
from opus_desktop.documents import DocumentError
from opus_desktop.documents.manifest import disposal_fields, write_manifest
from opus_desktop.documents.schedule import (
    EXCEPTIONS_HEADING,
    KeyLayout,
    exceptions_table,
    flow_html,
    paged_html,
    paginate,
    schedule_table,
)
from opus_desktop.jobs.audit import DisposedRecord
from opus_desktop.jobs.disposal_outcome import DestroyOutcome

TITLE = "Certificate of destruction"
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
    keys = KeyLayout([r.key for r in outcome.records], writer, body.width())
    tables = [schedule_table(outcome.records, keys)]
    exceptions = exceptions_table(outcome.records, keys)
    if exceptions is not None:
        tables.append(exceptions)
    style = _STYLE + keys.css

    document = None
    if len(outcome.records) <= _ONE_PAGE_AT_MOST:
        html = _html(outcome, manifest, digest, issued, flow_html(tables), style)
        document = _document(writer, body, html)
    if document is None or document.pageCount() > 1:
        # Too long for one page: the certificate first, then the tables on pages of their
        # own, cut into page-sized tables so that no record is split by a page break.
        probe = _document(writer, QSizeF(body.width(), 1e9), _page(flow_html(tables), style))
        placed = paginate(tables, probe, body.height() * _PAGE_USE)
        html = _html(outcome, manifest, digest, issued, paged_html(tables, placed), style, True)
        document = _document(writer, body, html)

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
td.group { font-weight: bold; background-color: #eceff3; }
td.label { font-weight: bold; }
"""


def _e(text: str) -> str:
    return escape(text, quote=True)


def _page(body: str, style: str) -> str:
    return f"<html><head><style>{style}</style></head><body>{body}</body></html>"


def _html(
    outcome: DestroyOutcome,
    manifest: Path,
    digest: str,
    issued: datetime,
    tables: str,
    style: str,
    paged: bool = False,
) -> str:
    """The certificate with the record tables in its flow, or (`paged`) after it, on pages
    of their own."""
    destroyed = outcome.destroyed
    parts = [
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
    parts += [
        "<h2>Statement</h2>",
        f"<p>The {len(destroyed)} {noun} listed in the schedule below as Destroyed were "
        "destroyed in the source system and marked destroyed in Opus, which confirmed each of "
        "them, for the justification above and by the operator named above.</p>",
    ]
    others = len(outcome.records) - len(destroyed)
    if others:
        parts.append(
            f"<p>{others} other {'record' if others == 1 else 'records'} of this disposal "
            f"{'was' if others == 1 else 'were'} not destroyed in Opus; “{EXCEPTIONS_HEADING}” "
            "gives the reason for each.</p>"
        )

    parts.append("<h2>Records destroyed by classification</h2>")
    parts.append(_counts_table(destroyed))
    if not paged:
        parts.append(tables)
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
    if paged:
        parts.append(tables)
    return _page("".join(parts), style)


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
