"""The window's own settings, declared once with their type, default and meaning.

Stored with QSettings in INI format at `<config>/gui.ini` (never the registry), so
OPUS_DESKTOP_HOME moves them with everything else and a test gets a fresh file. Profiles
and their secrets are not kept here: see profiles.py.

    settings = GuiSettings()
    settings.get(LAST_PROFILE)          # "" when never set
    settings.set(LAST_PROFILE, "Sandbox")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QByteArray, QSettings

from opus_desktop import paths

FILE_NAME = "gui.ini"

T = TypeVar("T", str, int, bool, QByteArray)


@dataclass(frozen=True)
class Option(Generic[T]):
    key: str
    default: T
    title: str

    @property
    def type(self) -> type:
        return type(self.default)


WINDOW_GEOMETRY: Option[QByteArray] = Option(
    "window/geometry", QByteArray(), "Position and size of the main window"
)
WINDOW_STATE: Option[QByteArray] = Option(
    "window/state", QByteArray(), "Docks and toolbars of the main window"
)
CURRENT_TAB: Option[int] = Option("window/tab", 0, "The tab shown last")
LAST_PROFILE: Option[str] = Option("profiles/last", "", "The profile chosen last")
LAST_FOLDER: Option[str] = Option("files/last_folder", "", "The folder a file was chosen in last")

OPTIONS: tuple[Option[QByteArray] | Option[int] | Option[str], ...] = (
    WINDOW_GEOMETRY,
    WINDOW_STATE,
    CURRENT_TAB,
    LAST_PROFILE,
    LAST_FOLDER,
)


def settings_path() -> Path:
    return paths.config_dir() / FILE_NAME


class GuiSettings:
    """Typed access to gui.ini; values of the wrong type read as the default."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else settings_path()
        self._qsettings = QSettings(str(self.path), QSettings.Format.IniFormat)

    def get(self, option: Option[T]) -> T:
        value: Any = self._qsettings.value(option.key, option.default)
        if option.type is bool and isinstance(value, str):
            value = value.strip().lower() in ("true", "1", "yes")  # INI keeps booleans as text
        elif option.type is int and isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                return option.default
        if not isinstance(value, type(option.default)):
            return option.default
        return value

    def set(self, option: Option[T], value: T) -> None:
        if not isinstance(value, option.type):
            raise TypeError(f"{option.key} takes a {option.type.__name__}, not {value!r}")
        self._qsettings.setValue(option.key, value)

    def remove(self, option: Option[T]) -> None:
        self._qsettings.remove(option.key)

    def sync(self) -> None:
        """Write pending changes to disk now (QSettings also does so on its own)."""
        self._qsettings.sync()
