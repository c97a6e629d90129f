"""The profile dialog and its choice options editor."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.qtbot import QtBot

from opus_desktop.core.errors import SheetError
from opus_desktop.gui.connection.options_editor import OptionsEditor, OptionsImportError
from opus_desktop.gui.connection.profile_dialog import ProfileDialog
from opus_desktop.presets import GRAPH_PRESETS, IDENTITY_PRESETS
from opus_desktop.profiles import (
    KEYRING_SERVICE,
    Profile,
    find_profile,
    list_profiles,
    remember_password,
    save_profile,
)
from opus_desktop.sandbox.demo import load_resource
from tests.helpers.certs import expired_certificate, expiring_certificate, make_certificate

CLIENT_ID = "3c9a1f6e-52d4-4b8e-a7c1-0e6f2d9b8a34"
SECURITY = "_Security_%20_Level"
DEPARTMENTS = "_Departments"
STORAGE = "_Storage_%20_Location"


@pytest.fixture
def template_file(tmp_path: Path) -> Path:
    path = tmp_path / "connection.json"
    path.write_text(json.dumps(load_resource("template.json")), encoding="utf-8")
    return path


@pytest.fixture
def pem_pair(tmp_path: Path) -> tuple[Path, Path]:
    return make_certificate().write_pem(tmp_path / "app.crt", tmp_path / "app.key")


def open_dialog(qtbot: QtBot, profile: Profile | None = None) -> ProfileDialog:
    dialog = ProfileDialog(profile)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def fill_required(
    dialog: ProfileDialog, template: Path, cert: Path, key: Path, name: str = "Contoso"
) -> None:
    dialog.name.setText(name)
    dialog.api_url.setEditText(GRAPH_PRESETS["au"])
    dialog.client_id.setText(CLIENT_ID)
    dialog.certificate.use_pem.setChecked(True)
    dialog.certificate.cert_pem.set_path(str(cert))
    dialog.certificate.key_pem.set_path(str(key))
    dialog.certificate.reload()
    dialog.template_field.set_path(str(template))


def test_every_field_is_saved(
    qtbot: QtBot, tmp_path: Path, template_file: Path, memory_keyring: object
) -> None:
    cert = make_certificate(common_name="Contoso Records App")
    pfx = cert.write_pfx(tmp_path / "app.pfx", "pfx-pass")
    dialog = open_dialog(qtbot)
    assert dialog.windowTitle() == "Add a profile"
    assert not dialog.ok_button.isEnabled()

    dialog.name.setText("  Contoso production ")
    dialog.protocol.setCurrentIndex(dialog.protocol.findData("legacy"))
    assert dialog.destroy_path.isEnabled()
    assert dialog.api_url.count() == 0  # no Graph presets for the legacy API
    dialog.api_url.setEditText("https://connector-au.example.com/")
    dialog.identity_url.setEditText(IDENTITY_PRESETS["us-gov"])
    dialog.client_id.setText(CLIENT_ID)
    dialog.destroy_path.setText("/api/connector/Dispose/")
    dialog.proxy.setText("http://proxy.contoso.example:8080")
    dialog.verify_tls.setChecked(False)
    assert dialog.tls_warning.isVisibleTo(dialog)

    page = dialog.certificate
    page.use_pfx.setChecked(True)
    page.pfx.set_path(str(pfx))
    page.password.setText("pfx-pass")
    page.keep_password.setChecked(True)
    page.password_env.setText("CONTOSO_PFX")
    page.reload()
    assert "Contoso Records App" in page.info.text()
    assert cert.thumbprint in page.info.text()
    assert page.info.isVisibleTo(page)
    # The variable is for scripts, unset here: said, and the password typed in is used.
    assert page.warning.isVisibleTo(page)
    assert "CONTOSO_PFX that the profile names for the certificate password is not set" in (
        page.warning.text()
    )
    assert not page.force.isVisibleTo(page)

    dialog.template_field.set_path(str(template_file))
    assert dialog.template_summary.text() == (
        "15 columns, connection 6f1c2a4e-3b7d-4e21-9a5c-0d8e7f6a1b2c"
    )
    dialog.date_format.setCurrentIndex(dialog.date_format.findData("dd-MM-yyyy h:mm:ss tt"))
    dialog.term_separator.setText(">")
    dialog.time_zone.setEditText("Australia/Sydney")
    dialog.conflict_option.setCurrentIndex(dialog.conflict_option.findData("Skip"))
    dialog.concurrency.setValue(8)

    options = dialog.options
    assert options.select_column(SECURITY)
    for label in ("Public", "Secret"):
        row = options.options_model.add_row()
        options.options_model.setData(options.options_model.index(row, 0), label)
    assert options.select_column(STORAGE)
    row = options.options_model.add_row()
    options.options_model.setData(options.options_model.index(row, 0), "Sites/Perth")

    assert dialog.validate(), dialog.problem_label.text()
    assert dialog.ok_button.isEnabled()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == ProfileDialog.DialogCode.Accepted

    saved = find_profile("Contoso production")
    assert saved == dialog.saved_profile
    assert (saved.protocol, saved.api_url, saved.identity_url) == (
        "legacy",
        "https://connector-au.example.com",
        IDENTITY_PRESETS["us-gov"],
    )
    assert saved.client_id == CLIENT_ID
    assert saved.destroy_path == "api/connector/Dispose"
    assert saved.verify_tls is False
    assert saved.proxy == "http://proxy.contoso.example:8080"
    assert (saved.cert_pfx, saved.cert_pem, saved.key_pem) == (str(pfx), None, None)
    assert saved.cert_password_env == "CONTOSO_PFX"
    assert saved.date_format == "dd-MM-yyyy h:mm:ss tt"
    assert (saved.term_separator, saved.time_zone) == (">", "Australia/Sydney")
    assert (saved.conflict_option, saved.concurrency) == ("Skip", 8)
    assert saved.choices == {SECURITY: {"Public": 1, "Secret": 2}}
    assert saved.terms == {STORAGE: ["Sites/Perth"]}
    assert saved.template().connection_id == "6f1c2a4e-3b7d-4e21-9a5c-0d8e7f6a1b2c"
    store = memory_keyring.store  # type: ignore[attr-defined]
    assert store == {(KEYRING_SERVICE, f"Contoso production:{CLIENT_ID}"): "pfx-pass"}
    assert "pfx-pass" not in saved.folder.joinpath("profile.json").read_text()


@pytest.mark.parametrize(
    ("change", "sentence"),
    [
        (lambda d: d.name.setText("  "), "A profile needs a name"),
        (lambda d: d.api_url.setEditText("graph-au"), 'The API URL "graph-au" is not a web'),
        (lambda d: d.identity_url.setEditText(""), 'The identity service URL "" is not'),
        (lambda d: d.client_id.setText(""), "application (client) id"),
        (lambda d: d.certificate.cert_pem.set_path(""), "needs a certificate"),
        (lambda d: d.template_field.set_path(""), "Choose the connection template"),
        (lambda d: d.term_separator.setText(""), "The term separator cannot be empty"),
        (lambda d: d.time_zone.setEditText("Mars/Olympus"), 'The time zone "Mars/Olympus"'),
        (lambda d: d.proxy.setText("proxy:8080"), 'The proxy address "proxy:8080" is not'),
    ],
)
def test_bad_input_is_refused_with_the_sentence(
    qtbot: QtBot,
    template_file: Path,
    pem_pair: tuple[Path, Path],
    change: object,
    sentence: str,
) -> None:
    dialog = open_dialog(qtbot)
    fill_required(dialog, template_file, *pem_pair)
    assert dialog.validate(), dialog.problem_label.text()
    change(dialog)  # type: ignore[operator]
    dialog.certificate.reload()
    assert not dialog.validate()
    assert not dialog.ok_button.isEnabled()
    assert sentence in dialog.problem_label.text()
    dialog.accept()  # refused: nothing saved
    assert list_profiles() == []


def test_a_broken_template_and_a_key_of_another_certificate(
    qtbot: QtBot, tmp_path: Path, template_file: Path, pem_pair: tuple[Path, Path]
) -> None:
    dialog = open_dialog(qtbot)
    fill_required(dialog, template_file, *pem_pair)
    broken = tmp_path / "broken.json"
    broken.write_text('{"id": "x", "data": [', encoding="utf-8")
    dialog.template_field.set_path(str(broken))
    assert "is not valid JSON" in dialog.problem_label.text()
    assert "is not valid JSON" in dialog.template_summary.text()

    dialog.template_field.set_path(str(template_file))
    other = make_certificate(key=None).write_pem(tmp_path / "other.crt")[0]
    other_key = tmp_path / "other.key"
    from tests.helpers.certs import rsa_key

    other_key.write_bytes(make_certificate(key=rsa_key(1)).key_pem())
    dialog.certificate.cert_pem.set_path(str(other))
    dialog.certificate.key_pem.set_path(str(other_key))
    dialog.certificate.reload()
    assert "does not belong to the certificate" in dialog.problem_label.text()


def test_an_expiring_certificate_is_allowed_with_a_warning(
    qtbot: QtBot, tmp_path: Path, template_file: Path
) -> None:
    pair = expiring_certificate(days=9.5).write_pem(tmp_path / "soon.crt", tmp_path / "soon.key")
    dialog = open_dialog(qtbot)
    fill_required(dialog, template_file, *pair)
    warning = dialog.certificate.warning
    assert warning.isVisibleTo(dialog.certificate)
    # The sentence `profile add` prints; 9 whole days left.
    assert "(Contoso Records) expires in 9 days, on " in warning.text()
    assert dialog.validate()
    assert not dialog.certificate.force.isVisibleTo(dialog.certificate)


def test_an_expired_certificate_is_refused(
    qtbot: QtBot, tmp_path: Path, template_file: Path
) -> None:
    pair = expired_certificate(days_ago=3).write_pem(tmp_path / "old.crt", tmp_path / "old.key")
    dialog = open_dialog(qtbot)
    fill_required(dialog, template_file, *pair)
    page = dialog.certificate
    assert "in old.crt expired on " in page.warning.text()
    assert not dialog.validate()
    assert "in old.crt expired on " in dialog.problem_label.text()
    assert not dialog.ok_button.isEnabled()
    dialog.accept()
    assert list_profiles() == []
    # "Save even so", as --force: saved, the sentence still shown on the page.
    assert page.force.isVisibleTo(page)
    page.force.setChecked(True)
    assert dialog.validate() and dialog.ok_button.isEnabled()
    assert "expired on" in page.warning.text()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert [p.name for p in list_profiles()] == ["Contoso"]


def test_an_unset_password_variable_and_a_wrong_password_are_refused(
    qtbot: QtBot, tmp_path: Path, template_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pfx = make_certificate().write_pfx(tmp_path / "app.pfx", "right")
    dialog = open_dialog(qtbot)
    fill_required(dialog, template_file, *make_certificate().write_pem(tmp_path / "a.crt"))
    page = dialog.certificate
    page.use_pfx.setChecked(True)
    page.pfx.set_path(str(pfx))
    monkeypatch.delenv("APP_PFX_PASSWORD", raising=False)
    page.password_env.setText("APP_PFX_PASSWORD")
    page.reload()
    assert not dialog.validate()
    assert dialog.problem_label.text() == (
        "The environment variable APP_PFX_PASSWORD that the profile names for the "
        "certificate password is not set."
    )
    monkeypatch.setenv("APP_PFX_PASSWORD", "wrong")
    page.reload()
    assert dialog.problem_label.text() == (
        "The password for app.pfx is wrong: it comes from the environment variable "
        "APP_PFX_PASSWORD."
    )
    monkeypatch.setenv("APP_PFX_PASSWORD", "right")
    page.reload()
    assert dialog.validate(), dialog.problem_label.text()


def test_a_name_already_taken_is_refused(
    qtbot: QtBot, template_file: Path, pem_pair: tuple[Path, Path]
) -> None:
    cert, key = pem_pair
    save_profile(
        Profile("Contoso", CLIENT_ID, GRAPH_PRESETS["au"], cert_pem=str(cert), key_pem=str(key)),
        template_file,
    )
    dialog = open_dialog(qtbot)
    fill_required(dialog, template_file, cert, key, name="CONTOSO")
    assert not dialog.validate()
    assert dialog.problem_label.text() == (
        'There is already a profile named "CONTOSO"; choose another name.'
    )


def test_editing_and_renaming_moves_the_profile_and_its_password(
    qtbot: QtBot, tmp_path: Path, template_file: Path, memory_keyring: object
) -> None:
    pfx = make_certificate().write_pfx(tmp_path / "app.pfx", "pw")
    original = save_profile(
        Profile("Old name", CLIENT_ID, GRAPH_PRESETS["uk"], cert_pfx=str(pfx)), template_file
    )
    remember_password(original, "pw")
    dialog = open_dialog(qtbot, original)
    assert dialog.windowTitle() == "Edit profile: Old name"
    assert dialog.api_url.currentText() == GRAPH_PRESETS["uk"]
    assert dialog.certificate.info.isVisibleTo(dialog.certificate)  # opened with the kept password
    assert dialog.validate(), dialog.problem_label.text()
    dialog.name.setText("New name")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    assert [p.name for p in list_profiles()] == ["New name"]
    moved = find_profile("New name")
    assert moved.template().connection_id == "6f1c2a4e-3b7d-4e21-9a5c-0d8e7f6a1b2c"
    store = memory_keyring.store  # type: ignore[attr-defined]
    assert store == {(KEYRING_SERVICE, f"New name:{CLIENT_ID}"): "pw"}


# -- the options editor ----------------------------------------------------------------


@pytest.fixture
def editor(qtbot: QtBot, template_file: Path) -> OptionsEditor:
    from opus_desktop.core.schema import load_template

    widget = OptionsEditor()
    qtbot.addWidget(widget)
    widget.set_values(load_template(template_file), {SECURITY: {"Public": 1, "Internal": 2}}, {})
    widget.show()
    return widget


def test_options_models_pass_the_model_tester(editor: OptionsEditor, qtmodeltester: object) -> None:
    qtmodeltester.check(editor.columns_model)  # type: ignore[attr-defined]
    qtmodeltester.check(editor.options_model)  # type: ignore[attr-defined]
    names = [
        editor.columns_model.index(r).data().split("\n")[0]
        for r in range(editor.columns_model.rowCount())
    ]
    assert names == ["Classification", "Security Level", "Departments", "Storage Location"]
    assert editor.select_column(SECURITY)
    model = editor.options_model
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(2)] == [
        "Label",
        "Number",
    ]
    assert not model.setData(model.index(0, 1), "zero")
    assert not model.setData(model.index(0, 1), 0)
    assert model.setData(model.index(0, 1), "3")
    assert editor.choices() == {SECURITY: {"Public": 3, "Internal": 2}}
    model.remove_rows([0])
    assert editor.choices() == {SECURITY: {"Internal": 2}}
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_repeated_labels_are_a_problem(editor: OptionsEditor) -> None:
    editor.select_column(SECURITY)
    model = editor.options_model
    row = model.add_row()
    assert model.index(row, 1).data() == 3  # numbered after the highest
    model.setData(model.index(row, 0), " public ")
    assert editor.problems() == ['Column "Security Level" lists "public" twice.']


def test_import_options_from_an_xlsx_sheet(editor: OptionsEditor, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Options for the Contoso tenant"])
    sheet.append(["Column", "Label", "Number", "Term"])
    sheet.append(["Departments", "Finance", 1, None])
    sheet.append(["departments", "Legal", 2.0, None])
    sheet.append(["_Security_%20_Level", "Secret", "4", None])
    sheet.append(["Classification", None, None, "Records/Finance/Invoices"])
    path = tmp_path / "options.xlsx"
    book.save(path)

    summary = editor.import_sheet(path)
    assert summary == ('Imported 4 options for "Classification", "Security Level", "Departments".')
    assert editor.choices() == {
        SECURITY: {"Secret": 4},  # replaced: the sheet names this column
        DEPARTMENTS: {"Finance": 1, "Legal": 2},
    }
    assert editor.terms() == {"termFullPath": ["Records/Finance/Invoices"]}
    editor.select_column(DEPARTMENTS)
    assert editor.options_model.rowCount() == 2


def test_import_refuses_a_bad_sheet_and_changes_nothing(
    editor: OptionsEditor, tmp_path: Path
) -> None:
    path = tmp_path / "options.csv"
    path.write_text("Column,Label,Number\nDepartments,Finance,1\nColour,Red,1\n", encoding="utf-8")
    with pytest.raises(OptionsImportError) as caught:
        editor.import_sheet(path)
    assert caught.value.message == (
        'options.csv, sheet "options", row 3: the column "Colour" is not a choice or term '
        "column of the connection template."
    )
    path.write_text("Column,Label,Number\nDepartments,Finance,one\n", encoding="utf-8")
    with pytest.raises(OptionsImportError, match='row 2: the Number "one" of "Finance"'):
        editor.import_sheet(path)
    path.write_text("Name,Value\nDepartments,Finance\n", encoding="utf-8")
    with pytest.raises(OptionsImportError, match='needs a "Column" header'):
        editor.import_sheet(path)
    with pytest.raises(SheetError):
        editor.import_sheet(tmp_path / "missing.xlsx")
    assert editor.choices() == {SECURITY: {"Public": 1, "Internal": 2}}


def test_without_choice_columns_the_editor_says_so(qtbot: QtBot) -> None:
    widget = OptionsEditor()
    qtbot.addWidget(widget)
    widget.set_values(None, {}, {})
    widget.show()
    assert widget.empty_label.isVisible()
    assert not widget.table.isVisible()
    assert widget.options_model.rowCount(QModelIndex()) == 0
