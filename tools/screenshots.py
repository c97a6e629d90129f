"""Take the screenshots in docs/screenshots that need a walk through the window.

    .venv/bin/python tools/screenshots.py [--dark] [--out DIR] [SCENE ...]

Each scene starts the app in its own process (offscreen, a 1280x800 screen, a fresh home
folder) and drives it through OPUS_DESKTOP_TEST_HOOK=screenshots:go. Dialogs are drawn
into the window's picture where they stand, as a screen grab would show them.

Scenes: no-profiles, editor-empty (after no-profiles, on its home), failed (connection
failed, error dialog; also the panel at 1024x768), walk (close asks, failed row, Runs
actions, keys not due, certificate), restore (a cancelled run, then the next start).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENES = ("no-profiles", "editor-empty", "failed", "walk", "restore")
WRONG_CLIENT_ID = "0b7f7a52-1111-4c4c-9d9d-222233334444"
BAD_TERM = "Records/Finance/Invoice"  # the demo's term is ".../Invoices": Opus refuses it


# --- in the app's process ----------------------------------------------------------


def settle(ms: int = 300) -> None:
    from PySide6.QtWidgets import QApplication

    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def until(cond: Any, ms: int = 30000) -> bool:
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end and not cond():
        settle(50)
    return bool(cond())


def save(widget: Any, name: str, dialogs: bool = True) -> None:
    """The widget's picture with the visible dialogs drawn over it where they stand."""
    from PySide6.QtGui import QPainter
    from PySide6.QtWidgets import QApplication

    picture = widget.grab()
    if dialogs:
        painter = QPainter(picture)
        for top in QApplication.topLevelWidgets():
            if top.isVisible() and top is not widget and top is not widget.window():
                at = top.mapToGlobal(top.rect().topLeft()) - widget.mapToGlobal(
                    widget.rect().topLeft()
                )
                painter.drawPixmap(at, top.grab())
        painter.end()
    path = f"{os.environ['SHOT_OUT']}/{name}-{os.environ['SHOT_PALETTE']}.png"
    picture.save(path)
    print("saved", path, picture.size().toTuple(), flush=True)


def go(window: Any) -> None:
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    def run() -> None:
        app = QApplication.instance()
        if os.environ["SHOT_PALETTE"] == "dark":
            from opus_desktop.gui.app import apply_colour_scheme

            apply_colour_scheme(app, Qt.ColorScheme.Dark)  # type: ignore[arg-type]
        window.resize(1280, 800)
        window.activateWindow()
        settle(800)
        try:
            globals()["scene_" + os.environ["SHOT_SCENE"].replace("-", "_")](window)
        finally:
            QApplication.exit(0)  # not quit(): that closes the window, which may ask

    QTimer.singleShot(2500, run)


def scene_no_profiles(window: Any) -> None:
    save(window, "no-profiles")


def scene_prepare(window: Any) -> None:
    settle(500)  # a --sandbox start writes the sandbox profiles into the home


def scene_editor_empty(window: Any) -> None:
    settle(1000)
    prompt = window.records_widget.restore_prompt()
    if prompt is not None:  # the demo rows of the --sandbox start are offered: discarded
        print("offered:", prompt.text().replace("\n", " "), flush=True)
        next(b for b in prompt.buttons() if "Discard" in b.text()).click()
        settle(800)
    save(window, "editor-empty")


def scene_failed(window: Any) -> None:
    import dataclasses
    from pathlib import Path

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from opus_desktop.profiles import save_profile

    panel = window.panel
    profile = panel.current_profile()
    save_profile(dataclasses.replace(profile, client_id=WRONG_CLIENT_ID))
    panel.reload(select=profile.name)
    settle(500)
    panel.test_connection()
    until(lambda: panel.test is None and panel.sign_in.status == "failed")
    settle(800)
    save(panel, "connection-failed", dialogs=False)
    save(window, "connection-failed-window", dialogs=False)
    window.resize(1024, 768)
    settle(500)
    QTest.keyClick(window, Qt.Key.Key_F9)  # the panel folds below 1200 px; F9 shows it
    settle(800)
    save(window, "connection-failed-1024", dialogs=False)
    window.resize(1280, 800)
    settle(500)
    window.open_sheet(Path("/home/jane/Documents/records 2026.xlsx"))  # gone since
    settle(1500)
    save(window, "error-dialog-window")
    from PySide6.QtWidgets import QApplication

    for top in QApplication.topLevelWidgets():
        if top.isVisible() and top is not window:
            save(top, "error-dialog")
            print("dialog", type(top).__name__, top.windowTitle(), flush=True)


def scene_walk(window: Any) -> None:
    from PySide6.QtCore import QPoint, Qt, QTimer
    from PySide6.QtWidgets import QApplication, QToolTip

    from opus_desktop.gui.editor.filters import RowFilter

    records = window.records_widget
    until(lambda: records.model.rowCount() == 200)
    rows = list(records.model.rows())
    row = next(r for r in rows if r.source == 56)
    records.jump_to(row, 2)
    settle(300)
    view = records.view
    view.model().setData(view.currentIndex(), BAD_TERM, Qt.ItemDataRole.EditRole)
    settle(300)
    panel = records.submit_panel
    panel.submit_button.click()
    settle(2500)

    def asked() -> None:
        settle(300)
        save(window, "submit-close-asks")
        box = QApplication.activeModalWidget()
        print("asked", box.windowTitle() if box else None, flush=True)
        if box is not None:
            box.reject()  # Cancel: the run goes on

    QTimer.singleShot(400, asked)
    window.close()
    until(lambda: panel.summary is not None and panel.summary.isVisible(), 90000)
    settle(500)
    panel.summary.done(0)
    settle(300)
    records.set_filter(RowFilter.FAILED)
    settle(600)
    view.setFocus()
    index = view.model().index(0, 3)
    view.setCurrentIndex(index)
    settle(300)
    rect = view.visualRect(index)
    QToolTip.showText(
        view.viewport().mapToGlobal(rect.center() + QPoint(0, 14)),
        str(view.model().data(index, Qt.ItemDataRole.ToolTipRole)),
        view.viewport(),
    )
    settle(700)
    save(window, "submit-failed-row")
    QToolTip.hideText()
    records.set_filter(RowFilter.ALL)
    window.tabs.setCurrentIndex(2)
    settle(300)
    window.runs.refresh()
    settle(2000)
    save(window, "runs-actions")
    disposal_walk(window)


def disposal_walk(window: Any) -> None:
    import tempfile

    from openpyxl import load_workbook
    from PySide6.QtCore import QItemSelectionModel

    window.tabs.setCurrentIndex(1)
    settle(300)
    tab = window.disposal
    tab.load()
    until(lambda: tab.model.rowCount() > 0 and not tab.tasks.busy)
    settle(500)
    sheet = Path(tempfile.mkdtemp()) / "signed off.xlsx"
    tab.export(sheet)
    until(lambda: sheet.exists() and not tab.tasks.busy)
    settle(500)
    book = load_workbook(sheet)
    page = book.worksheets[0]
    keep = 12
    page.delete_rows(2 + keep, page.max_row)
    last = [cell.value for cell in page[1 + keep]]
    last[0] = "REC-99999"
    page.append(last)
    book.save(sheet)
    tab.import_sheet(sheet)
    box = None
    if until(lambda: tab.loader.message_box is not None and tab.loader.message_box.isVisible()):
        box = tab.loader.message_box
        settle(300)
        save(box, "disposal-not-due")
        save(window, "disposal-not-due-window")
        box.done(0)
    settle(500)
    view = tab.view
    view.selectionModel().clearSelection()
    view.setCurrentIndex(view.model().index(0, 1), )
    view.selectionModel().select(
        view.model().index(0, 1), QItemSelectionModel.SelectionFlag.NoUpdate
    )
    dialog = tab.mark_destroyed()
    settle(500)
    if dialog is None:
        print("no confirmation", flush=True)
        return
    dialog.justification_edit.setPlainText(
        "Retention schedule FIN-7 ended; approved by the records committee, ref. RC-2026-114."
    )
    dialog.operator_edit.setText("Jane Officer")
    dialog.organisation_edit.setText("Contoso Ltd")
    dialog.typed_edit.setText(str(len(tab.model.checked_keys())))
    settle(300)
    dialog.ok_button.click()
    until(lambda: tab.destroyer.last_result is not None, 90000)
    settle(1000)
    print("certificate", tab.destroyer.last_result.certificate, flush=True)


def scene_restore(window: Any) -> None:
    records = window.records_widget
    if os.environ.get("SHOT_STEP") == "2":
        until(lambda: records.restore_prompt() is not None, 20000)
        settle(800)
        save(window, "submit-restore-prompt")
        return
    until(lambda: records.model.rowCount() == 200)
    panel = records.submit_panel
    panel.submit_button.click()
    until(lambda: "records" in panel.progress_text() if hasattr(panel, "progress_text") else False, 3000)
    settle(4000)
    panel.cancel_button.click()
    until(lambda: panel.summary is not None and panel.summary.isVisible(), 60000)
    settle(500)
    panel.summary.done(0)
    settle(300)


# --- the driver ----------------------------------------------------------------------


def start(scene: str, home: Path, out: Path, dark: bool, sandbox: bool, **env: str) -> None:
    screen = home.parent / "screen.json"
    screen.write_text(json.dumps({
        "synchronousWindowSystemEvents": False,
        "windowFrameMargins": False,
        "screens": [{"name": "Offscreen", "x": 0, "y": 0, "width": 1280, "height": 800,
                     "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}],
    }))
    variables = dict(
        os.environ,
        OPUS_DESKTOP_HOME=str(home),
        OPUS_DESKTOP_SANDBOX_FAULTS=env.pop("faults", "latency_ms=250"),
        QT_QPA_PLATFORM=f"offscreen:configfile={screen}",
        PYTHONPATH=str(ROOT / "tools"),
        OPUS_DESKTOP_TEST_HOOK="screenshots:go",
        SHOT_SCENE=scene,
        SHOT_OUT=str(out),
        SHOT_PALETTE="dark" if dark else "light",
        **env,
    )
    command = [str(ROOT / ".venv/bin/opus-desktop"), *(["--sandbox"] if sandbox else [])]
    done = subprocess.run(command, env=variables, capture_output=True, text=True, timeout=int(os.environ.get("SHOT_TIMEOUT", "300")))
    for line in (done.stdout + done.stderr).splitlines():
        if "propagateSizeHints" not in line:
            print(f"[{scene}] {line}")


def main(argv: list[str]) -> int:
    dark = "--dark" in argv
    out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else Path("/tmp/shots")
    scenes = [a for a in argv if a in SCENES] or list(SCENES)
    out.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="opus-shots-"))
    # the home under /home/jane, so paths in the pictures read as a user's
    home = Path("/home/jane/OpusDesktop")
    for scene in scenes:
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        if scene == "no-profiles":
            start(scene, home, out, dark, sandbox=False)
        elif scene == "editor-empty":
            start("prepare", home, out, dark, sandbox=True)
            start(scene, home, out, dark, sandbox=False)
        elif scene == "restore":
            start(scene, home, out, dark, sandbox=True, SHOT_STEP="1")
            start(scene, home, out, dark, sandbox=True, SHOT_STEP="2")
        else:
            start(scene, home, out, dark, sandbox=True)
    shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
