"""The sign-in steps in the connection panel's width: every sentence whole, wrapped."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from opus_desktop.gui.connection.steps_view import StepsView
from opus_desktop.gui.main_window import PANEL_WIDTH
from opus_desktop.jobs.connect import CERTIFICATE, DISCOVERY, PROFILE, Step

DETAILS = {
    PROFILE: "Graph API at http://127.0.0.1:46583, connection 6f1c2a4e-3b7d-4e21-9a5c",
    CERTIFICATE: "Opus Desktop Sandbox, valid until 2028-11-28, thumbprint "
    "DB1B65D1139373BC411B6A1234AF170B5927534B",
    DISCOVERY: "token endpoint http://127.0.0.1:46583/identity/connect/token",
}


def test_passed_steps_are_wrapped_whole_at_the_panel_width(qtbot: QtBot) -> None:
    panel = QWidget()  # the panel's column: the steps over a stretch
    layout = QVBoxLayout(panel)
    view = StepsView()
    layout.addWidget(view)
    layout.addStretch(1)
    qtbot.addWidget(panel)
    panel.resize(PANEL_WIDTH, 600)
    panel.show()
    for name, detail in DETAILS.items():
        view.show_step(Step(name, True, detail))
    qtbot.wait(50)
    for name, detail in DETAILS.items():
        label = view.rows[name][2]
        assert label.text().replace("\u200b", "") == detail  # not elided
        assert "…" not in label.text()
        assert label.wordWrap() and label.toolTip() == detail
        # The label is as tall as its wrapped text needs, so no line is cut off.
        assert label.height() >= label.heightForWidth(label.width())
        one_line = label.fontMetrics().height()
        assert label.fontMetrics().horizontalAdvance(detail) > label.width()
        assert label.height() > one_line  # it took more than one line
