"""Headless commands over core/, opus/ and jobs/ (DESIGN §4)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from opus_desktop.core.schema import load_template
from opus_desktop.errors import AppError


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="opus-desktop")
    sub = parser.add_subparsers(dest="command")
    schema = sub.add_parser("schema", help="list a connection template's columns")
    schema.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "schema":
            template = load_template(args.file, require_id=False)
            for column in template:
                print(column.internal_name, column.display_name, column.type.value, column.required, sep="\t")
            return 0
    except AppError as exc:
        print(f"opus-desktop: {exc.message}", file=sys.stderr)
        return exc.exit_code
    parser.print_help()
    return 2
