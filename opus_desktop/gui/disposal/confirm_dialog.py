"""The confirmation before records are marked destroyed: what goes, why, who, and the
number typed to confirm.

    dialog = ConfirmDialog(items, summarise(items, profile.date_format), operator_name())
    dialog.accepted.connect(lambda: start(dialog.justification(), dialog.operator_name(), ...))
    dialog.open()

It shows the count, the counts by classification and the earliest and latest due date;
asks for a justification (required: it goes into the audit log and onto the
certificate), the operator's name (prefilled from the settings), the organisation for
the certificate, and where the certificate goes. The OK button stays disabled, with the
reason beside it, until there is a justification and the number typed matches.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpacerItem,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from opus_desktop.gui.editor.words import count
from opus_desktop.gui.icons import status_colour
from opus_desktop.jobs.due import DisposalItem, SelectionSummary

CLASSES_SHOWN = 8
MAX_JUSTIFICATION = 2000


def tr(text: str) -> str:
    return QCoreApplication.translate("ConfirmDialog", text)


def typed_number(text: str) -> str:
    """What was typed, as digits: "1,250" and " 1 250 " read as "1250"."""
    return "".join(text.split()).replace(",", "").replace(".", "").replace("'", "")


class ConfirmDialog(QDialog):
    def __init__(
        self,
        items: list[DisposalItem],
        summary: SelectionSummary,
        operator_name: str = "",
        organisation: str = "",
        certificate_folder: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("confirm-destroy")
        self.items = items
        self.summary = summary
        self.certificate_folder = certificate_folder
        self._certificate: Path | None = None
        self.setWindowTitle(tr("Mark records destroyed"))
        self.setMinimumWidth(560)

        records = count(summary.count, tr("1 record"), tr("{0} records"))
        icon = QLabel()
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_MessageBoxIconSize)
        icon.setPixmap(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size)
        )
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        heading = QLabel(tr("Mark {records} destroyed in Opus?").format(records=records))
        font = heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        heading.setFont(font)
        warning = QLabel(
            tr(
                "This cannot be undone. Do it only for records that are already destroyed in "
                "the source system and approved for disposal. Each record's answer from Opus "
                "goes into the audit log, and a certificate of destruction is written."
            )
        )
        warning.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(icon)
        intro = QVBoxLayout()
        intro.addWidget(heading)
        intro.addWidget(warning)
        top.addLayout(intro, 1)

        self.justification_edit = QPlainTextEdit()
        self.justification_edit.setObjectName("justification")
        self.justification_edit.setPlaceholderText(
            tr("Why these records go: the retention rule, the approval and its reference.")
        )
        self.justification_edit.setTabChangesFocus(True)
        line = self.justification_edit.fontMetrics().lineSpacing()
        self.justification_edit.setFixedHeight(line * 4 + 14)
        self.operator_edit = QLineEdit(operator_name)
        self.operator_edit.setPlaceholderText(tr("Your name, e.g. Jane Smith"))
        self.operator_edit.setToolTip(
            tr("Kept in the audit log and printed on the certificate, beside your account name.")
        )
        self.organisation_edit = QLineEdit(organisation)
        self.organisation_edit.setPlaceholderText(tr("Optional: printed on the certificate"))
        self.certificate_label = QLabel()
        self.certificate_label.setWordWrap(True)
        self.certificate_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.certificate_button = QPushButton(tr("Change..."))
        self.certificate_button.setToolTip(tr("Choose where the certificate is saved"))
        self.certificate_button.setAutoDefault(False)  # Enter must never open a file dialog
        self.certificate_button.clicked.connect(lambda: self.choose_certificate())
        where = QHBoxLayout()
        where.addWidget(self.certificate_label, 1)
        where.addWidget(self.certificate_button, 0, Qt.AlignmentFlag.AlignTop)
        self.typed_edit = QLineEdit()
        self.typed_edit.setObjectName("typed-count")
        self.typed_edit.setMaximumWidth(140)
        self.typed_edit.setToolTip(tr("Type the number of records to show you checked it."))

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.count_label = QLabel(f"{summary.count:,}")
        form.addRow(tr("Records:"), self.count_label)
        if summary.earliest_due:
            span = (
                summary.earliest_due
                if summary.earliest_due == summary.latest_due
                else tr("from {first} to {last}").format(
                    first=summary.earliest_due, last=summary.latest_due
                )
            )
        else:
            span = tr("not known")
        self.due_label = QLabel(span)
        form.addRow(tr("Due dates:"), self.due_label)
        self.classes_label = QLabel(_classes_html(summary))
        self.classes_label.setTextFormat(Qt.TextFormat.RichText)
        form.addRow(tr("By classification:"), self.classes_label)
        form.addItem(QSpacerItem(0, 6))
        form.addRow(tr("&Justification:"), self.justification_edit)
        form.addRow(tr("&Operator:"), self.operator_edit)
        form.addRow(tr("Or&ganisation:"), self.organisation_edit)
        form.addRow(tr("Certificate:"), where)
        form.addRow(
            tr("&Type {count} to confirm:").format(count=f"{summary.count:,}"), self.typed_edit
        )

        self.hint = QLabel()
        self.hint.setObjectName("confirm-hint")
        self.hint.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.ok_button = self.buttons.addButton(
            tr("Mark {records} destroyed").format(records=records),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        # Enter presses OK, which stays disabled until everything is in order.
        self.ok_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.hint, 1)
        bottom.addWidget(self.buttons)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addSpacing(6)
        layout.addLayout(form)
        layout.addSpacing(4)
        layout.addLayout(bottom)

        self.justification_edit.textChanged.connect(self._update)
        self.typed_edit.textChanged.connect(self._update)
        self._show_certificate()
        self._update()
        self.justification_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- what was entered --------------------------------------------------------------

    def justification(self) -> str:
        return self.justification_edit.toPlainText().strip()

    def operator_name(self) -> str:
        return self.operator_edit.text().strip()

    def organisation(self) -> str:
        return self.organisation_edit.text().strip()

    def certificate(self) -> Path | None:
        """Where the user chose to save the certificate; None: the default place."""
        return self._certificate

    def problem(self) -> str | None:
        """Why OK is disabled, as a sentence; None when it is enabled."""
        if not self.justification():
            return tr("Write the justification: it goes into the audit log and the certificate.")
        if len(self.justification()) > MAX_JUSTIFICATION:
            return tr("Keep the justification under {n} characters.").format(
                n=f"{MAX_JUSTIFICATION:,}"
            )
        if typed_number(self.typed_edit.text()) != str(self.summary.count):
            return tr("Type the number of records, {count}, to confirm.").format(
                count=f"{self.summary.count:,}"
            )
        return None

    # -- inside ------------------------------------------------------------------------

    def accept(self) -> None:
        if self.problem() is None:  # Enter in a field must not get past the checks
            super().accept()

    def choose_certificate(self, path: Path | None = None) -> None:
        if path is None:
            folder = self.certificate_folder or Path.home()
            chosen, _ = QFileDialog.getSaveFileName(
                self,
                tr("Save the certificate of destruction"),
                str(folder / "certificate-of-destruction.pdf"),
                tr("PDF document (*.pdf)"),
            )
            if not chosen:
                return
            path = Path(chosen)
        if path.suffix.lower() != ".pdf":
            path = path.with_name(path.name + ".pdf")
        self._certificate = path
        self._show_certificate()

    def _show_certificate(self) -> None:
        if self._certificate is not None:
            text = str(self._certificate)
            text += "\n" + tr("with its manifest (.xlsx) beside it")
        else:
            folder = str(self.certificate_folder) if self.certificate_folder else ""
            text = tr("In {folder}, named after the run, with its manifest (.xlsx)").format(
                folder=folder or tr("the data folder's certificates")
            )
        self.certificate_label.setText(text)

    @Slot()
    def _update(self) -> None:
        problem = self.problem()
        self.ok_button.setEnabled(problem is None)
        self.ok_button.setToolTip(problem or "")
        self.hint.setText(problem or tr("Ready: nothing is sent until you press the button."))
        colour = status_colour("waiting" if problem else "ok", self.palette())
        self.hint.setStyleSheet(f"color: {colour.name()}")


def _classes_html(summary: SelectionSummary) -> str:
    shown = summary.by_classification[:CLASSES_SHOWN]
    rows = "".join(
        f'<tr><td align="right" style="padding-right:10px">{number:,}</td>'
        f"<td>{escape(name)}</td></tr>"
        for name, number in shown
    )
    more = len(summary.by_classification) - len(shown)
    if more > 0:
        rows += (
            "<tr><td></td><td><i>"
            + escape(tr("and {n} more classifications").format(n=more))
            + "</i></td></tr>"
        )
    return f'<table cellspacing="0" cellpadding="1">{rows}</table>'
