"""The help answers: every command has a description, every option a help line with its
default, the examples parse, and the exit codes are the ones the program returns."""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Iterator

import pytest

from opus_desktop import errors
from opus_desktop.cli import build_parser, exits, main
from opus_desktop.cli.parsing import EXIT_CODES, HelpFormatter, shows_default


def commands(
    parser: argparse.ArgumentParser, name: str = "opus-desktop", line: str | None = None
) -> Iterator[tuple[str, argparse.ArgumentParser, str | None]]:
    """Every parser under `parser`, with its name and the one line its parent shows."""
    yield name, parser, line
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            lines = {choice.dest: choice.help for choice in action._choices_actions}
            for sub_name, sub in action.choices.items():
                yield from commands(sub, f"{name} {sub_name}", lines.get(sub_name))


ALL = list(commands(build_parser()))
SUBCOMMANDS = [(name, parser, line) for name, parser, line in ALL if name != "opus-desktop"]


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        action
        for action in parser._actions
        if not isinstance(
            action, argparse._HelpAction | argparse._VersionAction | argparse._SubParsersAction
        )
    ]


def expanded_help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = parser._get_formatter()
    return formatter._expand_help(action)  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize(("name", "parser", "line"), SUBCOMMANDS, ids=[c[0] for c in SUBCOMMANDS])
def test_every_command_has_a_line_and_a_description(
    name: str, parser: argparse.ArgumentParser, line: str | None
) -> None:
    assert line, f"{name} has no line in its parent's list of commands"
    assert parser.description and len(parser.description) > len(line) / 2, name


@pytest.mark.parametrize(("name", "parser", "line"), ALL, ids=[c[0] for c in ALL])
def test_every_option_has_help_that_shows_its_default(
    name: str, parser: argparse.ArgumentParser, line: str | None
) -> None:
    for action in options(parser):
        flag = "/".join(action.option_strings) or action.metavar or action.dest
        assert action.help, f"{name} {flag} has no help"
        text = expanded_help(parser, action)
        if shows_default(action):
            assert "default" in text, f"{name} {flag}: the default {action.default!r} is not said"
        if "%(default)" in (action.help or ""):
            assert str(action.default) in text


def test_the_formatter_adds_a_default_left_unsaid_and_only_a_real_one() -> None:
    parser = argparse.ArgumentParser(formatter_class=HelpFormatter)
    parser.add_argument("--pace", default=7, help="how fast")
    parser.add_argument("--name", default="", help="a name")
    parser.add_argument("--quiet", action="store_true", help="say less")
    parser.add_argument("--size", default=3, help="how big (default: three)")
    text = " ".join(parser.format_help().split())
    assert "how fast (default: 7)" in text
    assert "a name --quiet" in text and "say less --size" in text
    assert "(default: three)" in text and "(default: 3)" not in text


def test_the_identity_default_and_the_protocol_are_explained() -> None:
    add = dict((name, parser) for name, parser, _ in ALL)["opus-desktop profile add"]
    text = " ".join(add.format_help().split())
    assert "https://identity.avepointonlineservices.com" in text
    assert re.search(r"--protocol graph\|legacy the API the tenant offers", text)
    assert re.search(r"NAME the profile's name", text)


def _example_lines(parser: argparse.ArgumentParser) -> list[str]:
    epilog = parser.epilog or ""
    assert epilog.startswith("Examples:"), parser.prog
    joined = epilog.replace("\\\n", " ").splitlines()[1:]
    return [line.split("  #")[0].strip() for line in joined if line.strip()]


@pytest.mark.parametrize("command", ["submit", "due", "destroy"])
def test_the_examples_are_shown_and_each_one_parses(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = dict((name, parser) for name, parser, _ in ALL)[f"opus-desktop {command}"]
    shown = parser.format_help()
    lines = _example_lines(parser)
    assert len(lines) >= 2 and "Examples:\n  opus-desktop " in shown
    for line in lines:
        words = shlex.split(line)
        assert words[0] == "opus-desktop"
        build_parser().parse_args(words[1:])  # a bad example exits 2 and fails the test


def _codes_listed() -> list[int]:
    return [int(code) for code in re.findall(r"^  (\d+)  ", EXIT_CODES, re.MULTILINE)]


def _error_classes(cls: type[errors.AppError]) -> Iterator[type[errors.AppError]]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _error_classes(sub)


def test_the_exit_codes_listed_are_the_ones_returned_and_listed_once() -> None:
    listed = _codes_listed()
    assert len(listed) == len(set(listed))
    constants = {value for name, value in vars(exits).items() if name.startswith("EXIT_")}
    raised = {cls.exit_code for cls in _error_classes(errors.AppError)}
    assert constants | raised | {130} == set(listed)
    top = build_parser().format_help()
    assert top.count("Exit codes") == 1 and EXIT_CODES.strip() in top
    for name, parser, _ in SUBCOMMANDS:
        assert not re.search(r"\bexit (code|[0-4]\b)", parser.format_help(), re.I), name


def test_destroy_shows_what_it_needs_and_refuses_without_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    destroy = dict((name, parser) for name, parser, _ in ALL)["opus-desktop destroy"]
    usage = destroy.format_usage()
    assert "destroy --profile NAME --input FILE --justification TEXT" in usage
    assert "(--resume RUN | --retry-failed RUN)" in usage
    assert "[--profile" not in usage and "[--input" not in usage
    text = " ".join(destroy.format_help().split())
    assert "--profile, --input and --justification are required, unless --resume" in text

    assert main(["destroy", "--yes"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "needs --profile, --input and --justification to start a disposal" in err

    assert main(["destroy", "--resume", "last", "--input", "due.xlsx"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "leave out --input" in err


def test_a_group_without_its_action_names_the_actions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args(["profile"])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert "choose an ACTION: add, list, show, test, remove." in err


def test_a_mistyped_command_is_answered_with_the_one_meant(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for typed, meant in (["submt"], "submit"), (["runs", "lst"], "list"):
        with pytest.raises(SystemExit) as raised:
            main(typed)
        assert raised.value.code == 2
        err = capsys.readouterr().err
        assert f"there is no '{typed[-1]}'; did you mean '{meant}'? Try " in err
        assert err.count("\n") == 1
    with pytest.raises(SystemExit):
        main(["frobnicate"])
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_the_window_without_a_display_is_one_sentence_not_a_qt_abort(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--sandbox"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "there is no display to open the window on" in err
