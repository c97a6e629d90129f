"""Tick boxes and radio buttons on the dark palette: their frame stands out of the window."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QCheckBox, QRadioButton, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from opus_desktop.gui.app import apply_colour_scheme


def luminance(colour: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(colour.redF())
        + 0.7152 * channel(colour.greenF())
        + 0.0722 * channel(colour.blueF())
    )


def contrast(one: QColor, other: QColor) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.fixture
def scheme(qapp: QApplication) -> Iterator[None]:
    yield
    apply_colour_scheme(qapp, Qt.ColorScheme.Light)  # the other tests' palette


def frame_colour(qtbot: QtBot, box: QWidget) -> tuple[QColor, QColor]:
    """The window's colour and the indicator's most contrasting common colour."""
    holder = QWidget()
    QVBoxLayout(holder).addWidget(box)
    qtbot.addWidget(holder)
    holder.show()
    qtbot.wait(20)
    image = box.grab().toImage()
    window = holder.palette().color(QPalette.ColorRole.Window)
    side = min(image.height(), 20)
    counts = Counter(
        image.pixelColor(x, y).name() for x in range(side) for y in range(image.height())
    )
    common = [QColor(name) for name, n in counts.items() if n >= 8]
    return window, max(common, key=lambda colour: contrast(colour, window))


@pytest.mark.parametrize("kind", [QCheckBox, QRadioButton])
def test_the_dark_palette_frames_indicators_clearly(
    qapp: QApplication, qtbot: QtBot, scheme: None, kind: type[QCheckBox] | type[QRadioButton]
) -> None:
    apply_colour_scheme(qapp, Qt.ColorScheme.Dark)
    window, frame = frame_colour(qtbot, kind("Dry run"))
    assert window.lightness() < 80  # the dark palette is on
    assert contrast(frame, window) >= 3.0  # WCAG's least for a control's outline


def test_back_on_the_light_palette_the_indicator_palette_is_the_application_s(
    qapp: QApplication, qtbot: QtBot, scheme: None
) -> None:
    apply_colour_scheme(qapp, Qt.ColorScheme.Dark)
    apply_colour_scheme(qapp, Qt.ColorScheme.Light)
    box = QCheckBox("Dry run")
    qtbot.addWidget(box)
    role = QPalette.ColorRole.Window
    assert box.palette().color(role) == qapp.palette().color(role)
