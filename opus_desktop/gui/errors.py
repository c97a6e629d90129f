"""The one error funnel: every widget hands its exceptions to `show_error`.

    task.failed.connect(lambda exc: show_error(self, exc))

An AppError is expected: its sentence is the message, logged at INFO. Anything else is a
bug: the user reads "Something went wrong", the traceback goes to the log and to the
dialog's details, which "Copy details" puts on the clipboard for a support request.

Only one dialog is open at a time: errors arriving while it is shown are added to its
details, so a failure that repeats (in a paint event, say) cannot bury the window.
`install_excepthook()` routes uncaught exceptions, from any thread, to the same place.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
import traceback
from types import TracebackType

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from opus_desktop import __version__
from opus_desktop.errors import AppError
from opus_desktop.opus.replies import redact

log = logging.getLogger(__name__)


def tr(text: str) -> str:
    return QCoreApplication.translate("errors", text)


def user_message(exc: BaseException) -> str:
    """What the dialog says: the AppError's sentence, or a plain admission for a bug."""
    if isinstance(exc, AppError):
        return exc.message
    return tr("Something went wrong.")


def details_text(exc: BaseException) -> str:
    """The text behind "Copy details": what failed, where, and on which versions."""
    lines = [
        f"Opus Desktop {__version__}, Qt {qVersion()}, PySide6 {pyside_version}, "
        f"Python {platform.python_version()}, {platform.platform()}",
        "",
    ]
    if isinstance(exc, AppError) and exc.__traceback__ is None:
        lines.append(f"{type(exc).__name__}: {exc.message}")
    else:
        lines.extend(
            line.rstrip("\n")
            for line in traceback.format_exception(type(exc), exc, exc.__traceback__)
        )
    return redact("\n".join(lines))


class ErrorDialog(QDialog):
    """A message, details that fold out, and "Copy details"."""

    def __init__(self, message: str, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Opus Desktop: a problem"))
        self.setMinimumWidth(540)
        self._extra = 0

        icon = QLabel()
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_MessageBoxIconSize)
        icon.setPixmap(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(size)
        )
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.message_label = QLabel(message)
        self.message_label.setWordWrap(True)
        # Level with the icon: the label can be taller than its lines, and centred they sank.
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.more_label = QLabel()
        self.more_label.setVisible(False)

        self.toggle = QToolButton()
        self.toggle.setText(tr("Details"))
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.toggle.toggled.connect(self._show_details)

        self.details = QPlainTextEdit(details)
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.details.setMinimumHeight(180)
        self.details.setVisible(False)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton(tr("Copy details"))
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        # An ActionRole button would close the dialog through the box's clicked(); copy only.
        self.copy_button.clicked.disconnect()
        self.copy_button.clicked.connect(self.copy_details)
        buttons.rejected.connect(self.reject)

        top = QHBoxLayout()
        top.addWidget(icon)
        text = QVBoxLayout()
        text.addWidget(self.message_label)
        text.addWidget(self.more_label)
        top.addLayout(text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)

    @Slot(bool)
    def _show_details(self, shown: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.details.setVisible(shown)
        self.adjustSize()

    @Slot()
    def copy_details(self) -> None:
        text = f"{self.message_label.text()}\n\n{self.details.toPlainText()}"
        QGuiApplication.clipboard().setText(text)

    def add_error(self, message: str, details: str) -> None:
        """Another error while this one is shown: count it and keep its details."""
        self._extra += 1
        self.more_label.setText(
            tr("1 more problem happened since; see the details.")
            if self._extra == 1
            else tr("{count} more problems happened since; see the details.").format(
                count=self._extra
            )
        )
        self.more_label.setVisible(True)
        self.details.appendPlainText(f"\n---\n{message}\n{details}")


_current: ErrorDialog | None = None


def show_error(parent: QWidget | None, exc: BaseException) -> ErrorDialog:
    """Log `exc` and show it; returns the dialog (already open, window-modal)."""
    global _current
    if isinstance(exc, AppError):
        # The sentence may quote a cell value (personal data): only at DEBUG.
        log.info("shown to the user: %s", type(exc).__name__)
        log.debug("shown to the user: %s", exc.message)
    else:
        log.error("unexpected error", exc_info=(type(exc), exc, exc.__traceback__))
    message, details = user_message(exc), details_text(exc)
    if _current is not None and _current.isVisible():
        _current.add_error(message, details)
        return _current
    window = parent.window() if parent is not None else QApplication.activeWindow()
    dialog = ErrorDialog(message, details, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.finished.connect(_forget)
    _current = dialog
    dialog.open()
    return dialog


def current_error_dialog() -> ErrorDialog | None:
    return _current if _current is not None and _current.isVisible() else None


def _forget() -> None:
    global _current
    _current = None


class _Relay(QObject):
    """Carries exceptions raised in other threads to the GUI thread."""

    raised = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.raised.connect(self._show)

    @Slot(object)
    def _show(self, exc: BaseException) -> None:
        show_error(None, exc)


_relay: _Relay | None = None


def install_excepthook() -> None:
    """Show uncaught exceptions (GUI thread and others) in the error dialog, and log them.

    Call after the QApplication exists, from the GUI thread.
    """
    global _relay
    _relay = _Relay()
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook


def uninstall_excepthook() -> None:
    """Back to Python's own hooks (when the event loop has ended)."""
    global _relay
    sys.excepthook = sys.__excepthook__
    threading.excepthook = threading.__excepthook__
    _relay = None


def _excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    if exc.__traceback__ is None:
        exc = exc.with_traceback(tb)
    if _relay is not None and threading.current_thread() is not threading.main_thread():
        _relay.raised.emit(exc)
    else:
        show_error(None, exc)


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    _excepthook(args.exc_type, args.exc_value, args.exc_traceback)
