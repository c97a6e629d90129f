"""The audit log's key in the window: a destroy from the Disposal tab makes it in the
keyring and reads it there from the worker, never from the GUI thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from opus_desktop.gui.disposal.tab import DisposalTab
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.jobs.audit import AuditLog
from opus_desktop.jobs.audit_key import keyring_user
from opus_desktop.profiles import KEYRING_SERVICE, Profile
from tests.gui.test_disposal_tab import confirm, make_tab, wait_idle


@pytest.fixture
def tab(qtbot: QtBot, runner: TaskRunner, tmp_path: Path) -> Iterator[DisposalTab]:
    yield from make_tab(qtbot, runner, tmp_path)


def test_the_key_is_made_and_read_in_the_worker(
    qtbot: QtBot, tab: DisposalTab, sandbox_profile: Profile, memory_keyring: Any
) -> None:
    tab.set_profile(sandbox_profile)
    tab.load()
    wait_idle(qtbot, tab)
    tab.model.set_checked(tab.model.row_keys()[:2], True)
    confirm(qtbot, tab, "Schedule 4.2", "2")
    result = tab.destroyer.last_result
    assert result is not None and len(result.outcome.destroyed) == 2

    audit_key = (KEYRING_SERVICE, keyring_user(AuditLog().path))
    assert audit_key in memory_keyring.store
    main = threading.main_thread().name
    assert memory_keyring.read_in and main not in memory_keyring.read_in
    assert memory_keyring.written_in and main not in memory_keyring.written_in
    assert AuditLog().verify().sealed_from == 1
