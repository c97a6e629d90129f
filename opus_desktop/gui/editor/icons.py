"""Small icons drawn once in code, so they read the same in light and dark palettes."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap

_SIZE = 32  # drawn large and scaled down by Qt, sharp on high-DPI screens


def _canvas() -> tuple[QPixmap, QPainter]:
    pixmap = QPixmap(_SIZE, _SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    return pixmap, painter


@cache
def problem() -> QIcon:
    """A red disc with a white "!": a cell Opus would refuse."""
    pixmap, painter = _canvas()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(211, 47, 47))
    painter.drawEllipse(QRectF(2, 2, _SIZE - 4, _SIZE - 4))
    painter.setPen(QColor("white"))
    font = QFont()
    font.setBold(True)
    font.setPixelSize(22)
    painter.setFont(font)
    painter.drawText(QRectF(0, 0, _SIZE, _SIZE), Qt.AlignmentFlag.AlignCenter, "!")
    painter.end()
    return QIcon(pixmap)


@cache
def stored() -> QIcon:
    """A green tick: Opus stored the record."""
    pixmap, painter = _canvas()
    pen = QPen(QColor(46, 160, 67), 5)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.drawPolyline([QPointF(6, 16), QPointF(13, 24), QPointF(27, 8)])
    painter.end()
    return QIcon(pixmap)


@cache
def calendar() -> QIcon:
    """A page with a top band and a grid of days, in a grey that reads on any palette."""
    pixmap, painter = _canvas()
    grey = QColor(128, 128, 128)
    painter.setPen(QPen(grey, 2.5))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(QRectF(4, 6, 24, 22), 3, 3)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(grey)
    painter.drawRect(QRectF(4, 6, 24, 6))
    for row in range(2):
        for column in range(3):
            painter.drawRect(QRectF(8 + column * 6.5, 15 + row * 6, 3.5, 3.5))
    painter.end()
    return QIcon(pixmap)
