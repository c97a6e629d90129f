"""The app's settings, declared once here with their type, default and title.

    values = load()                        # defaults for anything missing or unusable
    values.get(REQUEST_TIMEOUT)            # 30.0
    values.set(REQUEST_TIMEOUT, 60)        # checked: SettingError names the setting and why
    save(values)                           # <config>/settings.json, readable by the user only

The settings dialog (gui/settings_dialog.py) is built from SETTINGS, so adding a setting
here adds its field there. TLS verification is deliberately not an app setting: it is on
(the system trust store) for every profile, and turning it off is a per-profile choice
made in the profile dialog. Secrets never belong here: a proxy address with a user name
and password is refused.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from opus_desktop import paths
from opus_desktop.errors import AppError
from opus_desktop.files import write_private

log = logging.getLogger(__name__)

FILE_NAME = "settings.json"

T = TypeVar("T", str, int, float)


class SettingError(AppError):
    """A setting's value cannot be used; the message names the setting."""

    exit_code = 2


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    note: str = ""  # shown above the section's fields


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One setting: its key in the file, its type (that of the default), and its words.

    `choices` makes it a pick from (value, label) pairs; `minimum`/`maximum` bound a number;
    `check` returns a sentence when a value cannot work; `placeholder` is the grey hint in
    an empty text field; `enabled_by` = (key, value) makes the field editable only while
    that other setting has that value.
    """

    key: str
    default: T
    title: str
    description: str
    section: str
    choices: tuple[tuple[T, str], ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    suffix: str = ""
    placeholder: str = ""
    check: Callable[[T], str | None] | None = None
    enabled_by: tuple[str, object] | None = None

    @property
    def kind(self) -> type:
        return type(self.default)

    def parse(self, raw: object) -> T:
        """`raw` as this setting's type, or SettingError saying what is wrong with it."""
        value: Any = raw
        if self.kind is float and isinstance(raw, int) and not isinstance(raw, bool):
            value = float(raw)
        if self.kind is str and isinstance(raw, str):
            value = raw.strip()
        if isinstance(value, bool) or not isinstance(value, self.kind):
            raise SettingError(
                f'The setting "{self.title}" takes {_kind_words(self.kind)}, not {raw!r}.'
            )
        checked: Any = value  # of the right type now; Any, since mypy cannot follow `kind`
        if self.choices and checked not in [choice for choice, _ in self.choices]:
            labels = ", ".join(f'"{choice}"' for choice, _ in self.choices)
            raise SettingError(f'The setting "{self.title}" is one of {labels}, not {raw!r}.')
        low, high = self.minimum, self.maximum
        if (low is not None and checked < low) or (high is not None and checked > high):
            raise SettingError(
                f'The setting "{self.title}" goes from {_number(low)} to {_number(high)}'
                f"{self.suffix}, not {_number(checked)}."
            )
        if self.check is not None:
            problem = self.check(checked)
            if problem:
                raise SettingError(f'The setting "{self.title}": {problem}')
        result: T = checked
        return result


def _kind_words(kind: type) -> str:
    return {str: "text", int: "a whole number", float: "a number"}.get(kind, kind.__name__)


def _number(value: float | None) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- the declarations ---------------------------------------------------------------------------

PROXY_SYSTEM = "system"
PROXY_NONE = "none"
PROXY_URL_MODE = "url"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def check_proxy_url(url: str) -> str | None:
    """A sentence when `url` cannot be used as the proxy's address, else None."""
    if not url:
        return None  # only needed when the mode is "url": see Settings.check
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f'"{url}" is not a proxy address such as http://proxy.example.com:8080.'
    if parts.username or parts.password:
        return (
            "the address holds a user name or password, which would be stored in a plain "
            "settings file. Give the address without them."
        )
    try:
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        return f'the port in "{url}" is not a number from 0 to 65535.'
    return None


SECTIONS = (
    Section(
        "network",
        "Network",
        "TLS certificates are always checked against this computer's trust store, which "
        "includes any root certificate your IT department installed. Turning the check off "
        "is a setting of one profile (Connection > Edit profile), never of the whole app.",
    ),
    Section("runs", "Runs"),
    Section("disposal", "Disposal certificates"),
    Section("logs", "Log files"),
)

PROXY_MODE: Setting[str] = Setting(
    "network.proxy_mode",
    PROXY_SYSTEM,
    "Proxy",
    "How the app reaches Opus: through the proxy this computer is set up with (Windows "
    "and macOS settings, or the HTTPS_PROXY variable), directly, or through the proxy "
    "named below. A profile's own proxy wins over this.",
    "network",
    choices=(
        (PROXY_SYSTEM, "The system's proxy settings"),
        (PROXY_NONE, "No proxy: connect directly"),
        (PROXY_URL_MODE, "This proxy:"),
    ),
)
PROXY_URL: Setting[str] = Setting(
    "network.proxy_url",
    "",
    "Proxy address",
    "The proxy's address and port, e.g. http://proxy.example.com:8080.",
    "network",
    placeholder="http://proxy.example.com:8080",
    check=check_proxy_url,
    enabled_by=(PROXY_MODE.key, PROXY_URL_MODE),
)
REQUEST_TIMEOUT: Setting[float] = Setting(
    "network.timeout",
    30.0,
    "Request timeout",
    "The longest one call to Opus may take in all: connecting, sending and its whole "
    "answer, to the last byte. An answer slower than this counts as none, and the call is "
    "tried again.",
    "network",
    minimum=5,
    maximum=600,
    suffix=" s",
)
CONCURRENCY: Setting[int] = Setting(
    "runs.concurrency",
    4,
    "Calls at a time",
    "How many calls to Opus a run keeps in flight at once when the command line does not "
    "say (--concurrency), and what new profiles start with. Fewer are made while the "
    "service is busy.",
    "runs",
    minimum=1,
    maximum=32,
)
OUTAGE_LIMIT: Setting[float] = Setting(
    "runs.outage_limit",
    600.0,
    "Give up after",
    "How long a run or a disposal keeps trying while Opus gives no answer at all before "
    "it stops, to be resumed later (--outage-limit on the command line). Nothing is lost "
    "when it stops.",
    "runs",
    minimum=1,
    maximum=86400,
    suffix=" s",
)
OPERATOR_NAME: Setting[str] = Setting(
    "disposal.operator",
    "",
    "Operator name",
    "Your name as it appears on certificates of destruction and in the audit log.",
    "disposal",
    placeholder="Your name, e.g. Jane Smith",
    check=lambda name: "keep it under 200 characters." if len(name) > 200 else None,
)
LOG_LEVEL: Setting[str] = Setting(
    "logs.level",
    "INFO",
    "Detail",
    "How much the log files hold. Normal keeps one line per call to Opus (method, address, "
    "status, time) and never a record's contents; Everything is for tracking down a fault "
    "with support.",
    "logs",
    choices=(
        ("DEBUG", "Everything (for support)"),
        ("INFO", "Normal"),
        ("WARNING", "Warnings and errors only"),
        ("ERROR", "Errors only"),
    ),
)

SETTINGS: tuple[Setting[Any], ...] = (
    PROXY_MODE,
    PROXY_URL,
    REQUEST_TIMEOUT,
    CONCURRENCY,
    OUTAGE_LIMIT,
    OPERATOR_NAME,
    LOG_LEVEL,
)
BY_KEY: dict[str, Setting[Any]] = {setting.key: setting for setting in SETTINGS}


# -- values -------------------------------------------------------------------------------------


class Settings:
    """A set of values for SETTINGS; a value never set reads as its default."""

    def __init__(self, values: Mapping[str, object] | None = None) -> None:
        self._values: dict[str, object] = {}
        for key, raw in (values or {}).items():
            setting = BY_KEY.get(key)
            if setting is not None:
                self.set(setting, raw)

    def get(self, setting: Setting[T]) -> T:
        value = self._values.get(setting.key, setting.default)
        result: T = value  # type: ignore[assignment]  # set() only stores parsed values
        return result

    def set(self, setting: Setting[T], raw: object) -> None:
        self._values[setting.key] = setting.parse(raw)

    def as_dict(self) -> dict[str, object]:
        """Every setting's value, defaults included, by key."""
        return {setting.key: self.get(setting) for setting in SETTINGS}

    def check(self) -> None:
        """Raise SettingError for values that cannot work together."""
        if self.get(PROXY_MODE) == PROXY_URL_MODE and not self.get(PROXY_URL):
            raise SettingError(
                'The proxy is set to "This proxy:" but no proxy address is given: enter '
                "one, such as http://proxy.example.com:8080, or choose another proxy setting."
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Settings({self.as_dict()!r})"

    # What the rest of the app asks.

    def proxy(self) -> str | None:
        """The proxy address to use, when one is named; None otherwise."""
        if self.get(PROXY_MODE) == PROXY_URL_MODE:
            return self.get(PROXY_URL) or None
        return None

    def system_proxy(self) -> bool:
        """Whether the system's proxy settings (and HTTPS_PROXY, NO_PROXY) apply."""
        return self.get(PROXY_MODE) == PROXY_SYSTEM

    def log_level(self) -> int:
        level: int = logging.getLevelName(self.get(LOG_LEVEL))
        return level


def settings_path(*, create: bool = True) -> Path:
    """The settings file; with `create`, its folder is made first (reading needs none)."""
    return paths.config_dir(create=create) / FILE_NAME


def load(path: Path | None = None) -> Settings:
    """The saved settings; defaults for a missing file and for any unusable value.

    A damaged file never stops the app: what cannot be read is logged and replaced by
    its default, and the file is left as it is until the settings are saved again.
    """
    path = path or settings_path(create=False)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):  # none yet (a file where a folder goes)
        return Settings()
    except OSError as exc:
        log.warning("the settings file %s cannot be read (%s); using defaults", path, exc)
        return Settings()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        log.warning("the settings file %s is damaged (%s); using defaults", path, exc.msg)
        return Settings()
    except RecursionError:
        log.warning("the settings file %s is nested too deeply; using defaults", path)
        return Settings()
    if not isinstance(data, dict):
        log.warning("the settings file %s holds no settings; using defaults", path)
        return Settings()
    settings = Settings()
    for key, raw in data.items():
        setting = BY_KEY.get(key)
        if setting is None:
            continue  # from a newer version, or removed: ignored, and dropped on save
        try:
            settings.set(setting, raw)
        except SettingError as exc:
            log.warning("%s; using the default, %r", exc.message, setting.default)
    return settings


def save(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings (all of them, defaults included) atomically; return the file."""
    settings.check()
    path = path or settings_path()
    write_private(path, json.dumps(settings.as_dict(), indent=2, ensure_ascii=False) + "\n")
    return path


# Shortcuts for the code that needs one value. Each reads the file afresh, so a change
# saved in the dialog applies from the next connection, run or certificate.


def operator_name() -> str:
    """The operator name for disposal certificates and the audit log ("" when not set)."""
    return load().get(OPERATOR_NAME)


def default_concurrency() -> int:
    return load().get(CONCURRENCY)


def request_timeout() -> float:
    return load().get(REQUEST_TIMEOUT)


def outage_limit() -> float:
    """Seconds without any answer from Opus before a run stops (resumable)."""
    return load().get(OUTAGE_LIMIT)


def log_level() -> int:
    return load().log_level()
