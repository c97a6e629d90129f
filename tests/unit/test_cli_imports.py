"""Building the commands' parsers (every command does, even `submit`) loads no disposal,
audit or sandbox server machinery: those modules load only when their command runs.
Checked in a fresh interpreter, since this one has imported them all."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from opus_desktop.cli.lazy import handler

ONLY_THEIR_COMMAND = (
    "opus_desktop.cli.audit_cmd",
    "opus_desktop.cli.disposal_cmd",
    "opus_desktop.usecases.auditing",
    "opus_desktop.usecases.disposing",
    "opus_desktop.jobs.audit",
    "opus_desktop.jobs.disposal",
    "opus_desktop.jobs.due",
    "opus_desktop.sandbox.server",
    "opus_desktop.sandbox.command",
)

BUILD_AND_PARSE = """
import json, sys
from opus_desktop.cli import build_parser
args = build_parser().parse_args(sys.argv[1:])
ours = sorted(m for m in sys.modules if m.startswith("opus_desktop"))
print(json.dumps([args.func.__name__, ours]))
"""


def _loaded(*argv: str) -> tuple[str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", BUILD_AND_PARSE, *argv],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    name, modules = json.loads(done.stdout)
    return name, set(modules)


@pytest.mark.parametrize("module", ONLY_THEIR_COMMAND)
def test_submit_parser_loads_no_audit_or_disposal_machinery(module: str) -> None:
    name, loaded = _loaded("submit", "--input", "sheet.csv", "--profile", "p")
    assert name == "run"
    assert "opus_desktop.cli.submit_cmd" in loaded  # the check sees what was loaded
    assert module not in loaded


def test_a_lazy_handler_imports_its_module_only_when_called(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "leaf_command_for_test.py").write_text(
        "def run(args):\n    return args.code + 1\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    run = handler("leaf_command_for_test", "run")
    assert "leaf_command_for_test" not in sys.modules
    assert run(argparse.Namespace(code=41)) == 42
    assert "leaf_command_for_test" in sys.modules
    monkeypatch.delitem(sys.modules, "leaf_command_for_test")


def test_the_due_parser_offers_the_page_size_due_asks_for() -> None:
    from opus_desktop.cli import disposal_parser
    from opus_desktop.jobs import due

    assert disposal_parser.MAX_PER_PAGE == due.MAX_PER_PAGE
