"""Profiles: one Opus tenant connection each, kept in the config folder.

    <config>/profiles/<slug>/profile.json    the settings (never a password)
    <config>/profiles/<slug>/template.json   a copy of the connection template

Files are written atomically and readable by the user only. The certificate password
comes from the environment variable the profile names, else the OS keyring, else the
caller's prompt, and is then kept in memory only.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from opus_desktop import paths
from opus_desktop.core.schema import CONFLICT_OPTIONS, Template, load_template, parse_template
from opus_desktop.errors import AppError
from opus_desktop.files import write_private
from opus_desktop.jsonfile import load_json
from opus_desktop.presets import DEFAULT_IDENTITY, PROTOCOLS

if TYPE_CHECKING:
    from opus_desktop.core.values import ValueSettings

log = logging.getLogger(__name__)

KEYRING_SERVICE = "opus-desktop"
SANDBOX_PROFILE = "Sandbox"
DEFAULT_DATE_FORMAT = "yyyy-MM-dd HH:mm:ss"
# Optional in the templates and the legacy seed, documented as required on Graph.
GRAPH_REQUIRED = ("createdBy", "modifiedBy")


class ProfileError(AppError):
    exit_code = 2


@dataclass
class Profile:
    name: str
    client_id: str = ""
    api_url: str = ""
    identity_url: str = DEFAULT_IDENTITY
    protocol: str = "graph"
    cert_pfx: str | None = None
    cert_pem: str | None = None
    key_pem: str | None = None
    cert_password_env: str | None = None
    date_format: str = DEFAULT_DATE_FORMAT
    term_separator: str = "/"
    time_zone: str | None = None
    conflict_option: str = "Overwrite"
    concurrency: int = 4
    # The legacy API's destroy call: no public document names it, so there is no default;
    # the user copies it from the tenant's API page (the sandbox's profile sets its own).
    destroy_path: str = ""
    choices: dict[str, dict[str, int]] = field(default_factory=dict)
    terms: dict[str, list[str]] = field(default_factory=dict)
    mapping: dict[str, Any] | None = None
    verify_tls: bool = True
    proxy: str | None = None
    sandbox: bool = False
    # The Graph API documents createdBy and modifiedBy as required, the legacy seed and the
    # templates as optional: on Graph an empty one is a warning, or with this a problem.
    require_created_by: bool = False
    # A Modified time earlier than the Created time: a warning, or with this a problem.
    refuse_modified_before_created: bool = False

    @property
    def folder(self) -> Path:
        return paths.profiles_dir(create=False) / slug(self.name)

    @property
    def template_path(self) -> Path:
        return self.folder / "template.json"

    def template(self) -> Template:
        """The connection template; on Graph with `require_created_by`, Created by and
        Modified by are required columns."""
        if not self.template_path.exists():
            raise ProfileError(
                f'The profile "{self.name}" has no connection template; add it again.'
            )
        template = load_template(self.template_path)
        if self.protocol != "graph" or not self.require_created_by:
            return template
        columns = tuple(
            replace(c, required=True) if c.internal_name in GRAPH_REQUIRED else c for c in template
        )
        return replace(template, columns=columns)

    def value_settings(self) -> ValueSettings:
        from opus_desktop.core.values import ValueSettings

        warned = self.protocol == "graph" and not self.require_created_by
        return ValueSettings(
            date_format=self.date_format,
            term_separator=self.term_separator,
            time_zone=self.time_zone,
            choices=self.choices,
            terms=self.terms,
            expected=GRAPH_REQUIRED if warned else (),
            refuse_modified_before_created=self.refuse_modified_before_created,
        )

    def check(self) -> None:
        """Raise ProfileError for settings that cannot work."""
        if not self.name.strip() or not re.search(r"\w", self.name):
            raise ProfileError("A profile needs a name with at least one letter or digit.")
        if self.protocol not in PROTOCOLS:
            raise ProfileError(f'The protocol must be "graph" or "legacy", not "{self.protocol}".')
        for label, url in (("API", self.api_url), ("identity service", self.identity_url)):
            if not re.match(r"^https?://[^\s/]+", url or ""):
                raise ProfileError(f'The {label} URL "{url}" is not a web address (https://...).')
        if not self.client_id.strip():
            raise ProfileError(
                "The profile needs the application (client) id of the app registration."
            )
        if not self.cert_pfx and not (self.cert_pem and self.key_pem):
            raise ProfileError(
                "The profile needs a certificate: a .pfx file, or a PEM certificate and key."
            )
        if self.conflict_option not in CONFLICT_OPTIONS:
            raise ProfileError('The conflict option must be "Overwrite" or "Skip".')
        if not 1 <= self.concurrency <= 32:
            raise ProfileError("Concurrency must be between 1 and 32 calls at a time.")
        path = self.destroy_path.strip()
        if "://" in path or any(c in path for c in "?# "):
            raise ProfileError(
                f'The destroy path "{path}" must be a path on the API URL, as the tenant\'s API '
                "page gives it: no https://, spaces, ? or #."
            )
        from opus_desktop.core.datetimes import check_format

        try:
            check_format(self.date_format)
        except ValueError as exc:
            raise ProfileError(f"The date format is not one Opus offers: {exc}") from None

    def destroy_path_note(self) -> str | None:
        """A sentence when this legacy profile cannot mark records destroyed yet, else None."""
        if self.protocol != "legacy" or self.destroy_path.strip("/ "):
            return None
        return (
            "No destroy path is set, so records cannot be marked destroyed with this legacy "
            "profile: copy the path of that call from the tenant's API page into the profile."
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> Profile:
        data = load_json(text, f"The profile file {source}", "a profile", ProfileError)
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise ProfileError(f"The profile file {source} is damaged: it has no name.")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def slug(name: str) -> str:
    """A folder name for a profile name: letters, digits, dot, dash, underscore."""
    cleaned = re.sub(r"[^\w.-]+", "-", name.strip(), flags=re.UNICODE).strip("-.")
    return cleaned.lower() or "profile"


def list_profiles() -> list[Profile]:
    found: list[Profile] = []
    folder = paths.profiles_dir(create=False)
    try:
        entries = sorted(folder.iterdir()) if folder.is_dir() else []
    except OSError as exc:
        raise ProfileError(
            f"Cannot read the profiles in {folder}: {exc.strerror or exc}."
        ) from None
    for entry in entries:
        file = entry / "profile.json"
        if file.is_file():
            try:
                found.append(Profile.from_json(file.read_text(encoding="utf-8"), str(file)))
            except ProfileError as exc:
                log.warning("skipping a damaged profile: %s", exc)
            except (OSError, UnicodeDecodeError) as exc:
                log.warning("skipping a profile that cannot be read: %s: %s", file, exc)
    return sorted(found, key=lambda p: p.name.casefold())


def find_profile(name: str) -> Profile:
    for profile in list_profiles():
        if profile.name.casefold() == name.casefold():
            return profile
    names = ", ".join(p.name for p in list_profiles()) or "none yet"
    raise ProfileError(f'There is no profile named "{name}" (profiles: {names}).')


def save_profile(profile: Profile, template: Path | bytes | None = None) -> Profile:
    """Write the profile; copy the template into its folder when one is given."""
    profile.check()
    paths.profiles_dir()
    folder = paths.private_dir(profile.folder)
    try:
        if template is not None:
            raw = template if isinstance(template, bytes) else _read(template)
            parse_template(raw, str(template) if isinstance(template, Path) else "template")
            write_private(profile.template_path, raw)
        elif not profile.template_path.exists():
            raise ProfileError(
                f'The profile "{profile.name}" needs the connection template '
                "(--connection FILE.json)."
            )
        write_private(folder / "profile.json", profile.to_json())
    except OSError as exc:
        raise _cannot_save(profile, folder, exc) from None
    return profile


def _cannot_save(profile: Profile, folder: Path, exc: OSError) -> ProfileError:
    if exc.errno == errno.ENOSPC:
        why = "the disk is full"
    elif isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        why = f"the folder {folder} is read-only"
    else:
        why = exc.strerror or str(exc)
    return ProfileError(f'The profile "{profile.name}" could not be saved: {why}.')


def remove_profile(name: str) -> Profile:
    profile = find_profile(name)
    try:
        shutil.rmtree(profile.folder)
    except OSError as exc:
        raise ProfileError(
            f'The profile "{profile.name}" could not be removed from {profile.folder}: '
            f"{exc.strerror or exc}."
        ) from None
    forget_password(profile)
    return profile


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ProfileError(f"Cannot read {path}: {exc.strerror or exc}.") from None


# Certificate passwords: the environment variable, then one typed in and not yet tried,
# then this session's memory, then the keyring. A typed one is remembered only once it has
# opened the certificate (password_opened), so a mistyped one is never kept.
_memory: dict[str, str] = {}
_typed: dict[str, tuple[str, bool]] = {}  # profile name -> (password, keep in the keyring)


def _keyring() -> ModuleType:
    """The keyring package, imported when first used: it takes about 50 ms to load, which
    the window's start does not need to pay."""
    import keyring
    import keyring.errors

    return keyring


def _keyring_user(profile: Profile) -> str:
    return f"{profile.name}:{profile.client_id}"


def certificate_password(
    profile: Profile, prompt: Callable[[str], str | None] | None = None
) -> str | None:
    """The password for the profile's certificate, or None when nothing supplies one."""
    if profile.cert_password_env:
        value = os.environ.get(profile.cert_password_env)
        if value is not None:
            return value
    if profile.name in _typed:
        return _typed[profile.name][0]
    if profile.name in _memory:
        return _memory[profile.name]
    keyring = _keyring()
    with contextlib.suppress(keyring.errors.KeyringError, RuntimeError):
        stored: str | None = keyring.get_password(KEYRING_SERVICE, _keyring_user(profile))
        if stored is not None:
            _memory[profile.name] = stored
            return stored
    if prompt is not None:
        entered = prompt(f'Certificate password for profile "{profile.name}": ')
        if entered is not None:
            _typed[profile.name] = (entered, False)
        return entered
    return None


def remember_password(profile: Profile, password: str, *, keep: bool = True) -> bool:
    """Keep the password in memory, and in the OS keyring when `keep`.

    Returns True when the keyring took it.
    """
    _typed.pop(profile.name, None)
    _memory[profile.name] = password
    if not keep:
        return False
    keyring = _keyring()
    try:
        keyring.set_password(KEYRING_SERVICE, _keyring_user(profile), password)
    except (keyring.errors.KeyringError, RuntimeError) as exc:
        log.info("no keyring available, the password stays in memory only (%s)", type(exc).__name__)
        return False
    return True


def offer_password(profile: Profile, password: str, *, keep: bool) -> None:
    """A password just typed in: used from now on, remembered for the session (and kept
    in the keyring when `keep`) once it opens the certificate. No I/O: safe on any thread."""
    _typed[profile.name] = (password, keep)


def password_opened(profile: Profile, password: str) -> None:
    """`password` opened the profile's certificate: remember it if it was typed in."""
    typed = _typed.get(profile.name)
    if typed is not None and typed[0] == password:
        del _typed[profile.name]
        remember_password(profile, password, keep=typed[1])


def password_refused(profile: Profile, password: str) -> None:
    """`password` does not open the certificate: forget it wherever we keep it, so the next
    attempt asks again. An environment variable's is the user's own to change."""
    typed = _typed.get(profile.name)
    if typed is not None and typed[0] == password:
        del _typed[profile.name]
    elif _memory.get(profile.name) == password:
        forget_password(profile)


def forget_password(profile: Profile) -> None:
    _typed.pop(profile.name, None)
    _memory.pop(profile.name, None)
    keyring = _keyring()
    with contextlib.suppress(keyring.errors.KeyringError, RuntimeError):
        keyring.delete_password(KEYRING_SERVICE, _keyring_user(profile))
