"""The layers hold: no Qt below gui/, no HTTP or sockets outside opus/ and sandbox/, no
import circle anywhere, and only usecases/ puts runs together for the front ends."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "opus_desktop"
NO_QT = ("core", "opus", "jobs", "sandbox", "usecases")
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


# What only the use-case layer (usecases/) puts together: the front ends ask it instead.
ASSEMBLY = {
    "create_submit_run",
    "SubmitRun",
    "take_run",
    "DestroyRun",
    "Tenant",
    "AuditLog",
    "connect",
    "password_needed",
    "certificate_password",
    "write_disposal_documents",
    "RetryPolicy",
    "Journal",
}


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, wherever the import is (in functions
    and under TYPE_CHECKING too). `from pkg import name` imports pkg.name when that is a
    module, else pkg itself."""
    paths = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in paths else base for a in node.names
                ]
            for target in targets:
                while target and target not in paths:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
    return found


def test_no_import_circle_anywhere_in_the_package() -> None:
    assert circles(import_graph(PACKAGE)) == []


def test_the_circle_check_finds_a_circle_through_a_function_and_type_checking(
    tmp_path: Path,
) -> None:
    package = tmp_path / "opus_desktop"
    (package / "gui").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "gui" / "__init__.py").write_text("", encoding="utf-8")
    (package / "gui" / "tab.py").write_text("from opus_desktop.gui import panel\n", "utf-8")
    (package / "gui" / "panel.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .tab import Tab\n",
        "utf-8",
    )
    (package / "gui" / "alone.py").write_text(
        "def f():\n    from opus_desktop.gui.tab import x\n", "utf-8"
    )
    graph = import_graph(package)
    assert circles(graph) == [["opus_desktop.gui.panel", "opus_desktop.gui.tab"]]
    assert graph["opus_desktop.gui.alone"] == {"opus_desktop.gui.tab"}


@pytest.mark.parametrize("front_end", ["cli", "gui"])
def test_the_front_ends_leave_putting_runs_together_to_the_use_case_layer(
    front_end: str,
) -> None:
    offenders: dict[str, list[str]] = {}
    for path in modules(front_end):
        relative = str(path.relative_to(PACKAGE))
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names.update(a.name for a in node.names if a.name in ASSEMBLY)
        if names:
            offenders[relative] = sorted(names)
    assert offenders == {}


def test_the_window_holds_little_that_is_not_about_qt() -> None:
    """What runs without Qt belongs below gui/, where the command line can use it too."""
    qt_free = {
        str(path.relative_to(PACKAGE)): len(path.read_text(encoding="utf-8").splitlines())
        for path in modules("gui")
        if not any(_matches(name, ("PySide6",)) for name in imports_of(path))
    }
    assert sum(qt_free.values()) <= 150, qt_free


def test_no_module_is_over_600_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE))
        for path in modules()
        if len(path.read_text(encoding="utf-8").splitlines()) > 600
    }
    assert not long, f"over 600 lines, to be split: {sorted(long)}"
