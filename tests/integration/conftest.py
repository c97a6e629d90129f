"""Integration fixtures: a sandbox tenant on a free loopback port, in a private folder.

    def test_something(sandbox: Sandbox) -> None:          # the demo tenant, default settings
    def test_other(make_sandbox: MakeSandbox) -> None:
        slow = make_sandbox(latency_ms=50, token_ttl=60)    # any SandboxConfig field

Every sandbox a test starts is stopped when the test ends. Seeding the demo tenant
takes a fifth of a second, so it is done once per session for each (date format, seed)
and each test gets a copy of that folder; pass `directory=` to seed a folder afresh.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from opus_desktop.sandbox import Sandbox, SandboxConfig

MakeSandbox = Callable[..., Sandbox]
DEFAULT_DATE_FORMAT = SandboxConfig.date_format


@pytest.fixture(scope="session")
def seeded_folders(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, int | None], Path]:
    """A demo tenant folder that has never served a request, per (date format, seed)."""
    folders: dict[tuple[str, int | None], Path] = {}

    def folder(date_format: str, seed: int | None) -> Path:
        if (date_format, seed) not in folders:
            path = tmp_path_factory.mktemp("seeded")
            Sandbox(SandboxConfig(directory=path, date_format=date_format, seed=seed)).stop()
            folders[(date_format, seed)] = path
        return folders[(date_format, seed)]

    return folder


@pytest.fixture
def make_sandbox(
    tmp_path: Path, seeded_folders: Callable[[str, int | None], Path]
) -> Iterator[MakeSandbox]:
    started: list[Sandbox] = []

    def make(**settings: Any) -> Sandbox:
        settings.setdefault("seed", 1)
        if "directory" not in settings:
            target = tmp_path / f"sandbox-{len(started)}"
            if settings.get("demo", True):
                source = seeded_folders(
                    settings.get("date_format", DEFAULT_DATE_FORMAT), settings["seed"]
                )
                shutil.copytree(source, target)
            settings["directory"] = target
        sandbox = Sandbox(SandboxConfig(**settings)).start()
        started.append(sandbox)
        return sandbox

    try:
        yield make
    finally:
        for sandbox in started:
            sandbox.stop()


@pytest.fixture
def sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    """The demo tenant: 500 records (120 due), the demo app registered, no faults."""
    return make_sandbox()
