"""The app icon, small status icons, and colours that read on light and dark palettes.

The app icon is drawn once as `resources/icons/opus-desktop.svg`; PNG renders at the usual
sizes sit beside it, so no SVG plug-in is needed at run time (a frozen build may lack
one). Re-render them after changing the drawing:

    python -m opus_desktop.gui.icons

Status icons (ok, failed, running, waiting, warning) are painted, not bitmaps: a shape
and a colour, so they never rely on colour alone and stay crisp at any scale.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QIcon,
    QImage,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
)

ICON_NAME = "opus-desktop"
SIZES = (16, 24, 32, 48, 64, 128, 256)

# Status colours: (on a light palette, on a dark palette). The light ones are dark
# enough for text on white, the dark ones light enough for text on near-black.
_COLOURS: dict[str, tuple[str, str]] = {
    "ok": ("#1e7d3c", "#5fcf7f"),
    "failed": ("#b3261e", "#ff8a80"),
    "warning": ("#8a5a00", "#ffcc66"),
    "running": ("#1b5fae", "#8ab8ff"),
    "waiting": ("#6b6b6b", "#a8a8a8"),
}
STATUSES = tuple(_COLOURS)


def icons_dir() -> Path:
    return Path(str(resources.files("opus_desktop").joinpath("resources", "icons")))


def svg_path() -> Path:
    return icons_dir() / f"{ICON_NAME}.svg"


def png_path(size: int) -> Path:
    return icons_dir() / f"{ICON_NAME}-{size}.png"


def app_icon() -> QIcon:
    """The application icon, from the PNG renders (and the SVG when they are missing)."""
    icon = QIcon()
    for size in SIZES:
        path = png_path(size)
        if path.is_file():
            icon.addFile(str(path), QSize(size, size))
    if icon.isNull():
        icon.addFile(str(svg_path()))
    return icon


def render_pngs(svg: Path | None = None, folder: Path | None = None) -> list[Path]:
    """Render the SVG at every size in SIZES; return the files written."""
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg or svg_path()))
    if not renderer.isValid():
        raise ValueError(f"{svg or svg_path()} is not a drawing Qt can read.")
    written = []
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        target = (folder or icons_dir()) / f"{ICON_NAME}-{size}.png"
        if not image.save(str(target)):  # the format follows the .png suffix
            raise OSError(f"Cannot write {target}.")
        written.append(target)
    return written


def is_dark(palette: QPalette | None = None) -> bool:
    """True when the window background is dark (text is lighter than the window)."""
    palette = palette or QGuiApplication.palette()
    window = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.WindowText)
    return window.lightness() < text.lightness()


def status_colour(status: str, palette: QPalette | None = None) -> QColor:
    light, dark = _COLOURS[status]
    return QColor(dark if is_dark(palette) else light)


def status_icon(status: str, palette: QPalette | None = None, size: int = 16) -> QIcon:
    """A round badge for `status`: a tick, a cross, three dots, a bar, or "!" in a triangle."""
    key = (status, is_dark(palette), size)
    cached = _icons.get(key)
    if cached is not None:
        return cached
    colour = status_colour(status, palette)
    icon = QIcon()
    for scale in (1, 2):
        pixmap = QPixmap(size * scale, size * scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.scale(scale * size / 16, scale * size / 16)
        _paint_status(painter, status, colour)
        painter.end()
        pixmap.setDevicePixelRatio(scale)
        icon.addPixmap(pixmap)
    _icons[key] = icon
    return icon


_icons: dict[tuple[str, bool, int], QIcon] = {}


def _paint_status(painter: QPainter, status: str, colour: QColor) -> None:
    """Paint on a 16 x 16 canvas."""
    mark = QColor("#ffffff") if colour.lightness() < 140 else QColor("#101010")
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    if status == "warning":
        triangle = QPainterPath(QPointF(8, 1.2))
        triangle.lineTo(15.2, 14.5)
        triangle.lineTo(0.8, 14.5)
        triangle.closeSubpath()
        painter.drawPath(triangle)
    else:
        painter.drawEllipse(QRectF(1, 1, 14, 14))
    pen = QPen(mark, 1.9, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    if status == "ok":
        painter.drawPolyline([QPointF(4.6, 8.3), QPointF(7, 10.7), QPointF(11.6, 5.6)])
    elif status == "failed":
        painter.drawLine(QPointF(5.3, 5.3), QPointF(10.7, 10.7))
        painter.drawLine(QPointF(10.7, 5.3), QPointF(5.3, 10.7))
    elif status == "warning":
        painter.drawLine(QPointF(8, 5.6), QPointF(8, 9.6))
        painter.drawPoint(QPointF(8, 12.2))
    elif status == "running":
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(mark)
        for x in (4.6, 8, 11.4):
            painter.drawEllipse(QPointF(x, 8), 1.2, 1.2)
    else:  # waiting: a short bar
        painter.drawLine(QPointF(5, 8), QPointF(11, 8))


if __name__ == "__main__":
    from PySide6.QtGui import QGuiApplication as _App

    _app = _App(sys.argv[:1])
    for written in render_pngs():
        print(written)
