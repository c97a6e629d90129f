"""The parser every command uses: help that shows defaults, examples kept as written, and
bad usage said in one sentence with exit 2."""

from __future__ import annotations

import argparse
import difflib
import re
from typing import Any

from opus_desktop.cli.exits import EXIT_USAGE

# The codes the commands really return (exits.py, the errors' exit_code, Ctrl-C, a closed pipe).
EXIT_CODES = """\
Exit codes (every command):
  0    all done
  1    some records failed or were invalid (validate, submit, runs, destroy: listed, and
       in the report); destroy found nothing to mark destroyed; audit verify found the log
       altered or could not check it
  2    bad input or usage (a flag, file, profile, sheet or setting that cannot be used):
       nothing was sent
  3    signing in failed
  4    the service could not be reached, or kept failing
  130  cancelled with Ctrl-C
  141  the reader of the output went away (`opus-desktop due ... | head`)
"""


def shows_default(action: argparse.Action) -> bool:
    """Whether an option has a default worth saying: not a flag's False, not nothing."""
    default = action.default
    if default is None or default is argparse.SUPPRESS or isinstance(default, bool):
        return False
    return default not in ("", [])


class HelpFormatter(argparse.HelpFormatter):
    """Adds "(default: X)" to each option's help line unless the line says its default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        if text is None or "default" in text or not shows_default(action):
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """argparse that says one sentence and exits 2, as every other bad input does; its
    epilog (the examples, the exit codes) is printed as written, not rewrapped."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def format_help(self) -> str:
        epilog, self.epilog = self.epilog, None
        try:
            text = super().format_help()
        finally:
            self.epilog = epilog
        return text + (f"\n{epilog.strip(chr(10))}\n" if epilog else "")

    def error(self, message: str) -> None:  # type: ignore[override]
        actions = self._actions_to_choose()
        if actions and message.startswith("the following arguments are required: ACTION"):
            message = f"choose an ACTION: {', '.join(actions)}"
        typed = re.match(r"argument \w+: invalid choice: '([^']*)'", message)
        if typed and actions:
            close = difflib.get_close_matches(typed.group(1), actions, n=1)
            if close:
                message = f"there is no {typed.group(1)!r}; did you mean {close[0]!r}?"
        stop = "" if message.endswith(("?", ".")) else "."
        self.exit(EXIT_USAGE, f"{self.prog}: {message}{stop} Try '{self.prog} --help'.\n")

    def _actions_to_choose(self) -> list[str]:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return list(action.choices)
        return []


def examples(*lines: str) -> str:
    """An epilog of example command lines, one a line."""
    return "Examples:\n" + "".join(f"  {line}\n" for line in lines)
