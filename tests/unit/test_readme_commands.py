"""The README's command section says what the help says: each command with its line and
every option with its help, the exit codes as `opus-desktop --help` lists them, and
examples that parse. A new option without README text fails here.

To print the section as it should read (with the default settings):
    OPUS_DESKTOP_HOME=$(mktemp -d) .venv/bin/python -m tests.unit.test_readme_commands
"""

from __future__ import annotations

import argparse
import difflib
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

from opus_desktop.cli import build_parser
from opus_desktop.cli.parsing import EXIT_CODES

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- commands: start -->", "<!-- commands: end -->"


def _leaves(
    parser: argparse.ArgumentParser, name: str, line: str
) -> Iterator[tuple[str, argparse.ArgumentParser, str]]:
    """The commands that do something (`profile add`, not `profile`), in help order."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups or name == "opus-desktop":
        yield name, parser, line
    for group in groups:
        lines = {choice.dest: choice.help or "" for choice in group._choices_actions}
        for sub_name, sub in group.choices.items():
            yield from _leaves(sub, f"{name} {sub_name}", lines[sub_name])


def _flag(action: argparse.Action) -> str:
    if not action.option_strings:
        return str(action.metavar or action.dest)
    flag = ", ".join(action.option_strings)
    if action.nargs == 0:
        return flag
    return f"{flag} {action.metavar or action.dest.upper()}"


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = parser._get_formatter()
    text: str = formatter._expand_help(action)  # type: ignore[attr-defined]
    return " ".join(text.split())


def render() -> str:
    """The README's command section as the parser says it."""
    top = build_parser()
    out: list[str] = []
    for name, parser, line in _leaves(top, "opus-desktop", "open the window"):
        out += ["", f"**`{name}`**: {line}."]
        shown = [
            action
            for action in parser._actions
            if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
        ]
        if shown:
            out.append("")
        out += [f"- `{_flag(action)}`: {_help(parser, action)}" for action in shown]
    out += ["", "Exit codes, as `opus-desktop --help` lists them:", "", "```text"]
    out += EXIT_CODES.rstrip("\n").splitlines()
    out += ["```", ""]
    return "\n".join(out)


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    assert START in text and END in text, f"README.md has no {START} ... {END} section"
    return text.split(START, 1)[1].split(END, 1)[0]


def _squeezed(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.strip().splitlines()]


def test_the_readme_lists_every_command_and_option_as_the_help_says() -> None:
    want, have = _squeezed(render()), _squeezed(_section())
    diff = "\n".join(difflib.unified_diff(have, want, "README.md", "the help", lineterm=""))
    assert have == want, f"README.md's command section differs from the help:\n{diff}"


def _examples() -> list[str]:
    """The command lines of the README's "command line in short" block."""
    text = README.read_text(encoding="utf-8")
    block = text.split("## The command line in short", 1)[1].split("```sh", 1)[1]
    lines = block.split("```", 1)[0].replace("\\\n", " ").splitlines()
    return [re.split(r"\s#\s", line)[0].strip() for line in lines if line.strip()]


def test_each_example_of_the_readme_parses() -> None:
    examples = _examples()
    assert len(examples) >= 10
    for line in examples:
        words = shlex.split(line)
        assert words[0] == "opus-desktop", line
        build_parser().parse_args(words[1:])  # a bad example exits 2 and fails the test


def test_the_readme_names_both_sandbox_profiles() -> None:
    from opus_desktop.sandbox_profiles import LEGACY_PROFILE

    text = README.read_text(encoding="utf-8")
    assert f'"Sandbox" and "{LEGACY_PROFILE}" profiles' in text


if __name__ == "__main__":
    print(render())
