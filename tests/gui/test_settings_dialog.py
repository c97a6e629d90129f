"""The settings dialog: built from the declarations in opus_desktop.settings, saving through
them; the main window's Settings... entry and its TLS warning in the status bar."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialogButtonBox,
    QDoubleSpinBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
)
from pytestqt.qtbot import QtBot

from opus_desktop import settings
from opus_desktop.gui.settings import GuiSettings
from opus_desktop.gui.settings_dialog import SettingsDialog
from opus_desktop.profiles import Profile, save_profile
from opus_desktop.settings import (
    CONCURRENCY,
    LOG_LEVEL,
    OPERATOR_NAME,
    PROXY_MODE,
    PROXY_URL,
    REQUEST_TIMEOUT,
    SECTIONS,
    SETTINGS,
    Section,
    Setting,
    Settings,
)
from tests.gui.test_app import make_window

TEMPLATE = Path(__file__).resolve().parents[2] / "opus_desktop/resources/demo/template.json"
EDITOR_TYPES = {str: QLineEdit, int: QSpinBox, float: QDoubleSpinBox}


@pytest.fixture
def root_level() -> Iterator[None]:
    level = logging.getLogger().level
    try:
        yield
    finally:
        logging.getLogger().setLevel(level)


def make_dialog(qtbot: QtBot, **kwargs: object) -> SettingsDialog:
    dialog = SettingsDialog(**kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def press(dialog: SettingsDialog, button: QDialogButtonBox.StandardButton) -> None:
    found = dialog.buttons.button(button)
    assert found is not None
    found.click()


def test_one_field_per_declared_setting_in_its_section(qtbot: QtBot) -> None:
    dialog = make_dialog(qtbot)

    assert list(dialog.editors) == [setting.key for setting in SETTINGS]
    for setting in SETTINGS:
        editor = dialog.editors[setting.key]
        expected = QComboBox if setting.choices else EDITOR_TYPES[setting.kind]
        assert type(editor) is expected, setting.key
        assert dialog.labels[setting.key].text() == f"{setting.title}:"
        assert dialog.labels[setting.key].buddy() is editor
        assert editor.toolTip() == setting.description
    groups = [box.title() for box in dialog.findChildren(QGroupBox)]
    assert groups == [section.title for section in SECTIONS]
    notes = [label.text() for label in dialog.findChildren(QLabel)]
    assert any("always checked against this computer's trust store" in n for n in notes)
    proxy = dialog.editors[PROXY_MODE.key]
    assert isinstance(proxy, QComboBox)
    assert [proxy.itemData(i) for i in range(proxy.count())] == ["system", "none", "url"]
    timeout = dialog.editors[REQUEST_TIMEOUT.key]
    assert isinstance(timeout, QDoubleSpinBox)
    assert (timeout.minimum(), timeout.maximum(), timeout.suffix()) == (5, 600, " s")


def test_a_new_declaration_gets_its_field_without_any_dialog_code(qtbot: QtBot) -> None:
    retries: Setting[int] = Setting(
        "runs.retries", 3, "Retries", "How often to try again.", "extra", minimum=0, maximum=9
    )
    dialog = make_dialog(
        qtbot,
        declarations=(*SETTINGS, retries),
        sections=(*SECTIONS, Section("extra", "Extra")),
    )

    editor = dialog.editors["runs.retries"]
    assert isinstance(editor, QSpinBox)
    assert (editor.value(), editor.minimum(), editor.maximum()) == (3, 0, 9)
    assert dialog.labels["runs.retries"].text() == "Retries:"
    assert dialog.findChildren(QGroupBox)[-1].title() == "Extra"


def test_it_shows_the_saved_values_and_saves_the_changes(qtbot: QtBot, root_level: None) -> None:
    settings.save(Settings({CONCURRENCY.key: 6, OPERATOR_NAME.key: "Jane Smith"}))
    dialog = make_dialog(qtbot)
    concurrency = dialog.editors[CONCURRENCY.key]
    operator = dialog.editors[OPERATOR_NAME.key]
    level = dialog.editors[LOG_LEVEL.key]
    assert isinstance(concurrency, QSpinBox) and isinstance(operator, QLineEdit)
    assert isinstance(level, QComboBox)
    assert concurrency.value() == 6 and operator.text() == "Jane Smith"
    assert level.currentData() == "INFO"

    concurrency.setValue(10)
    operator.setText("  Sam Lee ")
    level.setCurrentIndex(level.findData("DEBUG"))
    with qtbot.waitSignal(dialog.saved) as saved:
        press(dialog, QDialogButtonBox.StandardButton.Ok)

    assert not dialog.isVisible()
    stored = settings.load()
    assert saved.args == [stored]
    assert stored.get(CONCURRENCY) == 10 and stored.get(OPERATOR_NAME) == "Sam Lee"
    assert stored.get(LOG_LEVEL) == "DEBUG"
    assert logging.getLogger().level == logging.DEBUG  # applied at once


def test_the_proxy_address_is_editable_only_for_a_named_proxy(qtbot: QtBot) -> None:
    dialog = make_dialog(qtbot)
    mode = dialog.editors[PROXY_MODE.key]
    address = dialog.editors[PROXY_URL.key]
    assert isinstance(mode, QComboBox)
    assert not address.isEnabled() and not dialog.labels[PROXY_URL.key].isEnabled()

    mode.setCurrentIndex(mode.findData("url"))
    assert address.isEnabled() and dialog.labels[PROXY_URL.key].isEnabled()
    mode.setCurrentIndex(mode.findData("none"))
    assert not address.isEnabled()


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("", "no proxy address is given"),
        ("http://jane:s3cret@proxy.contoso.example:8080", "holds a user name or password"),
        ("proxy.contoso.example", "is not a proxy address such as"),
    ],
)
def test_a_proxy_that_cannot_work_keeps_the_dialog_open(
    qtbot: QtBot, address: str, problem: str
) -> None:
    dialog = make_dialog(qtbot)
    mode = dialog.editors[PROXY_MODE.key]
    url = dialog.editors[PROXY_URL.key]
    assert isinstance(mode, QComboBox) and isinstance(url, QLineEdit)
    mode.setCurrentIndex(mode.findData("url"))
    url.setText(address)

    press(dialog, QDialogButtonBox.StandardButton.Ok)

    assert dialog.isVisible()
    assert dialog.problem.isVisible() and problem in dialog.problem.text()
    assert not settings.settings_path().exists()
    url.setText("http://proxy.contoso.example:8080")  # typing again hides the sentence
    assert not dialog.problem.isVisible()
    press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert settings.load().proxy() == "http://proxy.contoso.example:8080"


def test_a_bad_address_in_a_greyed_out_field_does_not_block_saving(qtbot: QtBot) -> None:
    dialog = make_dialog(qtbot)
    url = dialog.editors[PROXY_URL.key]
    assert isinstance(url, QLineEdit)
    url.setText("not an address")  # typed while "url" was chosen, then the mode changed back
    press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert not dialog.isVisible()
    assert settings.load().get(PROXY_URL) == ""


def test_restore_defaults_fills_in_the_defaults_and_saves_nothing(qtbot: QtBot) -> None:
    settings.save(Settings({REQUEST_TIMEOUT.key: 120, CONCURRENCY.key: 2}))
    dialog = make_dialog(qtbot)
    press(dialog, QDialogButtonBox.StandardButton.RestoreDefaults)
    timeout = dialog.editors[REQUEST_TIMEOUT.key]
    assert isinstance(timeout, QDoubleSpinBox) and timeout.value() == 30.0
    assert settings.load().get(REQUEST_TIMEOUT) == 120.0
    press(dialog, QDialogButtonBox.StandardButton.Cancel)
    assert settings.load().get(CONCURRENCY) == 2


# -- in the main window ---------------------------------------------------------------------


def test_settings_open_from_the_file_menu_with_ctrl_comma(
    qtbot: QtBot, gui_settings: GuiSettings, tmp_path: Path
) -> None:
    window = make_window(qtbot, gui_settings, tmp_path)
    action = window.settings_action
    assert isinstance(action, QAction)
    assert action.shortcut() == QKeySequence("Ctrl+,")
    assert action.menuRole() == QAction.MenuRole.PreferencesRole

    action.trigger()

    dialog = window.settings_dialog
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.isModal() and dialog.parent() is window
    press(dialog, QDialogButtonBox.StandardButton.Cancel)


def test_a_profile_without_tls_checks_is_flagged_in_the_status_bar(
    qtbot: QtBot, gui_settings: GuiSettings, tmp_path: Path
) -> None:
    profile = Profile(
        name="Test server",
        client_id="3c9a1f6e-52d4-4b8e-a7c1-0e6f2d9b8a34",
        api_url="https://opus.test.example",
        cert_pfx=str(tmp_path / "app.pfx"),
        verify_tls=False,
    )
    save_profile(profile, TEMPLATE)
    window = make_window(qtbot, gui_settings, tmp_path)

    assert window.status_text() == "Profile: Test server · TLS checks OFF · not signed in"
    assert window.status_label.toolTip().startswith(
        'TLS certificate checks are turned off for profile "Test server"'
    )
    assert window.panel.summary.text().endswith(
        "TLS certificate checks are turned off for this profile."
    )
