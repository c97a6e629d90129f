"""Logging to a rotating file in the log folder, with secrets removed before writing.

    log_file = setup_logging()          # once, at start-up (the GUI and the CLI)
    set_level(logging.DEBUG)            # when the log level setting changes

The level comes from the app settings (Log files > Detail) unless given. The file is
readable by the user only. `RedactingFilter` sits on every handler of the root logger
(ours and any that was there before, such as a console handler), and runs
`opus.replies.redact` over each record's message, arguments and traceback, so a token, a
client assertion, a password or an Authorization header that reached a message by
accident is never written anywhere. At INFO the app logs one line per call to Opus
(method, host, path, status, time) and never a record's contents.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path
from typing import TextIO

from opus_desktop import paths
from opus_desktop.errors import AppError
from opus_desktop.files import os_error_sentence
from opus_desktop.opus.replies import redact

LOG_FILE = "opus-desktop.log"
MAX_BYTES = 2_000_000
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"

_HANDLER_NAME = "opus-desktop-file"
# Libraries whose own INFO lines would repeat ours with more in them (httpx logs every
# URL, query string included).
_QUIET = ("httpx", "httpcore", "hpack", "keyring", "urllib3")


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
    """A rotating file handler whose files are created readable by the user only.

    A record that cannot be written (a full disk) is told once on stderr, in one line,
    and the file is written no more: no "--- Logging error ---" traceback per record.
    """

    broken = False

    def _open(self):  # type: ignore[no-untyped-def]
        stream = super()._open()
        if os.name == "posix":
            os.chmod(self.baseFilename, 0o600)
        return stream

    def emit(self, record: logging.LogRecord) -> None:
        if not self.broken:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            super().handleError(record)
            return
        if not self.broken:
            self.broken = True
            print(
                f"opus-desktop: the log file {self.baseFilename} cannot be written "
                f"({error.strerror or error}); the app goes on without it.",
                file=sys.stderr,
            )

    def close(self) -> None:
        try:
            super().close()
        except OSError:  # what is left to flush cannot be written (a full disk)
            self.stream = None
            logging.Handler.close(self)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Warnings and errors on stderr, where the app works without a log file."""

    @property
    def stream(self) -> TextIO:  # whatever sys.stderr is now (a test may have replaced it)
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Put a RedactingFilter on every handler of `logger` (the root) that has none yet.

    A filter on the logger itself would miss records from child loggers, which reach
    the handlers directly; a filter on each handler sees every record it writes.
    """
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


_told: set[str] = set()


def setup_logging(level: int | None = None, directory: Path | None = None) -> Path | None:
    """Send the app's log records to `<log folder>/opus-desktop.log`; return the file.

    `level` defaults to the log level setting. Calling it again replaces the app's
    handler rather than adding a second one. When the log folder or file cannot be made
    (a read-only home, a full disk), that is said in one line on stderr, warnings and
    errors go to stderr only, and None is returned: no log file is no reason not to work.
    """
    if level is None:
        from opus_desktop import settings

        level = settings.log_level()
    handler: logging.Handler
    path: Path | None
    try:
        folder = paths.private_dir(directory) if directory is not None else paths.log_dir()
        path = folder / LOG_FILE
        handler = _PrivateRotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=False
        )
        handler.setFormatter(logging.Formatter(FORMAT))
    except (AppError, OSError) as exc:
        why = exc.message if isinstance(exc, AppError) else os_error_sentence(exc)
        if why not in _told:  # the window sets logging up again after the command line
            _told.add(why)
            print(f"opus-desktop: working without a log file: {why}", file=sys.stderr)
        path = None
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("opus-desktop: %(levelname)s %(message)s"))
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    install_redaction(root)
    set_level(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    return path


def set_level(level: int) -> None:
    """Log records of `level` and above from now on (the settings dialog calls this)."""
    logging.getLogger().setLevel(level)
    for handler in logging.getLogger().handlers:
        if handler.get_name() == _HANDLER_NAME:
            handler.setLevel(max(level, logging.WARNING) if isinstance(handler, _Stderr) else level)


def close_logging() -> None:
    """Flush and remove the app's file handler (at exit, and between tests)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
        handler.close()
