"""Starting the desktop application: `opus-desktop`, `--sandbox` and `--smoke-test`.

    run_gui()                    # the window, on the profile chosen last
    run_gui(sandbox=True)        # a sandbox tenant in this process, its profile, the demo sheet
    run_gui(smoke_test=True)     # open the window, let it settle, close it, exit 0

The application follows the system's light or dark scheme: Fusion style, the platform's
palette when it has one, and a dark palette of our own when the platform says "dark" but
hands over a light palette (which Fusion does on some desktops).

At start the Records tab offers what the last session left unsent (its rows, a run to
resume); `--sandbox` opens the demo sheet when there is nothing to offer.

Two environment variables for developers and tests, never needed by users:

    OPUS_DESKTOP_SANDBOX_FAULTS="latency_ms=300,drop_rate=0.02"
        faults of the in-process sandbox under --sandbox (any of latency_ms, fail_rate,
        throttle_rate, drop_rate, retry_after, token_ttl), to watch a slow run
    OPUS_DESKTOP_TEST_HOOK="package.module:function"
        called with the main window once it is shown (tests drive a real process with it)
"""

from __future__ import annotations

import importlib
import logging
import os
import platform
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QCoreApplication, Qt, QTimer, qVersion
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from opus_desktop import APP_NAME, __version__, paths
from opus_desktop.errors import AppError
from opus_desktop.gui.errors import (
    details_text,
    install_excepthook,
    show_error,
    uninstall_excepthook,
)
from opus_desktop.gui.icons import app_icon, is_dark
from opus_desktop.gui.workers import join_all
from opus_desktop.logs import close_logging, setup_logging

if TYPE_CHECKING:
    from opus_desktop.gui.main_window import MainWindow
    from opus_desktop.sandbox import Sandbox

log = logging.getLogger(__name__)

ORGANISATION = "Opus Desktop"
DESKTOP_FILE = "opus-desktop"
SMOKE_TEST_MS = 500
# Every cell the grid draws is a call into Python, so painting needs the interpreter
# between workers that compute (building a run, writing the draft). Handing it over
# after 1 ms rather than Python's 5 ms keeps the window under a tenth of a second.
SWITCH_INTERVAL = 0.001
FAULTS_VARIABLE = "OPUS_DESKTOP_SANDBOX_FAULTS"
HOOK_VARIABLE = "OPUS_DESKTOP_TEST_HOOK"
_FAULTS = {
    "latency_ms": float,
    "fail_rate": float,
    "throttle_rate": float,
    "drop_rate": float,
    "retry_after": float,
    "token_ttl": int,
}


def tr(text: str) -> str:
    return QCoreApplication.translate("app", text)


def dark_palette() -> QPalette:
    """A calm dark palette for Fusion: grey surfaces, light text, a blue that reads on both."""
    palette = QPalette()
    roles = QPalette.ColorRole
    colours = {
        roles.Window: "#2b2d30",
        roles.WindowText: "#e4e4e4",
        roles.Base: "#1e1f22",
        roles.AlternateBase: "#26282b",
        roles.ToolTipBase: "#3c3f41",
        roles.ToolTipText: "#f0f0f0",
        roles.PlaceholderText: "#8c8c8c",
        roles.Text: "#e4e4e4",
        roles.Button: "#34373b",
        roles.ButtonText: "#e4e4e4",
        roles.BrightText: "#ff6b6b",
        roles.Light: "#45484d",
        roles.Midlight: "#3a3d41",
        roles.Mid: "#2f3134",
        roles.Dark: "#1b1c1e",
        roles.Shadow: "#111111",
        roles.Highlight: "#2f6fc6",
        roles.HighlightedText: "#ffffff",
        roles.Link: "#8ab4f8",
        roles.LinkVisited: "#c58af9",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        palette.setColor(disabled, role, QColor("#7a7a7a"))
    palette.setColor(disabled, roles.Base, QColor("#2b2d30"))  # a disabled field: flat
    palette.setColor(disabled, roles.Button, QColor("#2f3134"))
    palette.setColor(disabled, roles.Highlight, QColor("#44474b"))
    palette.setColor(disabled, roles.HighlightedText, QColor("#a0a0a0"))
    return palette


# Fusion frames a tick box or radio button in the Window colour darkened by 40 % (and
# lightened by 10 %): on a dark window that frame all but vanishes.
INDICATOR_CLASSES = ("QCheckBox", "QRadioButton")
_FUSION_OUTLINE = 1.4 / 1.1


def indicator_palette(palette: QPalette) -> QPalette:
    """`palette` for tick boxes and radio buttons on a dark scheme: their Window role (which
    they never fill, only derive the frame from) set so the frame comes out in the
    placeholder text's grey, clear on the dark window."""
    framed = QPalette(palette)
    grey = palette.color(QPalette.ColorRole.PlaceholderText)
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        framed.setColor(
            group,
            QPalette.ColorRole.Window,
            QColor.fromHsvF(
                grey.hsvHueF(), grey.hsvSaturationF(), min(grey.valueF() * _FUSION_OUTLINE, 1.0)
            ),
        )
    return framed


def apply_colour_scheme(app: QApplication, scheme: Qt.ColorScheme | None = None) -> None:
    """Use the palette of `scheme` (default: what the system says now).

    The platform's own palette is kept when it matches the scheme (a KDE or Windows
    theme, say); only a light palette under a dark scheme is replaced.
    """
    scheme = app.styleHints().colorScheme() if scheme is None else scheme
    app.setPalette(QPalette())  # an empty palette: back to the platform's and the style's
    if scheme == Qt.ColorScheme.Dark and not is_dark(app.palette()):
        app.setPalette(dark_palette())
    palette = app.palette()
    for name in INDICATOR_CLASSES:  # set for both schemes, so a switch back undoes it
        framed = indicator_palette(palette) if is_dark(palette) else palette
        app.setPalette(framed, name)  # type: ignore[arg-type]  # the stub says bytes; PySide6 takes str


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with name, icon, high-DPI policy, style and palette."""
    sys.setswitchinterval(SWITCH_INTERVAL)
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(ORGANISATION)
    app.setDesktopFileName(DESKTOP_FILE)
    app.setWindowIcon(app_icon())
    app.setStyle("Fusion")
    apply_colour_scheme(app)
    app.styleHints().colorSchemeChanged.connect(lambda scheme: apply_colour_scheme(app, scheme))
    return app


def start_sandbox() -> tuple[Sandbox, str]:
    """Start a sandbox tenant on a free loopback port and write its profiles.

    Returns the running Sandbox and the name of the profile to select.
    """
    from opus_desktop.sandbox import Sandbox, SandboxConfig
    from opus_desktop.sandbox_profiles import save_sandbox_profiles

    config = replace(SandboxConfig(directory=paths.sandbox_dir(), port=0), **sandbox_faults())
    sandbox = Sandbox(config).start()
    try:
        profile = save_sandbox_profiles(sandbox)
    except BaseException:
        sandbox.stop()
        raise
    log.info("sandbox tenant started at %s", sandbox.url)
    return sandbox, profile.name


def sandbox_faults(text: str | None = None) -> dict[str, Any]:
    """The sandbox faults named in OPUS_DESKTOP_SANDBOX_FAULTS ("name=value,..."); an
    entry that cannot be read is logged and left out."""
    text = os.environ.get(FAULTS_VARIABLE, "") if text is None else text
    faults: dict[str, Any] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = entry.partition("=")
        kind = _FAULTS.get(name.strip())
        try:
            if kind is None:
                raise ValueError(f"unknown fault {name.strip()!r}")
            faults[name.strip()] = kind(value.strip())
        except ValueError as exc:
            log.warning("%s: %r left out (%s)", FAULTS_VARIABLE, entry, exc)
    if faults:
        log.info("the sandbox runs with faults %s", faults)
    return faults


def run_test_hook(window: MainWindow) -> None:
    """Call the function OPUS_DESKTOP_TEST_HOOK names with the window (tests only)."""
    target = os.environ.get(HOOK_VARIABLE)
    if not target:
        return
    module, _, name = target.partition(":")
    log.warning("%s: calling %s", HOOK_VARIABLE, target)
    getattr(importlib.import_module(module), name)(window)


def demo_sheet() -> Path:
    from opus_desktop.sandbox_profiles import demo_sheet_path

    return Path(demo_sheet_path())


def run_gui(sandbox: bool = False, smoke_test: bool = False) -> int:
    """Run the desktop application; returns the exit code."""
    log_file = setup_logging()
    log.info(
        "Opus Desktop %s starting (Qt %s, PySide6 %s, Python %s, %s); log %s",
        __version__,
        qVersion(),
        pyside_version,
        platform.python_version(),
        platform.platform(),
        log_file,
    )
    app = make_application()
    install_excepthook()
    running_sandbox: Sandbox | None = None
    try:
        sandbox_profile: str | None = None
        sandbox_error: BaseException | None = None
        if sandbox:
            try:
                running_sandbox, sandbox_profile = start_sandbox()
            except (AppError, OSError, RuntimeError, ValueError) as exc:
                log.warning("the sandbox could not start: %s", exc)
                sandbox_error = exc
        try:
            window = _build_window(sandbox_profile)
        except Exception as exc:
            return _cannot_start(exc, smoke_test)
        sheet = demo_sheet() if sandbox_profile is not None else None
        if not smoke_test or sheet is not None:
            QTimer.singleShot(0, lambda: window.start(sheet))
        QTimer.singleShot(0, lambda: run_test_hook(window))
        if sandbox_error is not None:
            failure = _sandbox_failure(sandbox_error)
            QTimer.singleShot(0, lambda: show_error(window, failure))
        if smoke_test:
            QTimer.singleShot(SMOKE_TEST_MS, lambda: _end_smoke_test(app, window))
        code = app.exec()
        log.info("Opus Desktop exits with %d", code)
        return code
    finally:
        # The window joined its own runner; this catches any thread started after that.
        join_all()
        uninstall_excepthook()
        if running_sandbox is not None:
            running_sandbox.stop()
        close_logging()


def _build_window(profile: str | None) -> MainWindow:
    from opus_desktop.gui.main_window import MainWindow
    from opus_desktop.gui.settings import LAST_PROFILE, GuiSettings

    settings = GuiSettings()
    if profile is not None:
        settings.set(LAST_PROFILE, profile)  # the window starts on it, as if chosen last
    window = MainWindow(settings)
    window.show()
    return window


def _cannot_start(exc: BaseException, smoke_test: bool) -> int:
    """The window could not be built: say why (stderr under --smoke-test) and return 1,
    or the AppError's exit code (2 for a home folder that cannot be written)."""
    if isinstance(exc, AppError):  # a sentence for the user, not a fault: no traceback
        log.error("the main window could not be built: %s", exc.message)
    else:
        log.error("the main window could not be built", exc_info=exc)
    if smoke_test:
        print(exc.message if isinstance(exc, AppError) else details_text(exc), file=sys.stderr)
    else:
        show_error(None, exc).exec()
    return exc.exit_code if isinstance(exc, AppError) else 1


def _sandbox_failure(exc: BaseException) -> AppError:
    """What the dialog says: that the sandbox did not start, and why (an AppError's own
    sentence alone, a folder in the way say, left the user guessing what it was about)."""
    if isinstance(exc, AppError):
        return AppError(
            tr("The sandbox tenant could not start: {why} The app runs without it.").format(
                why=exc.message
            )
        )
    return AppError(
        tr("The sandbox tenant could not start ({why}). The app runs without it.").format(why=exc)
    )


def _end_smoke_test(app: QApplication, window: QWidget) -> None:
    shown = window.isVisible()
    window.close()
    app.exit(0 if shown and not window.isVisible() else 1)
