"""Headless commands over core/, opus/ and jobs/ (DESIGN §4).

Each command group lives in its own module with a `register(subparsers)` function that
adds its parsers and sets `func` on them. `func(args) -> int` returns the exit code;
an AppError raised anywhere becomes one sentence on stderr and its exit code.

The exit codes are listed once, in `opus-desktop --help` (parsing.EXIT_CODES).

Whatever runs, GUI or command, runs with the umask 077 (every file and folder the app
creates, wherever it is, is the user's only) and logs to the rotating log file.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable

from opus_desktop import __version__
from opus_desktop.errors import AppError
from opus_desktop.files import os_error_sentence

log = logging.getLogger(__name__)

# The exit codes and fail() live in exits.py, which the commands import: they never import
# this package's module, which imports them (through commands.py) to build the parser.
from opus_desktop.cli.exits import (  # noqa: E402
    EXIT_AUTH,
    EXIT_BROKEN_PIPE,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    fail,
)
from opus_desktop.cli.parsing import EXIT_CODES, Parser  # noqa: E402

__all__ = [
    "EXIT_AUTH",
    "EXIT_BROKEN_PIPE",
    "EXIT_OK",
    "EXIT_SOME_FAILED",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "build_parser",
    "fail",
    "main",
]


# Arguments that open the window. Given only these, the commands' parsers are not built:
# they import most of the app (a third of a second) before the window could show.
WINDOW_OPTIONS = frozenset({"--sandbox", "--smoke-test"})


def build_parser(with_commands: bool = True) -> argparse.ArgumentParser:
    parser = Parser(
        prog="opus-desktop",
        description="Opus Desktop: records into AvePoint Opus. Without a COMMAND it opens the "
        "window; each COMMAND does one task from a terminal or a script "
        "(opus-desktop COMMAND --help says how).",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"opus-desktop {__version__}")
    parser.add_argument(
        "--sandbox", action="store_true", help="open the GUI on a local sandbox tenant"
    )
    parser.add_argument(
        "--smoke-test", action="store_true", help="open the main window and quit (packaging check)"
    )
    if not with_commands:
        return parser
    from opus_desktop.cli import commands

    sub: argparse._SubParsersAction[argparse.ArgumentParser] = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=Parser
    )
    for register in commands.REGISTRARS:
        register(sub)
    return parser


def main(argv: list[str]) -> int:
    from opus_desktop.logs import close_logging, setup_logging

    previous = os.umask(0o077)
    try:
        setup_logging()  # without a log file, it says so and logs to stderr
        return _run(argv)
    finally:
        close_logging()
        os.umask(previous)  # for a caller that goes on (tests); the app's process ends here


def _run(argv: list[str]) -> int:
    try:
        # The commands' parsers read the settings, for the defaults they show.
        parser = build_parser(with_commands=not set(argv) <= WINDOW_OPTIONS)
        args = parser.parse_args(argv)
        func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
        if getattr(args, "command", None) is None:
            return _gui(args)
        if func is None:
            parser.parse_args([args.command, "--help"])
            return EXIT_USAGE
        return func(args)
    except AppError as exc:
        # The sentence may quote a cell value (personal data): only at DEBUG.
        log.info("command failed: %s, exit %d", type(exc).__name__, exc.exit_code)
        log.debug("command failed: %s", exc.message)
        return fail(exc.message, exc.exit_code)
    except KeyboardInterrupt:
        return fail("interrupted.", 130)
    except BrokenPipeError:
        # The reader went away (`due ... | head`): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except RecursionError:
        # A file nested too deeply that no reader turned into its own sentence yet.
        log.info("command failed: RecursionError", exc_info=True)
        return fail(
            "A file given is nested too deeply to be read (thousands of brackets in a JSON file?).",
            EXIT_USAGE,
        )
    except OSError as exc:
        # A file or folder no AppError foresaw (a read-only folder, a full disk): one
        # sentence naming it, as for any other bad input; the traceback only in the log.
        log.info("command failed: %s", type(exc).__name__, exc_info=True)
        return fail(os_error_sentence(exc), EXIT_USAGE)


def _gui(args: argparse.Namespace) -> int:
    if _no_display():  # else Qt aborts with a page about platform plugins
        return fail(
            "there is no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY "
            "is set); start it in a desktop session, or use a command: opus-desktop --help.",
            EXIT_USAGE,
        )
    try:
        from opus_desktop.gui.app import run_gui
    except ImportError as exc:  # the GUI module is not there yet, or Qt cannot load
        return fail(f"the desktop window is not available here ({exc}).", EXIT_USAGE)
    return int(run_gui(sandbox=args.sandbox, smoke_test=args.smoke_test))


def _no_display() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
