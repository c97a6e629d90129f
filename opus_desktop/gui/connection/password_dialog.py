"""Ask for a certificate password, with the choice of keeping it in the system keyring."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from opus_desktop.profiles import Profile, offer_password


def tr(text: str) -> str:
    return QCoreApplication.translate("PasswordDialog", text)


class PasswordDialog(QDialog):
    def __init__(self, profile: Profile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.setWindowTitle(tr("Certificate password"))
        certificate = profile.cert_pfx or profile.key_pem or ""
        label = QLabel(
            tr(
                'The certificate of the profile "{name}" ({file}) is protected by a password.'
            ).format(name=profile.name, file=certificate.replace("\\", "/").rsplit("/", 1)[-1])
        )
        label.setWordWrap(True)
        self.password = QLineEdit()
        self.password.setAccessibleName(tr("Password"))
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(tr("Password"))
        self.keep = QCheckBox(tr("Remember it in the system keyring"))
        self.keep.setChecked(True)
        self.keep.setToolTip(tr("Otherwise it is kept only until Opus Desktop closes."))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.password)
        layout.addWidget(self.keep)
        layout.addWidget(buttons)
        self.setMinimumWidth(380)
        self.password.setFocus(Qt.FocusReason.OtherFocusReason)

    def accept(self) -> None:
        # Kept only once it opens the certificate, in the worker that tries it.
        offer_password(self.profile, self.password.text(), keep=self.keep.isChecked())
        super().accept()

    def entered(self) -> str:
        return self.password.text()
