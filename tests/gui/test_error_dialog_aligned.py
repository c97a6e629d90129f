"""The error dialog's sentence starts level with its icon, however many lines it wraps
onto (it sat centred in a taller label, a line or two below the icon's top)."""

from __future__ import annotations

from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from opus_desktop.gui.errors import ErrorDialog

LONG = (
    "The sandbox tenant could not start: Cannot create the folder "
    "/home/records-officer/.local/share/opus-desktop/sandbox: /home/records-officer/.local/"
    "share/opus-desktop/sandbox is a file, not a folder; move it away, or set "
    "OPUS_DESKTOP_HOME to a folder you can write to. The app runs without it."
)


def first_inked_row(image: QImage) -> int:
    """The first row of `image` with a pixel clearly darker than its top-left corner."""
    background = image.pixelColor(0, 0).lightness()
    for y in range(image.height()):
        if any(
            abs(image.pixelColor(x, y).lightness() - background) > 80 for x in range(image.width())
        ):
            return y
    return image.height()


def test_the_sentence_starts_at_the_top_of_its_label(qtbot: QtBot) -> None:
    dialog = ErrorDialog(LONG, "details")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    label = dialog.message_label
    image = label.grab().toImage()
    assert label.height() > 3 * label.fontMetrics().height()  # it wraps
    assert first_inked_row(image) <= label.fontMetrics().height() // 2
