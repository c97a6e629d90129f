"""The window starts without what only later work needs: the HTTP stack and sign-in
(httpx, jwt, cryptography), the keyring, the sheet writers and readers, the import
dialog, and the disposal machinery. Each loads when first used. Checked in a fresh
interpreter, since this one has imported them all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LATER = (
    "httpx",
    "jwt",
    "keyring",
    "openpyxl",
    "xlsxwriter",
    "python_calamine",
    "opus_desktop.usecases.disposing",
    "opus_desktop.jobs.disposal",
    "opus_desktop.jobs.due",
    "opus_desktop.gui.importer.dialog",
    "opus_desktop.documents",
    "opus_desktop.opus.auth",
    "opus_desktop.opus.http",
    "cryptography",
    "opus_desktop.gui.connection.profile_dialog",
)

SHOW_THE_WINDOW = """
from opus_desktop.gui.app import make_application, _build_window
app = make_application()
window = _build_window(None)
app.processEvents()
shown = window.isVisible()
window.close()
assert shown
"""


def loaded_after(code: str, home: Path) -> list[str]:
    """Which of LATER are in sys.modules once `code` ran in a fresh interpreter."""
    report = f"import json, sys\nprint(json.dumps([m for m in {LATER!r} if m in sys.modules]))"
    probe = f"{code}\n{report}"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(home)}
    env["XDG_CONFIG_HOME"] = env["XDG_DATA_HOME"] = env["XDG_STATE_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_importing_the_main_window_loads_none_of_them(tmp_path: Path) -> None:
    assert loaded_after("import opus_desktop.gui.main_window", tmp_path) == []


def test_showing_the_main_window_loads_none_of_them(tmp_path: Path) -> None:
    assert loaded_after(SHOW_THE_WINDOW, tmp_path) == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import opus_desktop.usecases.disposing", "opus_desktop.usecases.disposing"),
        ("from opus_desktop.opus import TokenProvider", "jwt"),
        ("import opus_desktop.opus.http", "httpx"),
    ],
)
def test_the_probe_sees_a_module_load(code: str, expected: str, tmp_path: Path) -> None:
    # Guards the tests above against passing because the probe cannot see one load.
    assert expected in loaded_after(code, tmp_path)


def test_the_commands_parsers_load_no_keyring(tmp_path: Path) -> None:
    # The audit log's key is read when a log is sealed or checked, not when a command
    # such as `opus-desktop submit` builds its parser.
    assert "keyring" not in loaded_after("import opus_desktop.cli.commands", tmp_path)
