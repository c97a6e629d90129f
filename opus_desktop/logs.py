"""Logging to a rotating file in the log folder, with secrets removed before writing.

    log_file = setup_logging()          # once, at start-up (the GUI; the CLI may too)

The file is readable by the user only. Every record passes through `RedactingFilter`,
which runs `opus.http.redact` over the formatted message and any traceback, so a token,
a client assertion or a password that reached a message by accident is never written.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from opus_desktop import paths
from opus_desktop.opus.http import redact

LOG_FILE = "opus-desktop.log"
MAX_BYTES = 2_000_000
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"

_HANDLER_NAME = "opus-desktop-file"


class RedactingFilter(logging.Filter):
    """Rewrites each record so that its message and traceback hold no secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            # Format the traceback now, redacted, so the formatter uses this text as it is.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file handler whose files are created readable by the user only."""

    def _open(self):  # type: ignore[no-untyped-def]
        stream = super()._open()
        if os.name == "posix":
            os.chmod(self.baseFilename, 0o600)
        return stream


def setup_logging(level: int = logging.INFO, directory: Path | None = None) -> Path:
    """Send the app's log records to `<log folder>/opus-desktop.log`; return the file.

    Calling it again replaces the app's handler rather than adding a second one.
    """
    folder = paths.private_dir(directory) if directory is not None else paths.log_dir()
    path = folder / LOG_FILE
    handler = _PrivateRotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=False
    )
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    # httpx logs every request URL at INFO, query strings included: keep it quieter.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return path


def close_logging() -> None:
    """Flush and remove the app's file handler (at exit, and between tests)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
        handler.close()
