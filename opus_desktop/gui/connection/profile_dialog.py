"""Add or edit a profile: every setting of DESIGN §1 and §2, checked as it is typed.

Four pages: Connection (name, protocol, addresses, client id, TLS), Certificate, Records
(template, date format, separator, time zone, conflict option, concurrency) and Choice
options. The first problem found is shown under the pages and OK stays disabled until
there is none. OK saves through usecases.profile_checks.add_profile, which checks the
certificate as `profile add` does; `saved_profile` is the result.
"""

from __future__ import annotations

import dataclasses
import re
import zoneinfo
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from opus_desktop.core.datetimes import all_formats
from opus_desktop.core.errors import CoreError
from opus_desktop.core.schema import Template, load_template
from opus_desktop.errors import AppError
from opus_desktop.gui.connection.certificate_page import CertificatePage, FileField
from opus_desktop.gui.connection.options_editor import OptionsEditor
from opus_desktop.gui.editor.words import count
from opus_desktop.gui.icons import status_colour
from opus_desktop.presets import GRAPH_PRESETS, IDENTITY_PRESETS
from opus_desktop.profiles import (
    Profile,
    ProfileError,
    list_profiles,
    remember_password,
    remove_profile,
    slug,
)
from opus_desktop.settings import default_concurrency
from opus_desktop.usecases.profile_checks import add_profile

COMMON_TIME_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Zurich",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Singapore",
    "Asia/Dubai",
    "Asia/Qatar",
    "Africa/Johannesburg",
    "Australia/Sydney",
    "Australia/Melbourne",
    "Australia/Brisbane",
    "Australia/Adelaide",
    "Australia/Perth",
    "Pacific/Auckland",
)


def tr(text: str) -> str:
    return QCoreApplication.translate("ProfileDialog", text)


class ProfileDialog(QDialog):
    """`profile=None` adds a profile; otherwise edits that one (renaming moves it)."""

    def __init__(self, profile: Profile | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.original = profile
        self.saved_profile: Profile | None = None
        self._template: Template | None = None
        self._template_error: str | None = None
        self._template_path: Path | None = None  # a newly chosen template file
        self.setWindowTitle(
            tr("Add a profile")
            if profile is None
            else tr("Edit profile: {name}").format(name=profile.name)
        )
        self.resize(700, 560)

        self.pages = QTabWidget()
        self.pages.addTab(self._connection_page(), tr("Connection"))
        self.certificate = CertificatePage()
        self.pages.addTab(self.certificate, tr("Certificate"))
        self.pages.addTab(self._records_page(), tr("Records"))
        self.options = OptionsEditor()
        self.pages.addTab(self.options, tr("Choice options"))

        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setTextFormat(Qt.TextFormat.PlainText)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(tr("Save"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.buttons)

        self._load(profile or Profile(name="", concurrency=default_concurrency()))
        for signal in (
            self.name.textChanged,
            self.protocol.currentIndexChanged,
            self.api_url.currentTextChanged,
            self.identity_url.currentTextChanged,
            self.client_id.textChanged,
            self.destroy_path.textChanged,
            self.proxy.textChanged,
            self.verify_tls.toggled,
            self.date_format.currentIndexChanged,
            self.term_separator.textChanged,
            self.time_zone.currentTextChanged,
            self.conflict_option.currentIndexChanged,
            self.concurrency.valueChanged,
            self.certificate.changed,
            self.options.changed,
        ):
            signal.connect(self.validate)
        self.protocol.currentIndexChanged.connect(self._protocol_changed)
        self.verify_tls.toggled.connect(self._tls_changed)
        self.template_field.changed.connect(self._template_chosen)
        for label in (self.api_hint, self.tls_warning, self.template_summary):
            # A wrapped label in a form row keeps a narrow guess of its width otherwise.
            label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._protocol_changed()
        self._tls_changed()
        self.validate()

    # -- pages ----------------------------------------------------------------------------

    def _connection_page(self) -> QWidget:
        page = QWidget()
        self.name = QLineEdit()
        self.name.setPlaceholderText(tr("e.g. Contoso production"))
        self.protocol = QComboBox()
        self.protocol.addItem(tr("Graph API (current)"), "graph")
        self.protocol.addItem(tr("Legacy API for Connector"), "legacy")
        self.api_url = QComboBox()
        self.api_url.setEditable(True)
        self.api_url.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.api_hint = QLabel()
        self.api_hint.setWordWrap(True)
        self.identity_url = QComboBox()
        self.identity_url.setEditable(True)
        self.identity_url.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for name, url in IDENTITY_PRESETS.items():
            self.identity_url.addItem(url)
            self.identity_url.setItemData(
                self.identity_url.count() - 1, name, Qt.ItemDataRole.ToolTipRole
            )
        for combo in (self.api_url, self.identity_url):
            combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.client_id = QLineEdit()
        self.client_id.setPlaceholderText(tr("From AvePoint Online Services > App registrations"))
        self.destroy_path = QLineEdit()
        self.destroy_path.setPlaceholderText(tr("From the tenant's API page (no default)"))
        self.destroy_path.setToolTip(
            tr(
                "The path of the legacy call that marks records destroyed. No public "
                "document names it: copy it from your tenant's API page. Without it, "
                "submitting works and destroying does not."
            )
        )
        self.proxy = QLineEdit()
        self.proxy.setPlaceholderText(tr("None: the proxy in File > Settings applies"))
        self.proxy.setToolTip(
            tr("Only if your network needs one, e.g. http://proxy.contoso.com:8080")
        )
        self.verify_tls = QCheckBox(tr("Check the service's TLS certificate (recommended)"))
        self.tls_warning = QLabel(
            tr(
                "Without this check, anyone between this computer and Opus could read the "
                "records and take over the sign-in. Turn it off only for a test server."
            )
        )
        self.tls_warning.setWordWrap(True)
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow(tr("Name:"), self.name)
        form.addRow(tr("API:"), self.protocol)
        form.addRow(tr("API address:"), self.api_url)
        form.addRow("", self.api_hint)
        form.addRow(tr("Identity service:"), self.identity_url)
        form.addRow(tr("Client id:"), self.client_id)
        form.addRow(tr("Destroy call path:"), self.destroy_path)
        form.addRow(tr("Proxy:"), self.proxy)
        form.addRow("", self.verify_tls)
        form.addRow("", self.tls_warning)
        return page

    def _records_page(self) -> QWidget:
        page = QWidget()
        self.template_field = FileField(
            tr("Choose the connection template"), tr("Connection templates (*.json);;All files (*)")
        )
        self.template_field.edit.setPlaceholderText(
            tr("The .json file from Opus: Settings > Connector")
        )
        self.template_summary = QLabel()
        self.template_summary.setWordWrap(True)
        self.date_format = QComboBox()
        for pattern in all_formats():
            self.date_format.addItem(pattern, pattern)
        self.term_separator = QLineEdit()
        self.term_separator.setMaxLength(3)
        self.term_separator.setMaximumWidth(60)
        self.time_zone = QComboBox()
        self.time_zone.setEditable(True)
        self.time_zone.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.time_zone.setMinimumContentsLength(32)
        self.time_zone.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.time_zone.addItem("")
        self.time_zone.addItems(list(COMMON_TIME_ZONES))
        line_edit = self.time_zone.lineEdit()
        if line_edit is not None:
            line_edit.setPlaceholderText(tr("None: times are sent as written in the sheet"))
        self.conflict_option = QComboBox()
        self.conflict_option.addItem(tr("Overwrite the record already in Opus"), "Overwrite")
        self.conflict_option.addItem(tr("Skip the record already in Opus"), "Skip")
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, 32)
        self.concurrency.setSuffix(tr(" calls at a time"))
        self.require_created_by = QCheckBox(
            tr("Created by and Modified by are required (Graph API)")
        )
        self.require_created_by.setToolTip(
            tr(
                "The Graph API documents both as required. Without this, a record that "
                "leaves them empty is warned about; with it, it is not sent."
            )
        )
        self.refuse_modified_first = QCheckBox(
            tr("Do not send a record whose Modified time is earlier than its Created time")
        )
        self.refuse_modified_first.setToolTip(
            tr(
                "Opus stores both times as given. Without this, such a record is warned "
                "about and sent; with it, it is a problem and is not sent."
            )
        )
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow(tr("Connection template:"), self.template_field)
        form.addRow("", self.template_summary)
        form.addRow(tr("Date format:"), self.date_format)
        form.addRow(tr("Term separator:"), self.term_separator)
        form.addRow(tr("Sheet time zone:"), self.time_zone)
        form.addRow(tr("When a record exists:"), self.conflict_option)
        form.addRow(tr("Concurrency:"), self.concurrency)
        form.addRow("", self.require_created_by)
        form.addRow("", self.refuse_modified_first)
        return page

    # -- loading and reading the fields ---------------------------------------------------

    def _load(self, profile: Profile) -> None:
        self.name.setText(profile.name)
        self.protocol.setCurrentIndex(max(self.protocol.findData(profile.protocol), 0))
        self._fill_api_presets()
        self.api_url.setEditText(profile.api_url)
        self.identity_url.setEditText(profile.identity_url)
        self.client_id.setText(profile.client_id)
        self.destroy_path.setText(profile.destroy_path)
        self.proxy.setText(profile.proxy or "")
        self.verify_tls.setChecked(profile.verify_tls)
        self.date_format.setCurrentIndex(max(self.date_format.findData(profile.date_format), 0))
        self.term_separator.setText(profile.term_separator)
        self.time_zone.setEditText(profile.time_zone or "")
        self.conflict_option.setCurrentIndex(
            max(self.conflict_option.findData(profile.conflict_option), 0)
        )
        self.concurrency.setValue(profile.concurrency)
        self.require_created_by.setChecked(profile.require_created_by)
        self.refuse_modified_first.setChecked(profile.refuse_modified_before_created)
        if self.original is not None:
            self.certificate.load(profile)
            self._read_template(profile.template_path)
            self.template_field.edit.setPlaceholderText(
                tr("Keep the current template ({path})").format(path=profile.template_path.name)
            )
        self.options.set_values(self._template, profile.choices, profile.terms)

    def profile(self) -> Profile:
        """The profile as the fields describe it (not checked)."""
        base = self.original or Profile(name="")
        profile = dataclasses.replace(
            base,
            name=self.name.text().strip(),
            protocol=str(self.protocol.currentData()),
            api_url=self.api_url.currentText().strip().rstrip("/"),
            identity_url=self.identity_url.currentText().strip().rstrip("/"),
            client_id=self.client_id.text().strip(),
            destroy_path=self.destroy_path.text().strip().strip("/"),
            proxy=self.proxy.text().strip() or None,
            verify_tls=self.verify_tls.isChecked(),
            date_format=str(self.date_format.currentData()),
            term_separator=self.term_separator.text(),
            time_zone=self.time_zone.currentText().strip() or None,
            conflict_option=str(self.conflict_option.currentData()),
            concurrency=self.concurrency.value(),
            require_created_by=self.require_created_by.isChecked(),
            refuse_modified_before_created=self.refuse_modified_first.isChecked(),
            choices=self.options.choices(),
            terms=self.options.terms(),
        )
        self.certificate.apply(profile)
        return profile

    # -- checking -----------------------------------------------------------------------

    def problem(self) -> str | None:
        """The first reason the profile cannot be saved, as a sentence; None when it can."""
        profile = self.profile()
        try:
            profile.check()
        except ProfileError as exc:
            return exc.message
        renamed = self.original is None or slug(self.original.name) != slug(profile.name)
        if renamed and any(slug(p.name) == slug(profile.name) for p in list_profiles()):
            return tr('There is already a profile named "{name}"; choose another name.').format(
                name=profile.name
            )
        if self._template_error is not None:
            return self._template_error
        if self._template is None:
            return tr(
                "Choose the connection template: the .json file downloaded from Opus "
                "(Settings > Connector)."
            )
        certificate = self.certificate.problem()
        if certificate is not None:
            return certificate
        if not profile.term_separator.strip():
            return tr("The term separator cannot be empty; Opus uses / unless told otherwise.")
        if profile.time_zone is not None:
            try:
                zoneinfo.ZoneInfo(profile.time_zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                return tr(
                    'The time zone "{zone}" is not known; use a name such as Europe/London, '
                    "or leave it empty."
                ).format(zone=profile.time_zone)
        if profile.proxy is not None and not re.match(r"^(https?|socks5)://[^\s/]+", profile.proxy):
            return tr(
                'The proxy address "{proxy}" is not a web address (http://host:port).'
            ).format(proxy=profile.proxy)
        options = self.options.problems()
        return options[0] if options else None

    @Slot()
    def validate(self) -> bool:
        problem = self.problem()
        self.ok_button.setEnabled(problem is None)
        if problem is None:
            self.problem_label.setText("")
            self.problem_label.setStyleSheet("")
        else:
            colour = status_colour("failed", self.palette()).name()
            self.problem_label.setStyleSheet(f"color: {colour};")
            self.problem_label.setText(problem)
        return problem is None

    # -- reactions ------------------------------------------------------------------------

    def _fill_api_presets(self) -> None:
        text = self.api_url.currentText()
        self.api_url.blockSignals(True)
        self.api_url.clear()
        if self.protocol.currentData() == "graph":
            for name, url in GRAPH_PRESETS.items():
                self.api_url.addItem(url)
                self.api_url.setItemData(
                    self.api_url.count() - 1,
                    tr("Data centre: {name}").format(name=name),
                    Qt.ItemDataRole.ToolTipRole,
                )
        self.api_url.setEditText(text)
        self.api_url.blockSignals(False)

    @Slot()
    def _protocol_changed(self) -> None:
        legacy = self.protocol.currentData() == "legacy"
        self._fill_api_presets()
        self.destroy_path.setEnabled(legacy)
        self.require_created_by.setEnabled(not legacy)
        self.api_hint.setText(
            tr("The legacy API's address is given by AvePoint for your data centre.")
            if legacy
            else tr("Choose your data centre's address from the list, or type it.")
        )

    @Slot()
    def _tls_changed(self) -> None:
        off = not self.verify_tls.isChecked()
        self.tls_warning.setVisible(off)
        if off:
            colour = status_colour("warning", self.palette()).name()
            self.tls_warning.setStyleSheet(f"color: {colour};")

    @Slot()
    def _template_chosen(self) -> None:
        text = self.template_field.path()
        if text:
            self._template_path = Path(text)
            self._read_template(self._template_path)
        else:
            self._template_path = None
            if self.original is not None:
                self._read_template(self.original.template_path)
            else:
                self._template, self._template_error = None, None
                self.template_summary.setText("")
        self.options.set_values(self._template, self.options.choices(), self.options.terms())
        self.validate()

    def _read_template(self, path: Path) -> None:
        try:
            self._template = load_template(path)
            self._template_error = None
        except CoreError as exc:
            self._template, self._template_error = None, exc.message
            self.template_summary.setText(exc.message)
            return
        self.template_summary.setText(
            tr("{columns}, connection {id}").format(
                columns=count(len(self._template), tr("1 column"), tr("{0} columns")),
                id=self._template.connection_id,
            )
        )

    # -- saving -----------------------------------------------------------------------------

    def accept(self) -> None:
        if not self.validate():
            return
        from opus_desktop.gui.errors import show_error

        profile = self.profile()
        try:
            self.saved_profile = self._save(profile)
        except AppError as exc:
            show_error(self, exc)
            return
        super().accept()

    def _save(self, profile: Profile) -> Profile:
        original = self.original
        template: Path | bytes | None = self._template_path
        moved = original is not None and slug(original.name) != slug(profile.name)
        if template is None and moved and original is not None:
            template = original.template_path.read_bytes()
        saved, _said = add_profile(
            profile,
            template,
            password=self.certificate.password_to_try(),
            force=self.certificate.forced,
            in_window=True,
        )
        if moved and original is not None:
            remove_profile(original.name)
        password = self.certificate.entered_password()
        if password is None and moved:
            # The old name's keyring entry went with it; keep the password under the new one.
            password = self.certificate.known_password
        if password is not None:
            remember_password(saved, password, keep=self.certificate.keep_password.isChecked())
        return saved
