"""Where the app keeps its files.

platformdirs gives the usual per-user folders; OPUS_DESKTOP_HOME moves config, data
and logs under one folder (tests, portable use). Every folder is private to the user.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

HOME_VARIABLE = "OPUS_DESKTOP_HOME"
_APP = "opus-desktop"


def _home() -> Path | None:
    value = os.environ.get(HOME_VARIABLE, "").strip()
    return Path(value).expanduser() if value else None


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable by the user only; return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name == "posix":
        os.chmod(path, 0o700)
    return path


def config_dir() -> Path:
    home = _home()
    base = home / "config" if home else Path(platformdirs.user_config_dir(_APP, appauthor=False))
    return private_dir(base)


def data_dir() -> Path:
    home = _home()
    base = home / "data" if home else Path(platformdirs.user_data_dir(_APP, appauthor=False))
    return private_dir(base)


def log_dir() -> Path:
    home = _home()
    base = home / "logs" if home else Path(platformdirs.user_log_dir(_APP, appauthor=False))
    return private_dir(base)


def profiles_dir() -> Path:
    return private_dir(config_dir() / "profiles")


def journal_path() -> Path:
    return data_dir() / "journal.sqlite3"


def audit_log_path() -> Path:
    return data_dir() / "audit.jsonl"


def sandbox_dir() -> Path:
    return private_dir(data_dir() / "sandbox")
