"""Render the app icon for packaging: packaging/icons/opus-desktop.{svg,png,ico,icns}.

The drawing is opus_desktop/resources/icons/opus-desktop.svg (the app's own icon); this
copies it beside its renders so packaging/icons is complete on its own:

    opus-desktop.svg    the drawing (a copy), for Linux icon themes
    opus-desktop.png    256 x 256, for the Linux desktop entry
    opus-desktop.ico    Windows: 16 to 256 pixels, each a PNG (Windows Vista and later)
    opus-desktop.icns   macOS: 16 to 1024 pixels, each a PNG (macOS 10.7 and later)

ICO and ICNS are plain containers of PNG images, written here with `struct`. Qt renders
the PNGs (QSvgRenderer). The output is the same bytes on every run with the same Qt, so
the committed files change only when the drawing does. Run it after changing the SVG:

    .venv/bin/python tools/make_icons.py
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "opus_desktop" / "resources" / "icons" / "opus-desktop.svg"
TARGET = ROOT / "packaging" / "icons"
NAME = "opus-desktop"

PNG_SIZE = 256
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types holding PNG data, and the pixel size of each ("@2x" ones included).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic07", 128),
    (b"ic13", 256),
    (b"ic08", 256),
    (b"ic14", 512),
    (b"ic09", 512),
    (b"ic10", 1024),
)


def render(svg: Path, sizes: set[int]) -> dict[int, bytes]:
    """PNG bytes of the drawing at each size, transparent around it."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not a drawing Qt can read.")
    pngs: dict[int, bytes] = {}
    for size in sorted(sizes):
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not image.save(buffer, "PNG"):
            raise SystemExit(f"Qt could not encode the {size} px render as PNG.")
        buffer.close()
        pngs[size] = data.data()
    del _app
    return pngs


def ico(pngs: dict[int, bytes], sizes: tuple[int, ...]) -> bytes:
    """An ICO file: the ICONDIR header, one 16-byte entry per image, then the PNGs."""
    header = struct.pack("<HHH", 0, 1, len(sizes))
    entries = b""
    images = b""
    offset = len(header) + 16 * len(sizes)
    for size in sizes:
        png = pngs[size]
        side = 0 if size >= 256 else size  # 0 stands for 256 in the one-byte fields
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset)
        images += png
        offset += len(png)
    return header + entries + images


def icns(pngs: dict[int, bytes], types: tuple[tuple[bytes, int], ...]) -> bytes:
    """An ICNS file: 'icns' and the total length, then (type, length, PNG) per element."""
    elements = b"".join(
        kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for kind, size in types
    )
    return b"icns" + struct.pack(">I", 8 + len(elements)) + elements


def main() -> int:
    sizes = {PNG_SIZE, *ICO_SIZES, *(size for _, size in ICNS_TYPES)}
    pngs = render(SOURCE, sizes)
    TARGET.mkdir(parents=True, exist_ok=True)
    outputs = {
        f"{NAME}.svg": SOURCE.read_bytes(),
        f"{NAME}.png": pngs[PNG_SIZE],
        f"{NAME}.ico": ico(pngs, ICO_SIZES),
        f"{NAME}.icns": icns(pngs, ICNS_TYPES),
    }
    for name, data in outputs.items():
        path = TARGET / name
        changed = not path.exists() or path.read_bytes() != data
        if changed:
            path.write_bytes(data)
        print(f"{'wrote' if changed else 'same '}  {path.relative_to(ROOT)}  {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
