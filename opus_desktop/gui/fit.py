"""Window sizes that fit the screen: a dialog asks for its comfortable size and gets at
most what the screen has free (a 1024x768 screen is smaller than the import dialog)."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

SCREEN_SHARE = 0.95  # leave a little of the screen around a window


def fit_to_screen(widget: QWidget, width: int, height: int) -> QSize:
    """Resize `widget` to width x height, or less where the screen is smaller."""
    size = QSize(width, height)
    screen = widget.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        size = size.boundedTo(screen.availableGeometry().size() * SCREEN_SHARE)
    widget.resize(size)
    return size
