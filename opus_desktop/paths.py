"""Where the app keeps its files.

platformdirs gives the usual per-user folders; OPUS_DESKTOP_HOME moves config, data
and logs under one folder (tests, portable use). Every folder is private to the user.

Each folder function creates its folder unless told `create=False`: what only reads
(listing profiles, runs, the settings) asks without creating, so it works in a home
that cannot be written to, and finds nothing there yet. A folder that cannot be created
is a FolderError saying which folder and why in one sentence (exit 2), never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
from importlib import resources
from pathlib import Path

import platformdirs

from opus_desktop.errors import AppError

HOME_VARIABLE = "OPUS_DESKTOP_HOME"
_APP = "opus-desktop"
READ_ONLY_ERRORS = (errno.EACCES, errno.EPERM, errno.EROFS)


class FolderError(AppError):
    """A folder of the app (or a report's, a certificate's) that cannot be created or
    written to: read-only, on a full disk, or in the way of a file."""


def _home() -> Path | None:
    value = os.environ.get(HOME_VARIABLE, "").strip()
    return Path(value).expanduser() if value else None


def folder_error(path: Path, exc: OSError) -> FolderError:
    """The sentence for a folder `path` that could not be created or made private."""
    if exc.errno in READ_ONLY_ERRORS:
        existing = next((p for p in (path, *path.parents) if p.exists()), path)
        return FolderError(
            f"The folder {existing} is read-only, so Opus Desktop cannot keep its files in "
            f"{path}: make it writable, or set {HOME_VARIABLE} to a folder you can write to."
        )
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), path)
        return FolderError(
            f"Cannot create the folder {path}: {blocker} is a file, not a folder; move it "
            f"away, or set {HOME_VARIABLE} to a folder you can write to."
        )
    if exc.errno == errno.ENOSPC:
        return FolderError(f"Cannot create the folder {path}: the disk is full.")
    return FolderError(f"Cannot create the folder {path}: {exc.strerror or exc}.")


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable by the user only; return it (FolderError if
    it cannot be)."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise folder_error(path, exc) from None
    if os.name == "posix":
        # A folder there already that cannot be changed (a read-only home) is used as it
        # is: reading from it works, and writing into it fails with its own sentence.
        with contextlib.suppress(PermissionError, OSError):
            os.chmod(path, 0o700)
    return path


def _made(path: Path, create: bool) -> Path:
    return private_dir(path) if create else path


def config_dir(*, create: bool = True) -> Path:
    home = _home()
    base = home / "config" if home else Path(platformdirs.user_config_dir(_APP, appauthor=False))
    return _made(base, create)


def data_dir(*, create: bool = True) -> Path:
    home = _home()
    base = home / "data" if home else Path(platformdirs.user_data_dir(_APP, appauthor=False))
    return _made(base, create)


def log_dir(*, create: bool = True) -> Path:
    home = _home()
    base = home / "logs" if home else Path(platformdirs.user_log_dir(_APP, appauthor=False))
    return _made(base, create)


def profiles_dir(*, create: bool = True) -> Path:
    return _made(config_dir(create=create) / "profiles", create)


def journal_path(*, create: bool = True) -> Path:
    """The journal; with `create`, its folder is made first."""
    return data_dir(create=create) / "journal.sqlite3"


def audit_log_path(*, create: bool = True) -> Path:
    return data_dir(create=create) / "audit.jsonl"


def sandbox_dir() -> Path:
    return private_dir(data_dir() / "sandbox")


def demo_sheet_path() -> str:
    """The demo sheet that `--sandbox` opens (a file of the package)."""
    return str(resources.files("opus_desktop").joinpath("resources/demo/demo-records.xlsx"))
