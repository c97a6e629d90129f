"""The key that seals the audit log: 32 random bytes per log, in the OS keyring.

The keyring is the one the certificate passwords go to (service "opus-desktop"); the
entry is named after the log's full path (`keyring_user`), so each log has its own key
and a key in the keyring means that log was sealed. Reading or writing the keyring may
block for a while: only append() and verify() ask for the key, from a worker.
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import Any, Protocol

from opus_desktop.profiles import KEYRING_SERVICE

KEY_BYTES = 32


class KeyUnavailable(Exception):
    """The keyring cannot be used; `reason` says why, to go inside a sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeyStore(Protocol):
    """Where a log's MAC key is kept. KeyUnavailable when it cannot be used at all."""

    def get(self) -> bytes | None: ...  # None: no key made yet

    def create(self) -> bytes: ...

    def drop(self) -> None: ...  # forget a key just made whose first line was not written


def keyring_user(path: Path) -> str:
    """The keyring entry (service "opus-desktop") that holds the key of the log at `path`."""
    return f"audit-log {Path(path).resolve()}"


class KeyringKey:
    """The MAC key of the log at `path`, in the OS keyring. Reading it may block: call
    append() and verify() from a worker, never from the GUI thread."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self) -> bytes | None:
        text = _keyring("get_password", keyring_user(self.path))
        if text is None:
            return None
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) != KEY_BYTES:
            raise KeyUnavailable("the keyring's entry for this log is not a key the app made")
        return key

    def create(self) -> bytes:
        key = secrets.token_bytes(KEY_BYTES)
        _keyring("set_password", keyring_user(self.path), key.hex())
        return key

    def drop(self) -> None:
        with contextlib.suppress(KeyUnavailable):
            _keyring("delete_password", keyring_user(self.path))


def _keyring(name: str, *args: str) -> Any:
    """keyring.`name`(service, *args). The package is imported here, when a log is first
    sealed or checked: it takes about 50 ms to load, which no command should pay before."""
    import keyring
    import keyring.errors

    try:
        return getattr(keyring, name)(KEYRING_SERVICE, *args)
    except keyring.errors.NoKeyringError:
        raise KeyUnavailable("no system keyring can be used here") from None
    except (keyring.errors.KeyringError, RuntimeError) as exc:
        raise KeyUnavailable(
            f"the system keyring failed ({str(exc) or type(exc).__name__})"
        ) from None
