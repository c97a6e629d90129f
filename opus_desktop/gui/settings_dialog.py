"""File > Settings...: the app settings, one field per declaration in opus_desktop.settings.

    dialog = SettingsDialog(window)
    dialog.saved.connect(...)            # the Settings just written
    dialog.open()

Nothing here names a setting: each section of `settings.SECTIONS` becomes a group, each
`Setting` a row whose editor follows its type (a list for choices, a number box for
numbers, a line for text), with its title as the label and its description as the tooltip.
OK checks every value, writes the file and applies the log level at once; the proxy,
timeout, concurrency and operator name apply from the next connection, run or
certificate. A value that cannot work keeps the dialog open with a sentence saying why.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from opus_desktop import logs
from opus_desktop import settings as app_settings
from opus_desktop.gui.icons import status_colour
from opus_desktop.settings import Section, Setting, SettingError, Settings

Editor = QComboBox | QSpinBox | QDoubleSpinBox | QLineEdit


def tr(text: str) -> str:
    return QCoreApplication.translate("SettingsDialog", text)


def make_editor(setting: Setting[Any]) -> Editor:
    """The field for one setting, chosen by its type."""
    editor: Editor
    if setting.choices:
        editor = QComboBox()
        for value, label in setting.choices:
            editor.addItem(tr(label), value)
    elif setting.kind is int:
        editor = QSpinBox()
        editor.setRange(int(setting.minimum or 0), int(setting.maximum or 1_000_000))
    elif setting.kind is float:
        editor = QDoubleSpinBox()
        editor.setDecimals(0 if float(setting.default).is_integer() else 1)
        editor.setRange(setting.minimum or 0.0, setting.maximum or 1e9)
    else:
        editor = QLineEdit()
        editor.setPlaceholderText(tr(setting.placeholder))
        editor.setClearButtonEnabled(True)
    if isinstance(editor, QSpinBox | QDoubleSpinBox):
        editor.setSuffix(tr(setting.suffix))
        editor.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    editor.setObjectName(setting.key)
    editor.setToolTip(tr(setting.description))
    editor.setWhatsThis(tr(setting.description))
    return editor


def editor_value(editor: Editor) -> object:
    if isinstance(editor, QComboBox):
        value: object = editor.currentData()
        return value
    if isinstance(editor, QSpinBox | QDoubleSpinBox):
        return editor.value()
    return editor.text()


def show_value(editor: Editor, value: object) -> None:
    if isinstance(editor, QComboBox):
        editor.setCurrentIndex(max(editor.findData(value), 0))
    elif isinstance(editor, QSpinBox):
        editor.setValue(int(value))  # type: ignore[call-overload]
    elif isinstance(editor, QDoubleSpinBox):
        editor.setValue(float(value))  # type: ignore[arg-type]
    else:
        editor.setText(str(value))


def changed_signal(editor: Editor) -> Any:
    if isinstance(editor, QComboBox):
        return editor.currentIndexChanged
    if isinstance(editor, QSpinBox | QDoubleSpinBox):
        return editor.valueChanged
    return editor.textChanged


class SettingsDialog(QDialog):
    """The settings, built from their declarations; OK saves them to `path`."""

    saved = Signal(object)  # the Settings written

    def __init__(
        self,
        parent: QWidget | None = None,
        path: Path | None = None,
        declarations: Sequence[Setting[Any]] = app_settings.SETTINGS,
        sections: Sequence[Section] = app_settings.SECTIONS,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Settings"))
        self.setObjectName("settings-dialog")
        self.path = path
        self.declarations = tuple(declarations)
        self.editors: dict[str, Editor] = {}
        self.labels: dict[str, QLabel] = {}

        layout = QVBoxLayout(self)
        for section in sections:
            members = [s for s in self.declarations if s.section == section.key]
            if members:
                layout.addWidget(self._group(section, members))

        self.problem = QLabel()
        self.problem.setObjectName("settings-problem")
        self.problem.setWordWrap(True)
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.problem.setVisible(False)
        layout.addWidget(self.problem)

        buttons = QDialogButtonBox.StandardButton
        self.buttons = QDialogButtonBox(buttons.Ok | buttons.Cancel | buttons.RestoreDefaults)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.clicked.connect(self._clicked)
        layout.addWidget(self.buttons)

        for setting in self.declarations:
            changed_signal(self.editors[setting.key]).connect(self._refresh)
        self.show_settings(app_settings.load(path))
        self.setMinimumWidth(520)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # Tab goes through the buttons as laid out: the style may put Restore Defaults
        # at the left though the box adds it last.
        shown = sorted(self.buttons.buttons(), key=lambda button: button.x())
        for before, after in pairwise(shown):
            QWidget.setTabOrder(before, after)

    def _group(self, section: Section, members: list[Setting[Any]]) -> QGroupBox:
        box = QGroupBox(tr(section.title))
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        if section.note:
            note = QLabel(tr(section.note))
            note.setWordWrap(True)
            note.setTextFormat(Qt.TextFormat.PlainText)
            form.addRow(note)
        for setting in members:
            editor = make_editor(setting)
            label = QLabel(tr(setting.title) + ":")
            label.setBuddy(editor)
            form.addRow(label, editor)
            self.editors[setting.key] = editor
            self.labels[setting.key] = label
        return box

    # -- values -----------------------------------------------------------------------------

    def show_settings(self, values: Settings) -> None:
        for setting in self.declarations:
            show_value(self.editors[setting.key], values.get(setting))
        self._refresh()

    def settings(self) -> Settings:
        """The values in the fields; SettingError names the first one that cannot work."""
        values = Settings()
        for setting in self.declarations:
            editor = self.editors[setting.key]
            try:
                values.set(setting, editor_value(editor))
            except SettingError:
                if editor.isEnabled():
                    raise
                # A field greyed out never blocks saving: it keeps its default instead.
        values.check()
        return values

    @Slot()
    def _refresh(self) -> None:
        for setting in self.declarations:
            if setting.enabled_by is None:
                continue
            key, wanted = setting.enabled_by
            controller = self.editors.get(key)
            enabled = controller is None or editor_value(controller) == wanted
            self.editors[setting.key].setEnabled(enabled)
            self.labels[setting.key].setEnabled(enabled)
        self.problem.setVisible(False)

    @Slot(QAbstractButton)
    def _clicked(self, button: QAbstractButton) -> None:
        role = self.buttons.buttonRole(button)
        if role == QDialogButtonBox.ButtonRole.ResetRole:
            self.show_settings(Settings())

    def _show_problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.setStyleSheet(f"color: {status_colour('failed', self.palette()).name()};")
        self.problem.setVisible(True)

    def accept(self) -> None:
        try:
            values = self.settings()
            app_settings.save(values, self.path)
        except SettingError as exc:
            self._show_problem(exc.message)
            return
        except OSError as exc:
            where = self.path or app_settings.settings_path()
            self._show_problem(
                tr("The settings could not be saved to {path}: {why}.").format(
                    path=where, why=exc.strerror or exc
                )
            )
            return
        logs.set_level(values.log_level())
        self.saved.emit(values)
        super().accept()
