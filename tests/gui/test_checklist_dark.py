"""The choice list of a Several choices cell on the dark palette: an empty tick box has a
frame that stands out of the list, so the options look tickable (it had none)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from opus_desktop.gui.app import apply_colour_scheme
from opus_desktop.gui.editor.delegates import ChecklistEditor
from tests.gui.test_indicator_contrast import contrast


@pytest.fixture
def dark(qapp: QApplication) -> Iterator[None]:
    apply_colour_scheme(qapp, Qt.ColorScheme.Dark)
    yield
    apply_colour_scheme(qapp, Qt.ColorScheme.Light)  # the other tests' palette


def test_an_empty_tick_box_is_framed_on_the_dark_palette(qtbot: QtBot, dark: None) -> None:
    editor = ChecklistEditor(["Finance", "Legal"])
    qtbot.addWidget(editor)
    editor.resize(240, 120)
    editor.show()
    qtbot.waitExposed(editor)
    base = editor.palette().color(QPalette.ColorRole.Base)
    assert base.lightness() < 80  # the dark palette is on

    index = editor.options.index(0, 0)
    option = QStyleOptionViewItem()
    option.rect = editor.visualRect(index)
    editor.itemDelegate().initStyleOption(option, index)  # type: ignore[attr-defined]
    box = editor.style().subElementRect(
        QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, editor
    )
    image = editor.viewport().grab(box).toImage()
    colours = {
        image.pixelColor(x, y).name() for x in range(image.width()) for y in range(image.height())
    }
    frame = max((QColor(name) for name in colours), key=lambda c: contrast(c, base))
    assert contrast(frame, base) >= 3.0  # WCAG's least for a control's outline
