"""The layers hold: no Qt below gui/, no HTTP or sockets outside opus/ and sandbox/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "opus_desktop"
NO_QT = ("core", "opus", "jobs", "sandbox")
NETWORK_MODULES = (
    "httpx",
    "socket",
    "http.client",
    "http.server",
    "urllib.request",
    "socketserver",
    "requests",
)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(*parts: str) -> list[Path]:
    return sorted((PACKAGE.joinpath(*parts)).rglob("*.py"))


def _matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("layer", NO_QT)
def test_no_qt_below_gui(layer: str) -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            n for n in imports_of(path) if _matches(n, ("PySide6", "shiboken6"))
        )
        for path in modules(layer)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_opus_and_sandbox_talk_to_the_network() -> None:
    offenders: dict[str, list[str]] = {}
    for path in modules():
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ("opus", "sandbox"):
            continue
        bad = sorted(n for n in imports_of(path) if _matches(n, NETWORK_MODULES))
        if bad:
            offenders[str(relative)] = bad
    assert offenders == {}


def test_sandbox_does_not_import_the_client() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            n for n in imports_of(path) if _matches(n, ("opus_desktop.opus",))
        )
        for path in modules("sandbox")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_walk_sees_the_package() -> None:
    # Guards the tests above against passing because they found nothing to check.
    assert len(modules("core")) >= 2
    assert "opus_desktop.core.errors" in imports_of(PACKAGE / "core" / "schema.py")


def test_the_check_catches_an_offender(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("from PySide6.QtCore import QObject\nimport httpx\n", encoding="utf-8")
    names = imports_of(sample)
    assert _matches("PySide6.QtCore", ("PySide6",)) and "PySide6.QtCore" in names
    assert any(_matches(n, NETWORK_MODULES) for n in names)
