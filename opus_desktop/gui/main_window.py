"""The main window: the connection panel on the left, the Records and Runs tabs beside it.

    window = MainWindow()               # the Records tab is the editor's RecordsTab
    window.show()

The Records tab is built by a factory, `records_tab(runner, parent)`, so tests can put a
small stand-in there. It must offer the RecordsTab interface (RecordsTabApi below).
Everything that runs in the background goes through the window's one TaskRunner, which
closing the window cancels and joins, so no thread outlives it.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, cast

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QCoreApplication, QSize, Qt, QUrl, Slot, qVersion
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QTabWidget,
    QWidget,
)

from opus_desktop import APP_NAME, __version__, paths
from opus_desktop.gui.connection.panel import ConnectionPanel
from opus_desktop.gui.connection.test_worker import StepsFunction
from opus_desktop.gui.disposal.tab import DisposalTab
from opus_desktop.gui.icons import app_icon
from opus_desktop.gui.runs.tab import RunsTab
from opus_desktop.gui.settings import (
    CURRENT_TAB,
    LAST_PROFILE,
    WINDOW_GEOMETRY,
    WINDOW_STATE,
    GuiSettings,
)
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.jobs.connect import tls_warning
from opus_desktop.profiles import Profile

log = logging.getLogger(__name__)

DEFAULT_SIZE = QSize(1280, 800)
PANEL_WIDTH = 290
# Narrower than this, the connection panel folds away so the grid keeps its columns; the
# status bar still names the profile and sign-in, and Connection > Show the panel brings it.
FOLD_PANEL_WIDTH = 1200
JOIN_TIMEOUT_MS = 30_000


def tr(text: str) -> str:
    return QCoreApplication.translate("MainWindow", text)


def fold_message() -> str:
    return tr("The connection panel is folded away at this width: F9 shows it.")


class RecordsTabApi(Protocol):
    """What the window uses of the Records tab (opus_desktop.gui.editor.tab.RecordsTab)."""

    def set_profile(self, profile: Profile | None) -> None: ...
    def open_sheet(self, path: Path | None = None) -> None: ...
    def edit_actions(self) -> list[QAction]: ...
    def file_actions(self) -> list[QAction]: ...
    def can_close(self) -> bool: ...


RecordsTabFactory = Callable[[TaskRunner, QWidget], QWidget]


def default_records_tab(runner: TaskRunner, parent: QWidget) -> QWidget:
    from opus_desktop.gui.editor.tab import RecordsTab

    tab: QWidget = RecordsTab(runner, parent)
    return tab


class MainWindow(QMainWindow):
    def __init__(
        self,
        settings: GuiSettings | None = None,
        records_tab: RecordsTabFactory | None = None,
        journal_path: Path | None = None,
        connection_steps: StepsFunction | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings or GuiSettings()
        self.runner = TaskRunner(self)
        self._closed = False
        self.setWindowIcon(app_icon())
        self.setObjectName("main-window")

        self.panel = ConnectionPanel(self.runner, connection_steps)
        self.dock = QDockWidget(tr("Connection"), self)
        self.dock.setObjectName("connection-dock")
        self.dock.setWidget(self.panel)
        self.dock.setAllowedAreas(
            Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.dock.setMinimumWidth(250)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)

        self.records_widget = (records_tab or default_records_tab)(self.runner, self)
        self.records = cast(RecordsTabApi, self.records_widget)
        self.disposal = DisposalTab(self.runner, self.settings, self, journal_path=journal_path)
        self.runs = RunsTab(self.runner, journal_path, self)
        connect_runs = getattr(self.records_widget, "connect_runs", None)
        if connect_runs is not None:  # one submit driver: the Runs tab resumes the grid's runs
            connect_runs(self.runs, journal_path)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.records_widget, tr("Records"))
        self.tabs.addTab(self.disposal, tr("Disposal"))
        self.tabs.addTab(self.runs, tr("Runs"))
        self.setCentralWidget(self.tabs)

        self.status_label = QLabel()
        self.status_label.setContentsMargins(0, 0, 6, 0)
        self.statusBar().addPermanentWidget(self.status_label)
        self._sign_in = ""
        self._narrow: bool | None = None
        self._panel_folded = False  # hidden by a narrow window, not by the user

        self._build_menus()
        self._restore()
        # Connected after the last profile is chosen, so the Records tab hears of it once.
        self.panel.profile_changed.connect(self._profile_changed)
        self.panel.sign_in_changed.connect(self._sign_in_changed)
        self.records_widget.status_message.connect(  # type: ignore[attr-defined]
            lambda text: self.statusBar().showMessage(text, 8000)
        )
        self.disposal.status_message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self._profile_changed(self.panel.current_profile())
        self._sign_in_changed(self.panel.sign_in_short)

    # -- menus ----------------------------------------------------------------------------

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(tr("&File"))
        self.open_action = self._action(
            file_menu, tr("&Open sheet..."), self.open_sheet, QKeySequence.StandardKey.Open
        )
        for action in self.records.file_actions():
            file_menu.addAction(action)
        file_menu.addSeparator()
        self.settings_action = self._action(
            file_menu, tr("&Settings..."), self.show_settings, "Ctrl+,"
        )
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        file_menu.addSeparator()
        self.quit_action = self._action(
            file_menu, tr("&Quit"), self.close, QKeySequence.StandardKey.Quit
        )
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        self.edit_menu = bar.addMenu(tr("&Edit"))
        for action in self.records.edit_actions():
            self.edit_menu.addAction(action)

        self.disposal_menu = bar.addMenu(tr("&Disposal"))
        for entry in self.disposal.menu_actions():
            if entry is None:
                self.disposal_menu.addSeparator()
            else:
                self.disposal_menu.addAction(entry)
        self.disposal_menu.triggered.connect(lambda: self.tabs.setCurrentWidget(self.disposal))

        connection = bar.addMenu(tr("&Connection"))
        self.add_profile_action = self._action(
            connection, tr("&Add profile..."), self.panel.add_profile
        )
        self.edit_profile_action = self._action(
            connection, tr("&Edit profile..."), self.panel.edit_profile
        )
        self.remove_profile_action = self._action(
            connection, tr("&Remove profile"), self.panel.remove_current_profile
        )
        connection.addSeparator()
        self.test_action = self._action(
            connection, tr("&Test connection"), self.panel.test_connection, "Ctrl+Shift+T"
        )
        connection.addSeparator()
        self.panel_action = self.dock.toggleViewAction()
        self.panel_action.setText(tr("Show the connection &panel"))
        self.panel_action.setShortcut(QKeySequence("F9"))
        self.panel_action.triggered.connect(self._panel_chosen)
        connection.addAction(self.panel_action)

        # Ctrl+1, 2, 3: the tabs, from anywhere in the window (Ctrl+Tab needs the focus in them).
        for number in range(self.tabs.count()):
            go = QAction(self.tabs.tabText(number), self)
            go.setShortcut(QKeySequence(f"Ctrl+{number + 1}"))
            go.triggered.connect(lambda _=False, at=number: self._go_to_tab(at))
            self.addAction(go)
            self.tabs.setTabToolTip(number, f"{self.tabs.tabText(number)} (Ctrl+{number + 1})")

        help_menu = bar.addMenu(tr("&Help"))
        self._action(help_menu, tr("Open the &log folder"), self.open_log_folder)
        about = self._action(help_menu, tr("&About Opus Desktop"), self.show_about)
        about.setMenuRole(QAction.MenuRole.AboutRole)

        refresh = QAction(tr("Refresh runs"), self.runs)
        refresh.setShortcut(QKeySequence.StandardKey.Refresh)
        refresh.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        refresh.triggered.connect(self.runs.refresh)
        self.runs.addAction(refresh)

    def _action(
        self,
        menu: QMenu,
        text: str,
        slot: Callable[[], object],
        shortcut: QKeySequence.StandardKey | str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    # -- actions --------------------------------------------------------------------------

    @Slot()
    def open_sheet(self, path: Path | None = None) -> None:
        """Show the Records tab and open a sheet there (None: it asks for the file)."""
        self.tabs.setCurrentWidget(self.records_widget)
        self.records.open_sheet(path)

    def start(self, sheet: Path | None = None) -> None:
        """At start: the Records tab offers what the last session left unsent (rows, a run
        to resume); with nothing to offer, or the offer declined, it opens `sheet`."""
        restore_or_open = getattr(self.records_widget, "restore_or_open", None)
        if restore_or_open is None:
            if sheet is not None:
                self.open_sheet(sheet)
            return
        if sheet is not None:
            self.tabs.setCurrentWidget(self.records_widget)
        restore_or_open(sheet)

    @Slot()
    def show_settings(self) -> None:
        from opus_desktop.gui.settings_dialog import SettingsDialog

        self.settings_dialog = SettingsDialog(self)
        self.settings_dialog.open()

    @Slot()
    def open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.log_dir())))

    def about_text(self) -> str:
        return tr(
            "<h3>{app} {version}</h3>"
            "<p>Records from Excel into AvePoint Opus, and disposal of the records that "
            "are due.</p>"
            "<p>Qt {qt} · PySide6 {pyside} · Python {python}<br>{system}</p>"
            "<p>Settings: {config}<br>Data: {data}<br>Logs: {logs}</p>"
        ).format(
            app=APP_NAME,
            version=__version__,
            qt=qVersion(),
            pyside=pyside_version,
            python=platform.python_version(),
            system=platform.platform(),
            config=paths.config_dir(),
            data=paths.data_dir(),
            logs=paths.log_dir(),
        )

    @Slot()
    def show_about(self) -> None:
        QMessageBox.about(self, tr("About Opus Desktop"), self.about_text())

    # -- the profile and the status bar ----------------------------------------------------

    @Slot(object)
    def _profile_changed(self, profile: Profile | None) -> None:
        if profile is None:
            self.setWindowTitle(APP_NAME)
        else:
            self.setWindowTitle(f"{APP_NAME} — {profile.name}")
            self.settings.set(LAST_PROFILE, profile.name)
        has_profile = profile is not None
        self.edit_profile_action.setEnabled(has_profile)
        self.remove_profile_action.setEnabled(has_profile)
        self.test_action.setEnabled(has_profile)
        self._show_status()
        self.records.set_profile(profile)
        self.disposal.set_profile(profile)

    @Slot(str)
    def _sign_in_changed(self, text: str) -> None:
        self._sign_in = text
        self._show_status()

    def _show_status(self) -> None:
        profile = self.panel.current_profile()
        if profile is None:
            self.status_label.setText(tr("No profile"))
            return
        text = tr("Profile: {name}").format(name=profile.name)
        if not profile.verify_tls:
            text += " · " + tr("TLS checks OFF")
        if self._sign_in:
            text += f" · {self._sign_in}"
        self.status_label.setText(text)
        self.status_label.setToolTip(tls_warning(profile) or "")

    def status_text(self) -> str:
        return self.status_label.text()

    # -- remembering and closing ---------------------------------------------------------

    def _restore(self) -> None:
        geometry = self.settings.get(WINDOW_GEOMETRY)
        if geometry.isEmpty() or not self.restoreGeometry(geometry):
            screen = QApplication.primaryScreen()
            size = DEFAULT_SIZE
            if screen is not None:
                available = screen.availableGeometry().size()
                size = size.boundedTo(available * 0.92)
            self.resize(size)
            self.resizeDocks([self.dock], [PANEL_WIDTH], Qt.Orientation.Horizontal)
        state = self.settings.get(WINDOW_STATE)
        if not state.isEmpty():
            self.restoreState(state)
        self.tabs.setCurrentIndex(
            min(max(self.settings.get(CURRENT_TAB), 0), self.tabs.count() - 1)
        )
        last = self.settings.get(LAST_PROFILE)
        if last:
            self.panel.select_profile(last)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fold_panel()

    def _go_to_tab(self, number: int) -> None:
        self.tabs.setCurrentIndex(number)
        shown, focus = self.tabs.currentWidget(), QApplication.focusWidget()
        if shown is not None and (focus is None or not shown.isAncestorOf(focus)):
            shown.setFocus(Qt.FocusReason.ShortcutFocusReason)
            shown.focusNextChild()  # the first control of the tab, in the layout's order

    def _panel_chosen(self, _: bool = False) -> None:
        self._panel_folded = False  # the user showed or hid it: that stands
        self._clear_fold_message()

    def _clear_fold_message(self) -> None:
        """The fold notice is about a hidden panel: once it shows, the notice is untrue."""
        if self.statusBar().currentMessage() == fold_message():
            self.statusBar().clearMessage()

    def _fold_panel(self) -> None:
        """Fold the docked panel away when the window becomes narrow, bring it back when
        it is wide again; in between, the user's own showing or hiding stands."""
        narrow = self.width() < FOLD_PANEL_WIDTH
        if narrow == self._narrow:
            return
        self._narrow = narrow
        if narrow and not self.dock.isHidden() and not self.dock.isFloating():
            self._panel_folded = True
            self.dock.hide()
            self.statusBar().showMessage(fold_message(), 8000)
        elif not narrow and self._panel_folded:
            self._panel_folded = False
            self.dock.show()
            self._clear_fold_message()

    def save_settings(self) -> None:
        self.settings.set(WINDOW_GEOMETRY, self.saveGeometry())
        if self._panel_folded:  # kept as shown: folding is the width's, not a choice
            self.dock.show()
        self.settings.set(WINDOW_STATE, self.saveState())
        if self._panel_folded:
            self.dock.hide()
        self.settings.set(CURRENT_TAB, self.tabs.currentIndex())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed and not self.records.can_close():
            event.ignore()
            return
        self.save_settings()
        if not self.runner.join(JOIN_TIMEOUT_MS):
            log.warning("some background work did not stop within %d ms", JOIN_TIMEOUT_MS)
        self._closed = True
        event.accept()
