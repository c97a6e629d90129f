"""The profile dialog's "Modified time earlier than Created time" setting: a plain tick box
on the Values page, saved with the profile, loaded again, and used by the checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from opus_desktop.profiles import find_profile
from opus_desktop.sandbox.demo import load_resource
from tests.gui.test_profile_dialog import fill_required, open_dialog
from tests.helpers.certs import make_certificate


@pytest.fixture
def template_file(tmp_path: Path) -> Path:
    path = tmp_path / "connection.json"
    path.write_text(json.dumps(load_resource("template.json")), encoding="utf-8")
    return path


def test_the_setting_is_saved_and_loaded_again(
    qtbot: QtBot, tmp_path: Path, template_file: Path
) -> None:
    pair = make_certificate().write_pem(tmp_path / "a.crt", tmp_path / "a.key")
    dialog = open_dialog(qtbot)
    box = dialog.refuse_modified_first
    assert box.text() == (
        "Do not send a record whose Modified time is earlier than its Created time"
    )
    assert "warned about and sent" in box.toolTip() and not box.isChecked()
    fill_required(dialog, template_file, *pair)
    box.setChecked(True)
    assert dialog.validate(), dialog.problem_label.text()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    saved = find_profile("Contoso")
    assert saved.refuse_modified_before_created
    assert saved.value_settings().refuse_modified_before_created

    again = open_dialog(qtbot, saved)
    assert again.refuse_modified_first.isChecked()
    again.refuse_modified_first.setChecked(False)
    assert again.validate(), again.problem_label.text()
    qtbot.mouseClick(again.ok_button, Qt.MouseButton.LeftButton)
    assert not find_profile("Contoso").refuse_modified_before_created
    assert not open_dialog(qtbot, find_profile("Contoso")).refuse_modified_first.isChecked()
