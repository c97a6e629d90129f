"""The "What will be sent" preview names a warning on the row in one sentence, and says
the record is still sent; a row without a warning has no such sentence."""

from __future__ import annotations

from pathlib import Path

from opus_desktop.core.values import ValueSettings
from opus_desktop.gui.editor.preview import preview_text
from tests.gui.test_editor_time_order import grid, position
from tests.helpers.workbooks import demo_settings


def test_the_preview_says_the_warning_on_the_row(tmp_path: Path) -> None:
    settings: ValueSettings = demo_settings()
    model = grid(tmp_path / "order.xlsx", settings)
    warned = preview_text(model, position(model, "B"))
    lines = [line for line in warned.splitlines() if line.startswith("Warning on")]
    assert len(lines) == 1, warned
    assert lines[0].startswith("Warning on Modified time: ")
    assert lines[0].endswith("; the record is still sent.")
    assert lines[0].count(".") == 1  # one sentence
    assert "Sent for row 3:" in warned
    assert "Warning" not in preview_text(model, position(model, "A"))
