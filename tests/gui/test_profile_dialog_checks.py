"""The profile dialog saves through the check `profile add` makes: a certificate not valid
yet is refused until "Save even so", a legacy profile gets no made-up destroy path, and
the Graph "Created by and Modified by are required" setting is kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from opus_desktop.profiles import find_profile, list_profiles
from opus_desktop.sandbox.demo import load_resource
from tests.gui.test_profile_dialog import fill_required, open_dialog
from tests.helpers.certs import make_certificate


@pytest.fixture
def template_file(tmp_path: Path) -> Path:
    path = tmp_path / "connection.json"
    path.write_text(json.dumps(load_resource("template.json")), encoding="utf-8")
    return path


def test_a_certificate_not_valid_yet_is_saved_only_when_asked(
    qtbot: QtBot, tmp_path: Path, template_file: Path
) -> None:
    later = make_certificate(days=400, valid_from=datetime.now(UTC) + timedelta(days=7))
    dialog = open_dialog(qtbot)
    fill_required(dialog, template_file, *later.write_pem(tmp_path / "l.crt", tmp_path / "l.key"))
    page = dialog.certificate
    day = later.certificate.not_valid_before_utc.strftime("%d %B %Y")
    sentence = (
        f"The certificate Opus Desktop Test (Contoso Records) in l.crt is not valid before {day}."
    )
    assert dialog.problem_label.text() == sentence
    assert not dialog.ok_button.isEnabled() and page.force.isVisibleTo(page)
    page.force.setChecked(True)
    assert dialog.ok_button.isEnabled() and dialog.problem_label.text() == ""
    page.force.setChecked(False)  # unticking it refuses again
    assert dialog.problem_label.text() == sentence and not dialog.ok_button.isEnabled()
    page.force.setChecked(True)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert [p.name for p in list_profiles()] == ["Contoso"]


def test_legacy_keeps_an_empty_destroy_path_and_graph_the_created_by_setting(
    qtbot: QtBot, tmp_path: Path, template_file: Path
) -> None:
    pair = make_certificate().write_pem(tmp_path / "a.crt", tmp_path / "a.key")
    dialog = open_dialog(qtbot)
    fill_required(dialog, template_file, *pair)
    assert dialog.destroy_path.placeholderText() == "From the tenant's API page (no default)"
    assert dialog.require_created_by.isEnabled() and not dialog.require_created_by.isChecked()
    dialog.require_created_by.setChecked(True)
    dialog.protocol.setCurrentIndex(dialog.protocol.findData("legacy"))
    assert not dialog.require_created_by.isEnabled()
    dialog.api_url.setEditText("https://connector.example.com")
    assert dialog.validate(), dialog.problem_label.text()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    saved = find_profile("Contoso")
    assert (saved.protocol, saved.destroy_path) == ("legacy", "")

    again = open_dialog(qtbot, saved)
    assert again.require_created_by.isChecked() and not again.require_created_by.isEnabled()
    again.destroy_path.setText("api/x y")
    assert not again.validate()
    assert "must be a path on the API URL" in again.problem_label.text()
