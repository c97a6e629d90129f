"""The connection panel: which profile, is it working, and what columns does it have.

    panel = ConnectionPanel(runner)
    panel.profile_changed.connect(records_tab.set_profile)   # Profile or None
    panel.sign_in_changed.connect(status_label.setText)       # a short sentence

From top to bottom: the profile chooser with Add, Edit and Remove; "Test connection"
with each step's outcome as it happens and the signed-in state, whose token lifetime
counts down; the template's columns. With no profile yet, one sentence and an "Add
profile" button take the panel's place.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from opus_desktop.errors import AppError
from opus_desktop.gui.connection.columns import ColumnsModel, PaddedRows, narrowest_width
from opus_desktop.gui.connection.password_dialog import PasswordDialog
from opus_desktop.gui.connection.sandbox_note import sandbox_faults
from opus_desktop.gui.connection.steps_view import (
    StatusLine,
    StepsView,
    format_left,
    line,
    section,
    tr,
)
from opus_desktop.gui.connection.test_worker import ConnectionOutcome, ConnectionTest, StepsFunction
from opus_desktop.gui.errors import show_error
from opus_desktop.gui.workers import Task, TaskRunner
from opus_desktop.profiles import (
    Profile,
    ProfileError,
    list_profiles,
    remove_profile,
)
from opus_desktop.usecases.connection import StoredPassword, on_signed_in, stored_password

log = logging.getLogger(__name__)


class ConnectionPanel(QWidget):
    """Signals:

    profile_changed(Profile | None): another profile was chosen, added, edited or removed.
    sign_in_changed(str): the signed-in state in a few words, for the status bar.
    """

    profile_changed = Signal(object)
    sign_in_changed = Signal(str)
    _run_signed_in = Signal(object, float)  # from a use case's worker thread: queued

    def __init__(
        self,
        runner: TaskRunner,
        steps: StepsFunction | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self._steps_function = steps
        self._profiles: list[Profile] = []
        self._current: Profile | None = None
        self.test: ConnectionTest | None = None
        self._finding: Task | None = None  # looking up the stored password
        self.outcome: ConnectionOutcome | None = None
        self._token_until: float | None = None  # time.monotonic() when the token expires
        self._expires_at = ""  # the same, on this computer's clock (HH:MM), for the line
        self.dialog: QDialog | None = None
        self.sign_in_short = ""

        self.pages = QStackedWidget()
        self.pages.addWidget(self._empty_page())
        self.pages.addWidget(self._main_page())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.pages)

        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._tick)
        # A run or a due list signs in too: the line says so, not "Not signed in".
        self._run_signed_in.connect(self._heard_sign_in)
        stop = on_signed_in(self._run_signed_in.emit)
        self.destroyed.connect(lambda *_: stop())
        self.reload()

    # -- layout ---------------------------------------------------------------------------

    def _empty_page(self) -> QWidget:
        page = QWidget()
        self.empty_label = QLabel(
            tr(
                "No connection profiles yet.\n\nA profile holds what Opus Desktop needs to "
                "reach your Opus tenant: the API address, the app's client id and "
                "certificate, and the connection template."
            )
        )
        self.empty_label.setWordWrap(True)
        self.empty_add_button = QPushButton(tr("Add profile..."))
        self.empty_add_button.clicked.connect(self.add_profile)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(section(tr("Profile")))
        layout.addWidget(self.empty_label)
        layout.addWidget(self.empty_add_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        return page

    def _main_page(self) -> QWidget:
        page = QWidget()
        self.combo = QComboBox()
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.setMinimumContentsLength(12)
        self.combo.currentIndexChanged.connect(self._combo_changed)
        self.add_button = QPushButton(tr("Add..."))
        self.edit_button = QPushButton(tr("Edit..."))
        self.remove_button = QPushButton(tr("Remove"))
        self.add_button.clicked.connect(self.add_profile)
        self.edit_button.clicked.connect(self.edit_profile)
        self.remove_button.clicked.connect(self.remove_current_profile)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.test_button = QPushButton(tr("Test connection"))
        self.test_button.clicked.connect(self.test_connection)
        self.steps = StepsView()
        self.sign_in = StatusLine()

        self.columns_title = section(tr("Columns"))
        self.columns_model = ColumnsModel(self)
        self.columns_view = QTableView()
        self.columns_view.setAccessibleName(tr("Columns of the connection"))
        self.columns_view.setModel(self.columns_model)
        self.columns_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.columns_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.columns_view.verticalHeader().setVisible(False)
        self.columns_view.setShowGrid(False)
        self.columns_view.setAlternatingRowColors(True)
        # The panel is narrow: long names wrap onto a second line rather than being cut.
        self.columns_view.setWordWrap(True)
        self.columns_view.setItemDelegate(PaddedRows(self.columns_view))
        # The bar always there: a bar that came and went changed the Name column's width
        # under rows measured for the other width ("Date …" on one line).
        self.columns_view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.columns_view.setTextElideMode(Qt.TextElideMode.ElideNone)
        header = self.columns_view.horizontalHeader()
        header.setSectionResizeMode(ColumnsModel.NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(ColumnsModel.TYPE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(ColumnsModel.REQUIRED, QHeaderView.ResizeMode.ResizeToContents)
        header.setHighlightSections(False)
        self.columns_view.verticalHeader().setMinimumSectionSize(
            self.columns_view.fontMetrics().height() + 6
        )
        self.columns_view.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.columns_note = QLabel()
        self.columns_note.setWordWrap(True)

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(section(tr("Profile")))
        layout.addWidget(self.combo)
        layout.addLayout(buttons)
        layout.addWidget(self.summary)
        layout.addSpacing(4)
        layout.addWidget(line())
        test_row = QHBoxLayout()
        test_row.addWidget(section(tr("Sign-in")), 1)
        test_row.addWidget(self.test_button)
        layout.addLayout(test_row)
        layout.addWidget(self.steps)
        layout.addWidget(self.sign_in)
        layout.addSpacing(4)
        layout.addWidget(line())
        layout.addWidget(self.columns_title)
        layout.addWidget(self.columns_note)
        layout.addWidget(self.columns_view, 1)
        return page

    # -- profiles -------------------------------------------------------------------------

    def current_profile(self) -> Profile | None:
        return self._current

    def profiles(self) -> list[Profile]:
        return list(self._profiles)

    def reload(self, select: str | None = None) -> None:
        """Read the profiles again; choose `select` (by name), else keep the current one."""
        wanted = select if select is not None else (self._current.name if self._current else None)
        self._profiles = list_profiles()
        self.combo.blockSignals(True)
        self.combo.clear()
        for profile in self._profiles:
            self.combo.addItem(profile.name)
        index = 0
        if wanted is not None:
            names = [p.name.casefold() for p in self._profiles]
            if wanted.casefold() in names:
                index = names.index(wanted.casefold())
        self.combo.setCurrentIndex(index if self._profiles else -1)
        self.combo.blockSignals(False)
        self.pages.setCurrentIndex(1 if self._profiles else 0)
        self._set_current(self._profiles[index] if self._profiles else None, force=True)

    def select_profile(self, name: str) -> bool:
        """Choose the profile named `name`; False when there is none."""
        for index, profile in enumerate(self._profiles):
            if profile.name.casefold() == name.casefold():
                self.combo.setCurrentIndex(index)
                return True
        return False

    @Slot(int)
    def _combo_changed(self, index: int) -> None:
        profile = self._profiles[index] if 0 <= index < len(self._profiles) else None
        self._set_current(profile)

    def _set_current(self, profile: Profile | None, force: bool = False) -> None:
        if not force and profile is self._current:
            return
        changed = force or profile is None or self._current is None
        changed = changed or profile.name != self._current.name  # type: ignore[union-attr]
        self._current = profile
        self.edit_button.setEnabled(profile is not None)
        self.remove_button.setEnabled(profile is not None)
        self.test_button.setEnabled(profile is not None and self.test is None)
        self._show_summary(profile)
        self._show_columns(profile)
        if self.test is None:
            self._forget_sign_in()
        if changed:
            self.profile_changed.emit(profile)

    def _show_summary(self, profile: Profile | None) -> None:
        if profile is None:
            self.summary.setText("")
            return
        api = tr("Graph API") if profile.protocol == "graph" else tr("Legacy API")
        host = profile.api_url.split("://", 1)[-1].rstrip("/")
        lines = [f"{api} · {host}"]
        if profile.sandbox:
            lines.append(tr("The sandbox tenant on this computer: demo data, no account."))
            lines += [rates] if (rates := sandbox_faults(profile)) else []
        if not profile.verify_tls:
            lines.append(tr("TLS certificate checks are turned off for this profile."))
        self.summary.setText("\n".join(lines))

    def _show_columns(self, profile: Profile | None) -> None:
        self.columns_model.set_template(None)
        self.columns_title.setText(tr("Columns"))
        self.columns_note.setVisible(False)
        self.columns_view.setVisible(profile is not None)
        if profile is None:
            return
        try:
            template = profile.template()
        except AppError as exc:
            self.columns_note.setText(exc.message)
            self.columns_note.setVisible(True)
            self.columns_view.setVisible(False)
            return
        self.columns_model.set_template(template)
        # The panel is not dragged so narrow that a name's word is cut.
        self.columns_view.setMinimumWidth(narrowest_width(self.columns_view))
        self.columns_title.setText(tr("Columns ({count})").format(count=len(template)))
        self.columns_note.setText(
            tr("Connection {id}").format(id=template.connection_id or tr("without an id"))
        )
        self.columns_note.setVisible(True)

    @Slot()
    def add_profile(self) -> None:
        self._open_dialog(self._profile_dialog(None))

    @Slot()
    def edit_profile(self) -> None:
        if self._current is not None:
            self._open_dialog(self._profile_dialog(self._current))

    def _profile_dialog(self, profile: Profile | None) -> QDialog:
        # The profile editor (its pages, the options editor, the certificate checks) loads
        # when first opened: the window starts without it.
        from opus_desktop.gui.connection.profile_dialog import ProfileDialog

        return ProfileDialog(profile, self)

    def _open_dialog(self, dialog: QDialog) -> None:
        # No lambda holding the dialog is connected to it: PySide crashes when a dialog
        # deleted on close takes such a lambda with it. The slot finds it in self.dialog.
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self._dialog_finished)
        self.dialog = dialog
        dialog.open()

    @Slot(int)
    def _dialog_finished(self, result: int) -> None:
        dialog, self.dialog = self.dialog, None
        if result != QDialog.DialogCode.Accepted:
            return
        from opus_desktop.gui.connection.profile_dialog import ProfileDialog  # loaded already

        if isinstance(dialog, ProfileDialog) and dialog.saved_profile is not None:
            self.reload(select=dialog.saved_profile.name)
        elif isinstance(dialog, PasswordDialog):
            self._start_test(dialog.profile, dialog.entered())

    def confirm_remove(self, profile: Profile) -> bool:
        answer = QMessageBox.question(
            self,
            tr("Remove profile"),
            tr(
                'Remove the profile "{name}"? Its settings, its copy of the connection '
                "template and its stored password are deleted; the certificate files and "
                "the records in Opus are not touched."
            ).format(name=profile.name),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    @Slot()
    def remove_current_profile(self) -> None:
        profile = self._current
        if profile is None or not self.confirm_remove(profile):
            return
        try:
            remove_profile(profile.name)
        except AppError as exc:
            show_error(self, exc)
        except OSError as exc:
            show_error(
                self,
                ProfileError(
                    tr('The profile "{name}" could not be removed from {folder}: {why}.').format(
                        name=profile.name, folder=profile.folder, why=exc.strerror or exc
                    )
                ),
            )
        self._current = None
        self.reload()

    # -- the connection test ----------------------------------------------------------------

    @Slot()
    def test_connection(self) -> None:
        profile = self._current
        if profile is None or self.test is not None or self._finding is not None:
            return
        # The variable and the keyring are read in a worker: a keyring may take a while.
        task = Task(lambda state: stored_password(profile), name="find the password")
        task.succeeded.connect(lambda found: self._password_found(profile, found))
        task.failed.connect(self._password_failed)
        task.finished.connect(self._password_looked_up)
        self._finding = task
        self.test_button.setEnabled(False)
        self.test_button.setText(tr("Testing..."))
        self._show_sign_in("running", tr("Opening the certificate..."), tr("signing in"))
        self.runner.start(task)

    def _password_found(self, profile: Profile, found: StoredPassword) -> None:
        self._finding = None
        self._reset_test_button()
        if profile is not self._current:
            self._forget_sign_in()  # another profile was chosen meanwhile
        elif found.needed:
            self._forget_sign_in()
            self._open_dialog(PasswordDialog(profile, self))
        else:
            self._start_test(profile, found.password)

    @Slot(object)
    def _password_failed(self, error: BaseException) -> None:
        self._finding = None
        self._reset_test_button()
        said = (
            error.message if isinstance(error, AppError) else tr("The keyring could not be read.")
        )
        self._show_sign_in("failed", said, tr("not signed in"))
        if not isinstance(error, AppError):
            show_error(self, error)

    @Slot()
    def _password_looked_up(self) -> None:
        self._finding = None

    def _reset_test_button(self) -> None:
        self.test_button.setText(tr("Test connection"))
        self.test_button.setEnabled(self._current is not None)

    def _start_test(self, profile: Profile, password: str | None) -> None:
        if self.test is not None or profile is not self._current:
            return
        self._countdown.stop()
        self.outcome = None
        self._token_until = None
        test = ConnectionTest(profile, password, self._steps_function, self)
        test.step.connect(self.steps.show_step)
        test.finished.connect(self._test_finished)
        self.test = test
        self.test_button.setEnabled(False)
        self.test_button.setText(tr("Testing..."))
        self.steps.start()
        self._show_sign_in("running", tr("Signing in..."), tr("signing in"))
        self.runner.start(test.task)

    @Slot(object)
    def _test_finished(self, outcome: ConnectionOutcome) -> None:
        test, self.test = self.test, None
        self.outcome = outcome
        self._reset_test_button()
        self.steps.finish(outcome)
        if test is not None:
            test.deleteLater()
        if outcome.error is not None:
            if isinstance(outcome.error, AppError):
                self._show_sign_in("failed", outcome.error.message, tr("not signed in"))
            else:
                self._show_sign_in(
                    "failed", tr("The test stopped on an unexpected error."), tr("not signed in")
                )
                show_error(self, outcome.error)
            return
        if test is not None and test.profile is not self._current:
            self._forget_sign_in()  # another profile was chosen meanwhile
            return
        failed = outcome.failed_step
        if failed is not None:
            self._show_sign_in(
                "failed",
                tr("Not signed in: the {step} step failed.").format(step=tr(failed.name)),
                tr("sign-in failed"),
            )
            return
        left = outcome.token_left()
        if left is not None:
            self._count_down(left)
        else:
            self._show_sign_in("ok", tr("Signed in."), tr("signed in"))

    @Slot(object, float)
    def _heard_sign_in(self, profile: Profile, left: float) -> None:
        """A use case signed in with `profile` and holds a token for `left` more seconds."""
        current = self._current
        if current is None or profile.name != current.name or self.test is not None:
            return
        self._count_down(left)

    def _count_down(self, left: float) -> None:
        self._token_until = time.monotonic() + left
        self._expires_at = (datetime.now().astimezone() + timedelta(seconds=left)).strftime("%H:%M")
        self._countdown.start()
        self._tick()

    @Slot()
    def _tick(self) -> None:
        until = self._token_until
        left = None if until is None else max(until - time.monotonic(), 0.0)
        if left is None:
            self._countdown.stop()
            return
        if left <= 0:
            self._countdown.stop()
            self._show_sign_in(
                "warning",
                tr("The token has expired; Test connection signs in again."),
                tr("token expired"),
            )
            return
        text = format_left(left)
        self._show_sign_in(
            "ok",
            tr("Signed in; the token is valid for another {left}, until {clock}.").format(
                left=text, clock=self._expires_at
            ),
            tr("signed in, token {left}").format(left=text),
        )

    def _forget_sign_in(self) -> None:
        self._countdown.stop()
        self.outcome = None
        self._token_until = None
        self.steps.reset()
        if self._current is None:
            self._show_sign_in("waiting", tr("No profile chosen."), tr("no profile"))
        else:
            self._show_sign_in(
                "waiting", tr("Not signed in yet: Test connection signs in."), tr("not signed in")
            )

    def _show_sign_in(self, status: str, sentence: str, short: str) -> None:
        self.sign_in.show_status(status, sentence)
        self.sign_in_short = short
        self.sign_in_changed.emit(short)

    def sign_in_text(self) -> str:
        return self.sign_in.text.text()
