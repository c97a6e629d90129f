"""Test-wide set-up: offscreen Qt, a private OPUS_DESKTOP_HOME per test, an in-memory keyring."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
import pytest

from opus_desktop import logs, profiles
from opus_desktop.core import datetimes, values

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_SCALE_FACTOR", "1")


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that forgets everything when the test ends."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}
        self.read_in: list[str] = []  # the name of the thread of each read
        self.written_in: list[str] = []  # and of each write

    def get_password(self, service: str, username: str) -> str | None:
        self.read_in.append(threading.current_thread().name)
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.written_in.append(threading.current_thread().name)
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.store[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError(username) from None


@pytest.fixture(autouse=True)
def opus_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config, data and log folders."""
    home = tmp_path / "opus-home"
    home.mkdir()
    monkeypatch.setenv("OPUS_DESKTOP_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    try:
        yield ring
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def no_remembered_passwords() -> None:
    # The session's memory of certificate passwords is per process: one test's must not
    # answer for the next one's profile of the same name.
    profiles._memory.clear()
    profiles._typed.clear()


@pytest.fixture(autouse=True)
def log_file_problems_told_again() -> None:
    # Each process says once that it works without a log file; each test is a new start.
    logs._told.clear()


@pytest.fixture(autouse=True)
def empty_conversion_caches() -> None:
    # Each test builds the converters it uses: mutmut ties a mutant to the tests that called
    # the mutated builder, and runs each mutant's tests in a fork of a process that already
    # ran the suite; a converter cached by an earlier test would hide the builder from both.
    values._converter.cache_clear()
    datetimes._translate.cache_clear()
