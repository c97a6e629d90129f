"""The certificate part of the profile dialog: a .pfx or a PEM pair, its password, and
what the certificate says about itself (subject, thumbprint, expiry).

The files are read when they or the password change (after a short pause in typing),
with the check `profile add` makes (usecases.profile_checks), so a key that does not match
the certificate, a wrong password, an unset password variable or a certificate not valid
now is reported here, before the profile is saved; "Save even so" lets it be saved anyway,
as --force does.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from opus_desktop.opus.credentials import Credential
from opus_desktop.profiles import Profile
from opus_desktop.usecases.connection import remembered_password
from opus_desktop.usecases.profile_checks import CertificateCheck, check_certificate

_DEBOUNCE_MS = 300


def tr(text: str) -> str:
    return QCoreApplication.translate("CertificatePage", text)


class FileField(QWidget):
    """A path line edit and a Browse... button."""

    changed = Signal()

    def __init__(
        self, title: str, filters: str, parent: QWidget | None = None, name: str = ""
    ) -> None:
        super().__init__(parent)
        self._title = title
        self._filters = filters
        self.edit = QLineEdit()
        self.edit.setAccessibleName(name or title)  # what a screen reader calls the field
        self.edit.setClearButtonEnabled(True)
        self.button = QPushButton(tr("Browse..."))
        self.button.setAccessibleName(title)
        self.button.clicked.connect(self._browse)
        self.edit.textChanged.connect(self.changed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.button)

    def path(self) -> str:
        return self.edit.text().strip()

    def set_path(self, path: str | None) -> None:
        self.edit.setText(path or "")

    @Slot()
    def _browse(self) -> None:
        start = str(Path(self.path()).parent) if self.path() else ""
        chosen, _ = QFileDialog.getOpenFileName(self, self._title, start, self._filters)
        if chosen:
            self.edit.setText(chosen)


class CertificatePage(QWidget):
    """Emits `changed` when the files or password change and the certificate was re-read."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._check = CertificateCheck(None)
        self._error: str | None = None  # no certificate chosen yet
        self._known_password: str | None = None

        self.use_pfx = QRadioButton(tr("A .pfx file (certificate and key together)"))
        self.use_pem = QRadioButton(tr("A PEM certificate and a PEM private key"))
        group = QButtonGroup(self)
        group.addButton(self.use_pfx)
        group.addButton(self.use_pem)
        self.use_pfx.setChecked(True)

        self.pfx = FileField(
            tr("Choose the .pfx file"),
            tr("Certificates (*.pfx *.p12);;All files (*)"),
            name=tr(".pfx file"),
        )
        self.cert_pem = FileField(
            tr("Choose the PEM certificate"),
            tr("Certificates (*.pem *.crt *.cer);;All files (*)"),
            name=tr("PEM certificate"),
        )
        self.key_pem = FileField(
            tr("Choose the PEM private key"),
            tr("Private keys (*.pem *.key);;All files (*)"),
            name=tr("PEM private key"),
        )
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(tr("Only if the .pfx or the key is protected"))
        self.keep_password = QCheckBox(tr("Remember the password in the system keyring"))
        self.keep_password.setChecked(True)
        self.password_env = QLineEdit()
        self.password_env.setPlaceholderText(tr("Optional, e.g. OPUS_PFX_PASSWORD"))
        self.password_env.setToolTip(
            tr(
                "The name of an environment variable that holds the password, for scripts. "
                "The profile keeps the name, never the password."
            )
        )

        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setObjectName("warning")
        self.force = QCheckBox(tr("Save even so (for example before the certificate's start date)"))
        self.force.setVisible(False)
        self.force.toggled.connect(self.changed)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow(self.use_pfx)
        form.addRow(tr(".pfx file:"), self.pfx)
        form.addRow(self.use_pem)
        form.addRow(tr("Certificate:"), self.cert_pem)
        form.addRow(tr("Private key:"), self.key_pem)
        form.addRow(tr("Password:"), self.password)
        form.addRow("", self.keep_password)
        form.addRow(tr("Password variable:"), self.password_env)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addSpacing(6)
        layout.addWidget(self.info)
        layout.addWidget(self.warning)
        layout.addWidget(self.force)
        layout.addStretch(1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(_DEBOUNCE_MS)
        self._timer.timeout.connect(self.reload)
        for field in (self.pfx, self.cert_pem, self.key_pem):
            field.changed.connect(self._timer.start)
        self.password.textChanged.connect(self._timer.start)
        self.password_env.textChanged.connect(self._timer.start)
        self.use_pfx.toggled.connect(self._kind_changed)
        self._kind_changed()

    # -- values -----------------------------------------------------------------------

    def load(self, profile: Profile) -> None:
        """Show the profile's certificate settings (the password stays hidden)."""
        self.use_pem.setChecked(bool(profile.cert_pem) and not profile.cert_pfx)
        self.use_pfx.setChecked(not self.use_pem.isChecked())
        self.pfx.set_path(profile.cert_pfx)
        self.cert_pem.set_path(profile.cert_pem)
        self.key_pem.set_path(profile.key_pem)
        self.password_env.setText(profile.cert_password_env or "")
        self._known_password = remembered_password(profile) if profile.folder.exists() else None
        if self._known_password is not None:
            self.password.setPlaceholderText(tr("Known: kept in the keyring or for this session"))
        self.reload()

    def apply(self, profile: Profile) -> None:
        """Write the certificate settings into `profile`."""
        if self.use_pfx.isChecked():
            profile.cert_pfx, profile.cert_pem, profile.key_pem = (
                self.pfx.path() or None,
                None,
                None,
            )
        else:
            profile.cert_pfx = None
            profile.cert_pem = self.cert_pem.path() or None
            profile.key_pem = self.key_pem.path() or None
        profile.cert_password_env = self.password_env.text().strip() or None

    @property
    def known_password(self) -> str | None:
        """The password already kept for the profile being edited (keyring or memory)."""
        return self._known_password

    def entered_password(self) -> str | None:
        return self.password.text() or None

    @property
    def credential(self) -> Credential | None:
        return self._check.credential

    @property
    def forced(self) -> bool:
        """Whether the profile is to be saved although the check found a problem."""
        return self.force.isChecked() and self._check.problem is not None

    def problem(self) -> str | None:
        """Why the certificate cannot be used, or None (also when "Save even so" is on)."""
        if self._timer.isActive():
            self.reload()
        if self._error is not None:
            return self._error
        return None if self.forced else self._check.problem

    # -- reading ------------------------------------------------------------------------

    def password_to_try(self) -> str | None:
        """The password typed in, else the one kept for the profile; the variable the
        profile names is read by the check itself."""
        return self.password.text() or self._known_password

    @Slot()
    def reload(self) -> None:
        self._timer.stop()
        self._check, self._error = CertificateCheck(None), None
        profile = Profile(name="")
        self.apply(profile)
        if not profile.cert_pfx and not profile.cert_pem:
            self._error = tr(
                "Choose the app's certificate: a .pfx file, or a PEM certificate and key."
            )
        else:
            self._check = check_certificate(profile, self.password_to_try(), in_window=True)
        self._show()
        self.changed.emit()

    def _show(self) -> None:
        from opus_desktop.gui.icons import status_colour

        check = self._check
        credential = check.credential
        self.warning.setText("")
        self.warning.setVisible(False)
        self.force.setVisible(check.problem is not None)
        said = [("failed", check.problem)] if check.problem and credential else []
        said += [("warning", sentence) for sentence in check.warnings]
        if said:
            self.warning.setText(
                "<br>".join(
                    f'<span style="color:{status_colour(status, self.palette()).name()}">'
                    f"⚠ {_escape(sentence)}</span>"
                    for status, sentence in said
                )
            )
            self.warning.setVisible(True)
        if credential is None:
            self.info.setText("")
            self.info.setVisible(False)
            return
        day = credential.not_after.astimezone().strftime("%d %B %Y")
        self.info.setText(
            "<table cellspacing=2>"
            f"<tr><td>{tr('Subject:')}&nbsp;</td><td><b>{_escape(credential.subject)}</b></td></tr>"
            f"<tr><td>{tr('Thumbprint:')}&nbsp;</td><td><tt>{credential.thumbprint}</tt></td></tr>"
            f"<tr><td>{tr('Expires:')}&nbsp;</td><td>{day}</td></tr>"
            "</table>"
        )
        self.info.setVisible(True)

    @Slot()
    def _kind_changed(self) -> None:
        pfx = self.use_pfx.isChecked()
        self.pfx.setEnabled(pfx)
        self.cert_pem.setEnabled(not pfx)
        self.key_pem.setEnabled(not pfx)
        self._timer.start()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
