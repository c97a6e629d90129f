"""Documents the app writes for people: the certificate of destruction (PDF) and its manifest.

- `manifest.write_manifest`: the .xlsx list of every record of a disposal, with its outcome
  (openpyxl, no Qt).
- `certificate.write_certificate`: the PDF, laid out by Qt's QTextDocument and written by
  QPdfWriter; it needs a QGuiApplication and makes an offscreen one when there is none, so
  the command line can write it on a machine without a display.
- `certificate.write_disposal_documents`: both, the PDF quoting the manifest's SHA-256.

Qt is allowed here (not in core/, opus/ or jobs/); importing this package alone does not
load it.
"""

from __future__ import annotations

from opus_desktop.errors import AppError


class DocumentError(AppError):
    """A document that cannot be written (folder missing, file open elsewhere, no Qt)."""

    exit_code = 2
