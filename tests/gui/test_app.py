"""The application shell: main window, menus, settings, closing, the error funnel, logging,
palettes, icons, and `--smoke-test` / `--sandbox` in a separate process."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from opus_desktop import APP_NAME
from opus_desktop.gui import errors
from opus_desktop.gui.app import apply_colour_scheme
from opus_desktop.gui.errors import current_error_dialog, install_excepthook, show_error
from opus_desktop.gui.icons import (
    SIZES,
    app_icon,
    is_dark,
    png_path,
    render_pngs,
    status_colour,
)
from opus_desktop.gui.main_window import MainWindow
from opus_desktop.gui.settings import LAST_PROFILE, GuiSettings
from opus_desktop.gui.workers import Task, TaskRunner
from opus_desktop.jobs.state import RunState
from opus_desktop.logs import close_logging, setup_logging
from opus_desktop.profiles import Profile, ProfileError, find_profile

REPO = Path(__file__).resolve().parents[2]


class FakeRecordsTab(QWidget):
    """Stands in for gui.editor.tab.RecordsTab: the same interface, recording its calls."""

    status_message = Signal(str)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.profiles: list[Profile | None] = []
        self.opened: list[Path | None] = []
        self.allow_close = True
        self.close_asked = 0

        def action(text: str, shortcut: QKeySequence.StandardKey | str) -> QAction:
            made = QAction(text, self)
            made.setShortcut(QKeySequence(shortcut))
            return made

        self._edit = [
            action("Undo", QKeySequence.StandardKey.Undo),
            action("Redo", QKeySequence.StandardKey.Redo),
            action("Copy", QKeySequence.StandardKey.Copy),
            action("Fill down", "Ctrl+D"),
        ]
        self._file = [action("Save mapping...", ""), action("Export...", "")]

    def set_profile(self, profile: Profile | None) -> None:
        self.profiles.append(profile)

    def open_sheet(self, path: Path | None = None) -> None:
        self.opened.append(path)

    def edit_actions(self) -> list[QAction]:
        return list(self._edit)

    def file_actions(self) -> list[QAction]:
        return list(self._file)

    def can_close(self) -> bool:
        self.close_asked += 1
        return self.allow_close


def make_window(qtbot: QtBot, settings: GuiSettings, tmp_path: Path) -> MainWindow:
    window = MainWindow(settings, FakeRecordsTab, tmp_path / "journal.sqlite3")
    qtbot.addWidget(window)
    window.show()
    return window


def records(window: MainWindow) -> FakeRecordsTab:
    tab = window.records_widget
    assert isinstance(tab, FakeRecordsTab)
    return tab


def menu_texts(window: MainWindow) -> dict[str, list[str]]:
    found = {}
    for action in window.menuBar().actions():
        menu = action.menu()
        assert menu is not None
        found[action.text().replace("&", "")] = [
            a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()
        ]
    return found


# -- the main window ------------------------------------------------------------------


def test_window_without_profile(qtbot: QtBot, gui_settings: GuiSettings, tmp_path: Path) -> None:
    window = make_window(qtbot, gui_settings, tmp_path)
    assert window.windowTitle() == APP_NAME
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert tabs == ["Records", "Disposal", "Runs"]
    assert window.panel.pages.currentIndex() == 0  # "No connection profiles yet"
    assert records(window).profiles == [None]
    assert window.status_text() == "No profile"
    assert not window.test_action.isEnabled()
    assert menu_texts(window) == {
        "File": ["Open sheet...", "Save mapping...", "Export...", "Settings...", "Quit"],
        "Edit": ["Undo", "Redo", "Copy", "Fill down"],
        "Disposal": [
            "Load",
            "Load more",
            "Load all",
            "Import signed-off sheet...",
            "Export the list...",
            "Export the ticked records...",
            "Mark destroyed...",
        ],
        "Connection": [
            "Add profile...",
            "Edit profile...",
            "Remove profile",
            "Test connection",
            "Show the connection panel",
        ],
        "Help": ["Open the log folder", "About Opus Desktop"],
    }
    assert window.open_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert window.quit_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Quit)


def test_window_with_the_sandbox_profile(
    qtbot: QtBot, gui_settings: GuiSettings, tmp_path: Path, sandbox_profile: Profile
) -> None:
    window = make_window(qtbot, gui_settings, tmp_path)
    assert window.windowTitle() == f"{APP_NAME} — Sandbox"
    tab = records(window)
    assert [p.name if p else None for p in tab.profiles] == ["Sandbox"]
    assert window.status_text() == "Profile: Sandbox · not signed in"
    assert gui_settings.get(LAST_PROFILE) == "Sandbox"

    window.panel.select_profile("Sandbox (legacy)")
    assert window.windowTitle() == f"{APP_NAME} — Sandbox (legacy)"
    assert [p.name if p else None for p in tab.profiles] == ["Sandbox", "Sandbox (legacy)"]

    tab.status_message.emit("Opened Register.xlsx: 200 rows")
    assert window.statusBar().currentMessage() == "Opened Register.xlsx: 200 rows"

    window.tabs.setCurrentWidget(window.runs)
    window.open_action.trigger()
    assert tab.opened == [None]
    assert window.tabs.currentWidget() is tab
    assert "PySide6" in window.about_text() and "Python" in window.about_text()


def test_geometry_tab_and_last_profile_are_remembered(
    qtbot: QtBot, gui_settings: GuiSettings, tmp_path: Path, sandbox_profile: Profile
) -> None:
    first = make_window(qtbot, gui_settings, tmp_path)
    first.resize(760, 540)  # within the offscreen screen's 800 x 600
    first.panel.select_profile("Sandbox (legacy)")
    first.tabs.setCurrentWidget(first.runs)
    qtbot.waitUntil(lambda: not first.runs.loading)
    assert first.close()

    again = GuiSettings(gui_settings.path)
    second = make_window(qtbot, again, tmp_path)
    assert second.size() == QSize(760, 540)
    assert second.panel.current_profile().name == "Sandbox (legacy)"  # type: ignore[union-attr]
    assert second.tabs.currentWidget() is second.runs
    assert [p.name if p else None for p in records(second).profiles] == ["Sandbox (legacy)"]


def test_closing_asks_the_records_tab_and_joins_the_threads(
    qtbot: QtBot, gui_settings: GuiSettings, tmp_path: Path
) -> None:
    window = make_window(qtbot, gui_settings, tmp_path)
    tab = records(window)
    tab.allow_close = False
    assert not window.close()
    assert window.isVisible() and tab.close_asked == 1

    started = threading.Event()

    def long_work(state: RunState) -> str:
        started.set()
        while not state.cancel_requested:
            state.wait(0.01)
        return "stopped"

    task = window.runner.start(Task(long_work, name="long"))
    assert started.wait(5)
    tab.allow_close = True
    assert window.close()
    assert task.state.cancel_requested
    assert not window.runner.busy


# -- the error funnel -----------------------------------------------------------------


@pytest.fixture
def no_error_dialog() -> object:
    yield None
    dialog = current_error_dialog()
    if dialog is not None:
        dialog.reject()


def test_an_app_error_shows_its_sentence_and_copies_details(
    qtbot: QtBot, no_error_dialog: object
) -> None:
    dialog = show_error(None, ProfileError('There is no profile named "Prod".'))
    qtbot.addWidget(dialog)
    assert dialog.isVisible()
    assert dialog.message_label.text() == 'There is no profile named "Prod".'
    assert not dialog.details.isVisible()
    qtbot.mouseClick(dialog.toggle, Qt.MouseButton.LeftButton)
    assert dialog.details.isVisible()
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible()  # copying does not close it
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith('There is no profile named "Prod".')
    assert 'ProfileError: There is no profile named "Prod".' in copied
    assert "Opus Desktop 0.1.0, Qt " in copied


def test_a_bug_says_something_went_wrong_with_the_traceback(
    qtbot: QtBot, no_error_dialog: object
) -> None:
    try:
        {}["missing"]
    except KeyError as exc:
        dialog = show_error(None, exc)
    qtbot.addWidget(dialog)
    assert dialog.message_label.text() == "Something went wrong."
    details = dialog.details.toPlainText()
    assert "Traceback (most recent call last)" in details and "KeyError: 'missing'" in details

    # A second error while the first is shown joins it instead of opening another dialog.
    again = show_error(None, ValueError("password=hunter2 was refused"))
    assert again is dialog
    assert dialog.more_label.text() == "1 more problem happened since; see the details."
    assert "password=hunter2" not in dialog.details.toPlainText()
    assert "[removed]" in dialog.details.toPlainText()


def test_uncaught_exceptions_in_threads_reach_the_dialog(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, no_error_dialog: object
) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    install_excepthook()

    def fail() -> None:
        raise RuntimeError("the worker fell over")

    thread = threading.Thread(target=fail)
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: current_error_dialog() is not None)
    dialog = current_error_dialog()
    assert dialog is not None
    assert "RuntimeError: the worker fell over" in dialog.details.toPlainText()
    assert errors._relay is not None


# -- logging, palettes, icons --------------------------------------------------------------


def test_the_log_file_is_private_and_holds_no_secret(tmp_path: Path) -> None:
    path = setup_logging(directory=tmp_path / "logs")
    try:
        logger = logging.getLogger("opus_desktop.test")
        logger.warning("sent Authorization: Bearer %s", "eyJhbGci.eyJzdWIi.c2lnbmF0dXJl")
        try:
            raise ValueError("client_assertion=eyJhbGci.eyJzdWIi.c2ln")
        except ValueError:
            logger.exception("sign-in failed")
    finally:
        close_logging()
    text = path.read_text(encoding="utf-8")
    assert "sent Authorization: [removed]" in text
    assert "sign-in failed" in text and "Traceback" in text
    assert "eyJ" not in text
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_dark_palette_and_its_status_colours(qapp: QApplication) -> None:
    try:
        apply_colour_scheme(qapp, Qt.ColorScheme.Dark)
        assert is_dark(qapp.palette())
        dark_ok = status_colour("ok", qapp.palette())
        apply_colour_scheme(qapp, Qt.ColorScheme.Light)
        assert not is_dark(qapp.palette())
        light_ok = status_colour("ok", qapp.palette())
    finally:
        apply_colour_scheme(qapp, Qt.ColorScheme.Light)
    # Each reads on its own background: light green on dark, dark green on light.
    assert dark_ok.lightness() > 128 > light_ok.lightness()


def test_the_icon_renders_from_its_drawing(qapp: QApplication, tmp_path: Path) -> None:
    written = render_pngs(folder=tmp_path)
    assert [p.name for p in written] == [f"opus-desktop-{s}.png" for s in SIZES]
    for size, path in zip(SIZES, written, strict=True):
        image = QImage(str(path))
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(0, 0).alpha() == 0  # a shape on a transparent ground
        assert image.pixelColor(size // 2, size * 3 // 4).alpha() == 255


def test_the_app_icon_comes_in_every_size(qapp: QApplication) -> None:
    for size in SIZES:
        image = QImage(str(png_path(size)))
        assert (image.width(), image.height()) == (size, size)
        centre = image.pixelColor(size // 2, size * 3 // 4)
        assert centre.alpha() == 255  # the folder, not a transparent hole
    assert not app_icon().isNull()
    assert set(app_icon().availableSizes()) >= {QSize(s, s) for s in SIZES}


# -- the real application in its own process --------------------------------------------


def run_app(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OPUS_DESKTOP_HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-m", "opus_desktop", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_smoke_test_opens_the_window_and_exits_0(tmp_path: Path) -> None:
    done = run_app(tmp_path, "--smoke-test")
    assert done.returncode == 0, done.stderr
    # The window was built, shown and closed: closing wrote its geometry.
    assert "geometry=" in (tmp_path / "home" / "config" / "gui.ini").read_text()


def test_sandbox_smoke_test_selects_the_sandbox_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = run_app(tmp_path, "--sandbox", "--smoke-test")
    assert done.returncode == 0, done.stderr
    monkeypatch.setenv("OPUS_DESKTOP_HOME", str(tmp_path / "home"))
    profile = find_profile("Sandbox")
    assert profile.sandbox and profile.api_url.startswith("http://127.0.0.1:")
    assert "last=Sandbox" in (tmp_path / "home" / "config" / "gui.ini").read_text()
    log = (tmp_path / "home" / "logs" / "opus-desktop.log").read_text()
    assert "sandbox tenant started at http://127.0.0.1:" in log
    assert "Opus Desktop exits with 0" in log


def test_a_home_that_cannot_be_written_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "home").write_text("a file where the home folder should be")
    done = run_app(tmp_path / "home", "--smoke-test")  # home is then home/home: under a file
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"Cannot create the folder {tmp_path / 'home' / 'home' / 'config'}: "
        f"{tmp_path / 'home'} is a file, not a folder; move it away, or set "
        "OPUS_DESKTOP_HOME to a folder you can write to."
    )
