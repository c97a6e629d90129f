"""A command's handler named by module, imported only when that command runs.

Building the parsers must not load every command's machinery (the audit and disposal
modules alone take a third of a second): a parser module names its handler here, and
the handler's module, a leaf that no parser module imports, is loaded when it is chosen.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable


def handler(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        func: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module), name)
        return func(args)

    run.__qualname__ = run.__name__ = name
    return run
