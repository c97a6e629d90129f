"""GUI test fixtures (pytest-qt, offscreen): a task runner, window settings in a temporary
file, the sandbox tenant over loopback and its ready-made profile.

    def test_x(qtbot, runner, sandbox_profile): ...

The sandbox fixtures are the integration tests' own (`sandbox`, `make_sandbox`), so the
GUI talks to the same emulator the client is tested against.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opus_desktop.gui.settings import GuiSettings
from opus_desktop.gui.workers import TaskRunner, join_all
from opus_desktop.profiles import Profile
from opus_desktop.sandbox import Sandbox
from tests.integration.conftest import make_sandbox, sandbox, seeded_folders

__all__ = ["make_sandbox", "sandbox", "seeded_folders"]

HERE = Path(__file__).parent
# The offscreen platform says this each time a window is shown; it is not about our code.
OFFSCREEN_NOISE = r"^This plugin does not support propagateSizeHints\(\)$"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@pytest.fixture
def runner() -> Iterator[TaskRunner]:
    """A TaskRunner whose threads are cancelled and joined when the test ends."""
    tasks = TaskRunner()
    try:
        yield tasks
    finally:
        assert tasks.join(10_000), "a background task did not stop"


@pytest.fixture
def gui_settings(tmp_path: Path) -> GuiSettings:
    return GuiSettings(tmp_path / "gui.ini")


@pytest.fixture
def sandbox_profile(sandbox: Sandbox) -> Profile:
    """The "Sandbox" profile (Graph) for the running sandbox, saved in the test's home."""
    from opus_desktop.sandbox_profiles import save_sandbox_profiles

    return save_sandbox_profiles(sandbox)


@pytest.fixture
def demo_template(sandbox: Sandbox) -> Path:
    """The sandbox's connection template file."""
    return Path(sandbox.template_path)


@pytest.fixture(autouse=True)
def _threads_joined() -> Iterator[None]:
    """Join every task thread a test left running: a QThread object destroyed later, while
    its thread still runs, aborts the whole test process."""
    yield
    assert join_all(30_000), "a task thread did not stop within 30 s"
