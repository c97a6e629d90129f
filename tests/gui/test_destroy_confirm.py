"""The confirmation before marking records destroyed: what it shows, and that it refuses
an empty justification and a wrongly typed count."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from opus_desktop.gui.disposal.confirm_dialog import ConfirmDialog, typed_number
from opus_desktop.jobs.due import DisposalItem, summarise

CLASSES = ["Records/Finance/Invoices"] * 3 + ["Records/Legal/Contracts"] * 2 + [""]
DUES = [
    "3-14-2019 09:00:00",
    "12-1-2018 09:00:00",
    "1-2-2021 17:30:00",
    "6-30-2020 00:00:00",
    "11-5-2019 12:00:00",
    "",
]


def items() -> list[DisposalItem]:
    return [
        DisposalItem(f"REC-{n}", f"File {n}", c, d)
        for n, (c, d) in enumerate(zip(CLASSES, DUES, strict=True))
    ]


def make_dialog(qtbot: QtBot, operator: str = "Jane Officer") -> ConfirmDialog:
    chosen = items()
    dialog = ConfirmDialog(
        chosen,
        summarise(chosen, "M-d-yyyy HH:mm:ss"),
        operator_name=operator,
        certificate_folder=Path("/data/certificates"),
    )
    qtbot.addWidget(dialog)
    dialog.open()
    return dialog


def test_it_shows_the_count_the_classifications_and_the_due_dates(qtbot: QtBot) -> None:
    dialog = make_dialog(qtbot)
    assert dialog.count_label.text() == "6"
    # Read as dates in the profile's format: 12-1-2018 is the earliest, not "1-2-2021".
    assert dialog.due_label.text() == "from 12-1-2018 09:00:00 to 1-2-2021 17:30:00"
    classes = dialog.classes_label.text()
    assert classes.index("Records/Finance/Invoices") < classes.index("Records/Legal/Contracts")
    assert ">3<" in classes and ">2<" in classes and "(no classification)" in classes
    assert dialog.operator_name() == "Jane Officer"
    assert dialog.ok_button.text() == "Mark 6 records destroyed"
    assert "data/certificates" in dialog.certificate_label.text()


def test_an_empty_justification_is_refused(qtbot: QtBot) -> None:
    dialog = make_dialog(qtbot)
    dialog.typed_edit.setText("6")
    assert not dialog.ok_button.isEnabled()
    assert dialog.hint.text().startswith("Write the justification")
    dialog.justification_edit.setPlainText("   \n\t ")
    assert not dialog.ok_button.isEnabled()
    dialog.accept()  # Enter in a field, say: the checks still hold
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted

    dialog.justification_edit.setPlainText("  Retention over under schedule 4.2 (ref. RM-118)\n")
    assert dialog.ok_button.isEnabled()
    assert dialog.justification() == "Retention over under schedule 4.2 (ref. RM-118)"
    with qtbot.waitSignal(dialog.accepted):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()


def test_a_wrong_typed_count_is_refused(qtbot: QtBot) -> None:
    dialog = make_dialog(qtbot)
    dialog.justification_edit.setPlainText("Schedule 4.2")
    for wrong in ("", "5", "60", "six", "6 records", "-6"):
        dialog.typed_edit.setText(wrong)
        assert not dialog.ok_button.isEnabled(), wrong
        assert dialog.hint.text() == "Type the number of records, 6, to confirm."
        assert dialog.ok_button.toolTip() == dialog.hint.text()
        qtbot.keyClick(dialog.typed_edit, Qt.Key.Key_Return)
        assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    dialog.typed_edit.clear()
    qtbot.keyClicks(dialog.typed_edit, "6")
    assert dialog.ok_button.isEnabled()
    assert dialog.problem() is None
    with qtbot.waitSignal(dialog.accepted):
        qtbot.keyClick(dialog.typed_edit, Qt.Key.Key_Return)


def test_thousands_may_be_typed_with_separators() -> None:
    assert typed_number("1,250") == "1250"
    assert typed_number(" 1 250 ") == "1250"
    assert typed_number("1250") == "1250"
    assert typed_number("12,50,0") == "12500"  # only digits count, as the number shown


def test_the_certificate_can_go_elsewhere(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, operator="")
    assert dialog.certificate() is None
    dialog.choose_certificate(tmp_path / "for the auditors")
    assert dialog.certificate() == tmp_path / "for the auditors.pdf"
    assert str(tmp_path / "for the auditors.pdf") in dialog.certificate_label.text()
    assert dialog.operator_name() == ""
    assert dialog.operator_edit.placeholderText().startswith("Your name")
