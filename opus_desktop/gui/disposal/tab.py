"""The Disposal tab: review the records due for disposal, tick the approved ones, mark
them destroyed, and keep the proof.

    tab = DisposalTab(runner)
    tab.set_profile(profile)
    tab.load(); tab.load_more(); tab.load_all()
    tab.import_sheet(path)          # tick exactly the keys of a signed-off sheet
    tab.export(path, ticked=False)  # the sign-off sheet `opus-desktop due --out` writes
    tab.mark_destroyed()            # the confirmation dialog, then the run
    window_menu.addActions(...)     # tab.menu_actions()

Loading, importing and exporting are the DueLoader's (loading.py), marking destroyed
the Destroyer's (destroying.py). Everything that reaches Opus or the disk runs as a Task
through the tab's TaskStrip (progress, Cancel). One task at a time: while one runs, the
actions that would start another are disabled, and their tooltips say why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QDateTime, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDateTimeEdit,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from opus_desktop.core.schema import Template
from opus_desktop.errors import AppError
from opus_desktop.gui.connection.password_dialog import PasswordDialog
from opus_desktop.gui.disposal.flow import FlowLayout, group
from opus_desktop.gui.disposal.model import DueFilter, DueModel
from opus_desktop.gui.disposal.parts import MadeWhenUsed
from opus_desktop.gui.disposal.view import DueView
from opus_desktop.gui.editor.progress import TaskStrip
from opus_desktop.gui.editor.words import count
from opus_desktop.gui.errors import show_error
from opus_desktop.gui.icons import status_colour
from opus_desktop.gui.settings import GuiSettings
from opus_desktop.gui.workers import Task, TaskRunner
from opus_desktop.jobs.due_fields import MAX_PER_PAGE
from opus_desktop.jobs.state import Progress
from opus_desktop.profiles import Profile
from opus_desktop.usecases.connection import StoredPassword, stored_password

if TYPE_CHECKING:
    from opus_desktop.gui.disposal.confirm_dialog import ConfirmDialog
    from opus_desktop.usecases.disposing import Connections

log = logging.getLogger(__name__)


def tr(text: str) -> str:
    return QCoreApplication.translate("DisposalTab", text)


class DisposalTab(MadeWhenUsed):
    """Signals: status_message(str): a sentence for the window's status bar."""

    status_message = Signal(str)

    def __init__(
        self,
        runner: TaskRunner,
        settings: GuiSettings | None = None,
        parent: QWidget | None = None,
        *,
        connections: Connections | None = None,
        journal_path: Path | None = None,
        audit_path: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("disposal-tab")
        self.runner = runner
        self.settings = settings or GuiSettings()
        self._connections = connections
        self._pages = None
        self.journal_path = journal_path  # None: the user's (tests pass their own)
        self.audit_path = audit_path
        self.profile: Profile | None = None
        self.template: Template | None = None
        self.error: str | None = None  # the last failure, shown while nothing is listed
        self.busy_with = ""  # what the running task does, for tooltips
        self._list_next = False  # a load runs: the list takes the focus when it ends
        self._before_is_now = True  # untouched: "now" is taken afresh at each Load

        self.model = DueModel(self)
        self.proxy = DueFilter(self.model, self)
        self.view = DueView(self.proxy)
        self.view.setAccessibleName(tr("Records due for disposal"))
        self.tasks = TaskStrip(runner)

        self._build_actions()
        self._build_layout()
        for signal in (
            self.model.checked_changed,
            self.model.rowsInserted,
            self.model.rowsRemoved,
            self.model.modelReset,
            self.proxy.layoutChanged,
        ):
            signal.connect(self.refresh)
        self.tasks.busy_changed.connect(lambda _busy: self.refresh())
        self.tasks.failed.connect(self._task_failed)
        self.refresh()

    # -- building ---------------------------------------------------------------------------

    def _action(self, text: str, slot: Callable[[], object], name: str) -> QAction:
        action = QAction(text, self)
        action.setIconText(text.replace("&", ""))  # a tool button would drop the "..."
        action.setObjectName(name)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _build_actions(self) -> None:
        self.load_action = self._action(tr("&Load"), self.load, "load-due")
        self.load_action.setShortcut(QKeySequence("Ctrl+L"))
        self.load_more_action = self._action(tr("Load &more"), self.load_more, "load-more")
        self.load_all_action = self._action(tr("Load &all"), self.load_all, "load-all")
        self.tick_shown_action = self._action(tr("Tick &shown"), self.tick_shown, "tick-shown")
        self.tick_all_action = self._action(tr("Tic&k all"), self.tick_all, "tick-all")
        self.clear_action = self._action(tr("&Clear ticks"), self.clear_ticks, "clear-ticks")
        self.import_action = self._action(
            tr("&Import signed-off sheet..."), self.import_sheet, "import-signed-off"
        )
        self.export_action = self._action(
            tr("&Export the list..."), lambda: self.export(ticked=False), "export-list"
        )
        self.export_ticked_action = self._action(
            tr("Export the &ticked records..."), lambda: self.export(ticked=True), "export-ticked"
        )
        self.destroy_action = self._action(
            tr("Mark &destroyed..."), self.mark_destroyed, "mark-destroyed"
        )
        find = self._action(tr("&Filter"), self._focus_filter, "filter-due")
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(find)

    def _button(self, action: QAction) -> QToolButton:
        button = QToolButton()
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        return button

    def _build_layout(self) -> None:
        self.before_edit = QDateTimeEdit(QDateTime.currentDateTime())
        self.before_edit.setObjectName("due-before")
        self.before_edit.setAccessibleName(tr("Due before"))
        self.before_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.before_edit.setCalendarPopup(True)
        self.before_edit.setToolTip(
            tr("List the records whose disposal is due before this date and time (your time).")
        )
        self.before_edit.dateTimeChanged.connect(self._before_edited)
        self.now_button = QToolButton()
        self.now_button.setText(tr("Now"))
        self.now_button.setToolTip(tr("Set the date to this moment"))
        self.now_button.clicked.connect(self.set_before_now)
        self.page_size = QSpinBox()
        self.page_size.setObjectName("page-size")
        self.page_size.setAccessibleName(tr("Page size"))
        self.page_size.setRange(1, MAX_PER_PAGE)
        self.page_size.setValue(MAX_PER_PAGE)
        self.page_size.setToolTip(tr("How many records each call asks Opus for (1 to 100)"))

        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("due-filter")
        self.filter_edit.setAccessibleName(tr("Filter the list"))
        self.filter_edit.setPlaceholderText(tr("Filter: any text in any column"))
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMinimumWidth(220)
        self.filter_edit.textChanged.connect(self._filter_changed)
        self.counts = QLabel()
        self.counts.setObjectName("due-counts")
        self.export_button = self._button(self.export_action)
        export_menu = QMenu(self.export_button)
        export_menu.addAction(self.export_action)
        export_menu.addAction(self.export_ticked_action)
        self.export_button.setMenu(export_menu)
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.destroy_button = self._button(self.destroy_action)
        font = self.destroy_button.font()
        font.setBold(True)
        self.destroy_button.setFont(font)

        top = FlowLayout()
        top.addWidget(group(QLabel(tr("Due before:")), self.before_edit, self.now_button))
        top.addWidget(group(QLabel(tr("Page size:")), self.page_size))
        top.addWidget(
            group(
                *(
                    self._button(action)
                    for action in (self.load_action, self.load_more_action, self.load_all_action)
                )
            )
        )
        top.addWidget(self.tasks)
        second = FlowLayout()
        second.addWidget(self.filter_edit)
        second.addWidget(
            group(
                *(
                    self._button(action)
                    for action in (self.tick_shown_action, self.tick_all_action, self.clear_action)
                )
            )
        )
        second.addWidget(
            group(self._button(self.import_action), self.export_button, self.destroy_button)
        )

        self.banner = QLabel()
        self.banner.setObjectName("disposal-banner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()

        listing = QWidget()
        listing_layout = QVBoxLayout(listing)
        listing_layout.setContentsMargins(0, 0, 0, 0)
        listing_layout.setSpacing(4)
        listing_layout.addWidget(self.view, 1)
        listing_layout.addWidget(self.counts)
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(listing)  # the outcome panel goes below once built
        self.split.setStretchFactor(0, 3)
        self.split.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addWidget(self.banner)
        layout.addWidget(self.split, 1)

    # -- the interface the main window uses --------------------------------------------

    def set_profile(self, profile: Profile | None) -> None:
        """Another profile: its tenant's due records, so the list and ticks start over."""
        if profile is self.profile:
            return
        self.tasks.cancel()
        if self._connections is not None:
            self._connections.close()
        self.profile = profile
        self.template = None
        self.error = None
        if profile is not None:
            try:
                self.template = profile.template()
            except AppError as exc:
                self.error = exc.message
        if self.made():
            self.loader.forget()
            self.outcome.hide()
        self.model.set_template(self.template)
        self.show_banner(self.error)
        self.view.fit_columns()
        self.refresh()

    def menu_actions(self) -> list[QAction | None]:
        """The Disposal menu's actions (None: a separator)."""
        return [
            self.load_action,
            self.load_more_action,
            self.load_all_action,
            None,
            self.import_action,
            self.export_action,
            self.export_ticked_action,
            None,
            self.destroy_action,
        ]

    def can_close(self) -> bool:
        """Stop what runs (a destroy run stops between calls and is audited as
        cancelled) and close the connection."""
        self.tasks.cancel()
        if self._connections is not None:
            self._connections.close()
        return True

    # -- the date ----------------------------------------------------------------------------

    def before(self, refresh: bool = False) -> datetime:
        """The chosen due-before moment, in UTC; with `refresh`, an untouched date is
        moved to this moment first (the default is "now" when Load is pressed)."""
        if refresh and self._before_is_now:
            self.set_before_now()
        local = self.before_edit.dateTime().toPython()
        assert isinstance(local, datetime)
        return local.astimezone(UTC).replace(microsecond=0)

    def set_before(self, moment: datetime) -> None:
        local = moment.astimezone()
        self.before_edit.setDateTime(
            QDateTime(local.year, local.month, local.day, local.hour, local.minute, local.second)
        )
        self._before_is_now = False

    @Slot()
    def set_before_now(self) -> None:
        self.before_edit.setDateTime(QDateTime.currentDateTime())
        self._before_is_now = True

    @Slot()
    def _before_edited(self) -> None:
        self._before_is_now = False
        self.refresh()

    # -- actions -----------------------------------------------------------------------------

    def load(self) -> None:
        """A fresh list: the first page of records due before the chosen date."""
        if not self._may_start():
            return
        ticked = self.model.checked_count
        if ticked and not self._ask(
            tr("Load the list again?"),
            tr("Loading the list again clears the {n} ticks.").format(n=f"{ticked:,}"),
        ):
            return
        self._list_next = True
        self.loader.load()

    def load_more(self) -> None:
        if self._may_start():
            self.loader.load_more()

    def load_all(self) -> None:
        if self._may_start():
            self.loader.load_all()

    def import_sheet(self, path: Path | None = None) -> None:
        if self._may_start():
            self.loader.import_sheet(path)

    def export(self, path: Path | None = None, ticked: bool = False) -> None:
        if self._may_start():
            self.loader.export(path, ticked)

    def mark_destroyed(self) -> ConfirmDialog | None:
        return self.destroyer.confirm() if self._may_start() else None

    def retry(self, run_id: str) -> None:
        if self._may_start():
            self.destroyer.retry(run_id)

    def tick_shown(self) -> int:
        """Tick every record the filter shows."""
        return self.model.set_checked(self.proxy.shown_keys(), True)

    def tick_all(self) -> int:
        """Tick every loaded record."""
        return self.model.set_checked(self.model.row_keys(), True)

    def clear_ticks(self) -> None:
        self.model.clear_checks()

    def set_filter(self, text: str) -> None:
        self.filter_edit.setText(text)

    @Slot(str)
    def _filter_changed(self, text: str) -> None:
        self.proxy.set_text(text)
        self.refresh()

    def _focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    # -- running tasks (for the loader and the destroyer) ---------------------------------------

    def _may_start(self) -> bool:
        return self.profile is not None and self.template is not None and not self.tasks.busy

    def run_task(
        self,
        task: Task,
        label: str,
        doing: str,
        on_result: Callable[[Any], None],
        failed: Callable[[BaseException], None] | None = None,
        loading: bool = False,
    ) -> None:
        """Run `task` in the strip; `doing` names it in tooltips ("Wait until ... ends")."""
        self.busy_with = doing
        self.error = None
        self.show_banner(None)
        if failed is not None:
            task.failed.connect(failed)
        self.tasks.run(task, label, on_result, self._task_ended)
        if loading:  # connected after the strip's own handler, which this one corrects
            task.progress.connect(self._loading_progress)
        self.refresh()

    @Slot(object)
    def _loading_progress(self, _progress: Progress) -> None:
        # How many pages there are is not known: a moving bar beside the count so far.
        self.tasks.bar.setRange(0, 0)

    def _task_ended(self) -> None:
        self.busy_with = ""
        self.refresh()
        # From the keyboard, the list is next: unless the user is in a field of the tab.
        focus = QApplication.focusWidget()
        lost = focus is None or not focus.isEnabled() or not self.isAncestorOf(focus)
        listed, self._list_next = self._list_next, False
        if listed and lost and self.isVisible() and self.model.rowCount():
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    @Slot(object)
    def _task_failed(self, exc: BaseException) -> None:
        if isinstance(exc, AppError):
            self.error = exc.message
            self.status_message.emit(exc.message)
        else:
            self.error = tr("Something went wrong; the details are in the log.")
            show_error(self, exc)
        self.show_banner(self.error)
        self.refresh()

    def show_banner(self, text: str | None) -> None:
        """A sentence above the table (a failure), or none."""
        if not text:
            self.banner.hide()
            return
        self.banner.setStyleSheet(f"color: {status_colour('failed', self.palette()).name()}")
        self.banner.setText(text)
        self.banner.show()

    def with_password(self, then: Callable[[str | None], None], doing: str) -> None:
        """Call `then` with the certificate's password, asking for it when needed. The
        variable and the keyring are read in a worker (the keyring may take a while), in
        the task strip, so the tab is busy from here to the end of what `then` starts;
        `doing` names it in tooltips meanwhile."""
        profile = self.profile
        if profile is None:
            return
        self.busy_with = doing
        task = Task(lambda state: stored_password(profile), name="find the password")
        self.error = None
        self.show_banner(None)
        self.tasks.run(
            task,
            tr("Opening the certificate…"),
            lambda found: self._password_found(profile, found, then),
        )
        self.refresh()

    def _password_found(
        self, profile: Profile, found: StoredPassword, then: Callable[[str | None], None]
    ) -> None:
        if profile is not self.profile:  # the profile changed meanwhile
            return
        if not found.needed:
            then(found.password)
            return
        dialog = PasswordDialog(profile, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: then(dialog.entered()))
        dialog.open()

    def _ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(
            self,
            title,
            text,
            QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Ok

    # -- what is enabled, and why not -----------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        """Enable the actions that can run now, with tooltips saying why the others
        cannot; update the counts and the empty table's sentence."""
        rows, shown, ticked = self.model.rowCount(), self.proxy.rowCount(), self.model.checked_count
        busy = self.tasks.busy
        blocked: str | None = None
        if self.profile is None:
            blocked = tr("Choose a profile first.")
        elif self.template is None:
            blocked = tr("The profile's connection template cannot be read.")
        elif busy:
            blocked = tr("Wait until {what} ends, or cancel it.").format(what=self.busy_with)

        def allow(action: QAction, tip: str, reason: str | None = None) -> None:
            why = blocked or reason
            action.setEnabled(why is None)
            action.setToolTip(why or tip)

        more_to_load = not self.made() or self.loader.more_to_load
        all_loaded = tr("Every page is loaded.") if not more_to_load else None
        nothing = tr("Nothing is listed yet: Load the due records first.") if not rows else None
        no_ticks = nothing or (tr("Nothing is ticked.") if not ticked else None)
        allow(self.load_action, tr("List the first page of the records due before the date"))
        allow(self.load_more_action, tr("Load the next page of the list"), all_loaded)
        allow(self.load_all_action, tr("Load every page still to load"), all_loaded)
        allow(
            self.tick_shown_action,
            tr("Tick every record the filter shows"),
            nothing or (tr("The filter shows no record.") if not shown else None),
        )
        allow(self.tick_all_action, tr("Tick every loaded record"), nothing)
        allow(self.clear_action, tr("Untick every record"), no_ticks)
        allow(
            self.import_action,
            tr(
                'Tick exactly the row keys of a signed-off sheet (its "Row key" column); the '
                "pages still to load are loaded first"
            ),
        )
        allow(self.export_action, tr("Write the loaded list to a sheet for sign-off"), nothing)
        allow(
            self.export_ticked_action,
            tr("Write the ticked records to a sheet for sign-off"),
            no_ticks,
        )
        allow(
            self.destroy_action,
            tr("Mark the ticked records destroyed in Opus, after a confirmation"),
            nothing or (tr("Tick the records to mark destroyed first.") if not ticked else None),
        )
        title = tr("Mark {n} &destroyed...").format(n=f"{ticked:,}") if ticked else ""
        self.destroy_action.setText(title or tr("Mark &destroyed..."))  # Alt+D, D in the menu
        self.destroy_action.setIconText((title or tr("Mark destroyed...")).replace("&", ""))
        for widget in (self.before_edit, self.now_button, self.page_size):
            widget.setEnabled(self.profile is not None and not busy)
        self.filter_edit.setEnabled(rows > 0 or bool(self.filter_edit.text()))
        self.counts.setText(self._counts_text(rows, shown, ticked))
        self.view.set_placeholder(self._placeholder(rows))

    def _counts_text(self, rows: int, shown: int, ticked: int) -> str:
        if not self.made() or not self.loader.listed:
            return ""
        text = tr("{ticked} ticked of {loaded}").format(
            ticked=f"{ticked:,}", loaded=count(rows, tr("1 loaded"), tr("{0} loaded"))
        )
        if shown != rows:
            text += " · " + tr("{n} shown").format(n=f"{shown:,}")
        if not self.loader.more_to_load:
            text += " · " + tr("all pages")
        elif self.loader.pages:
            text += " · " + tr("more to load")
        return text

    def _placeholder(self, rows: int) -> str:
        if self.profile is None:
            return tr(
                "Choose a profile in the connection panel: the due records are asked of its tenant."
            )
        if self.error and not rows:
            return self.error
        listed = self.made() and self.loader.listed
        moment = (self.loader.before if listed else None) or self.before()
        when = moment.astimezone().strftime("%Y-%m-%d %H:%M")  # as loading.local_text
        if not listed:
            return tr("Press Load to list the records whose disposal is due before {date}.").format(
                date=when
            )
        if not rows:
            if self.tasks.busy:
                return tr("Asking Opus for the records due before {date}…").format(date=when)
            if not self.loader.more_to_load:
                return tr("No records are due before {date}.").format(date=when)
            return tr("No records loaded yet: Load more asks for the next page.")
        return tr("No loaded record matches “{text}”.").format(text=self.filter_edit.text())
