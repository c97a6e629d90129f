"""The command line's exit codes (DESIGN §4), and the one way a command says it failed."""

from __future__ import annotations

import sys

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_UNREACHABLE = 4
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for `yes | head`


def fail(message: str, code: int) -> int:
    """Say `message` as one sentence on stderr and return the exit code."""
    print(f"opus-desktop: {message}", file=sys.stderr)
    return code
