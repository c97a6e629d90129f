"""The list of command groups; each module adds its own subparsers."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from opus_desktop.cli import (
    audit_parser,
    disposal_parser,
    profile_cmd,
    runs_cmd,
    sandbox_cmd,
    schema_cmd,
    submit_cmd,
    validate_cmd,
)

Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

REGISTRARS: list[Registrar] = [
    schema_cmd.register,
    profile_cmd.register,
    sandbox_cmd.register,
    validate_cmd.register,
    submit_cmd.register,
    runs_cmd.register,
    disposal_parser.register,
    audit_parser.register,
]
