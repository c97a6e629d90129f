"""packaging/: the icon set made from the app's drawing, the desktop entry, the spec's inputs.

The bundle itself is built and smoke-tested by `make package`, not here (it takes minutes).
"""

from __future__ import annotations

import configparser
import re
import struct
from pathlib import Path

import opus_desktop

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
ICONS = PACKAGING / "icons"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE)
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_icon_drawing_is_the_apps_own() -> None:
    app_svg = ROOT / "opus_desktop" / "resources" / "icons" / "opus-desktop.svg"
    assert (ICONS / "opus-desktop.svg").read_bytes() == app_svg.read_bytes(), (
        "the app's icon changed: run tools/make_icons.py and commit packaging/icons"
    )


def test_the_png_for_the_desktop_entry() -> None:
    assert png_size((ICONS / "opus-desktop.png").read_bytes()) == (256, 256)


def test_the_ico_holds_a_png_for_every_windows_size() -> None:
    data = (ICONS / "opus-desktop.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)
    sizes = []
    for n in range(count):
        width, height, _, _, planes, bits, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * n : 22 + 16 * n]
        )
        image = data[offset : offset + length]
        side = width or 256
        assert (planes, bits) == (1, 32)
        assert png_size(image) == (side, height or 256)
        sizes.append(side)
    assert sizes == [16, 24, 32, 48, 64, 128, 256]
    assert offset + length == len(data)


def test_the_icns_holds_every_macos_size_up_to_1024() -> None:
    data = (ICONS / "opus-desktop.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    found: dict[str, tuple[int, int]] = {}
    position = 8
    while position < len(data):
        kind = data[position : position + 4].decode("ascii")
        length = struct.unpack(">I", data[position + 4 : position + 8])[0]
        found[kind] = png_size(data[position + 8 : position + length])
        position += length
    assert position == len(data)
    expected = {"icp4": 16, "icp5": 32, "ic11": 32, "ic12": 64, "ic07": 128, "ic13": 256,
                "ic08": 256, "ic14": 512, "ic09": 512, "ic10": 1024}  # fmt: skip
    assert found == {kind: (side, side) for kind, side in expected.items()}


def test_the_desktop_entry_starts_the_app_with_its_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    entry.read(PACKAGING / "opus-desktop.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application"
    assert section["Name"] == opus_desktop.APP_NAME
    assert section["Exec"] == "opus-desktop" and section["Icon"] == "opus-desktop"
    assert section["Terminal"] == "false"
    assert section["Categories"].endswith(";")
    # Qt names the window after the desktop file the app declares (gui/app.py).
    app_source = (ROOT / "opus_desktop" / "gui" / "app.py").read_text("utf-8")
    assert re.search(r'^DESKTOP_FILE = "opus-desktop"$', app_source, re.MULTILINE)


def test_the_spec_names_files_that_exist() -> None:
    spec = (PACKAGING / "opus-desktop.spec").read_text("utf-8")
    assert '"__main__.py"' in spec and '"resources/**/*"' in spec
    for name in ("opus-desktop.ico", "opus-desktop.icns", "opus-desktop.png", "opus-desktop.svg"):
        assert (ICONS / name).is_file()
    assert (PACKAGING / "opus-desktop.desktop").is_file()
    assert (ROOT / "opus_desktop" / "__main__.py").is_file()
    gitignore = (ROOT / ".gitignore").read_text("utf-8").split()
    assert "build/" in gitignore and "dist/" in gitignore
