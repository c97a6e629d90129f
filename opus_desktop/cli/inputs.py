"""The input flags that `validate` and `submit` share: profile, sheet, mapping."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from opus_desktop.core.mapping import Mapping
from opus_desktop.core.sheets import SheetStream, open_sheet
from opus_desktop.profiles import Profile, find_profile
from opus_desktop.usecases.connection import AskPassword


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", required=True, metavar="NAME", help="the connection profile")
    parser.add_argument(
        "--input", required=True, type=Path, metavar="FILE", help="the sheet (.xlsx, .xlsm, .csv)"
    )
    parser.add_argument(
        "--sheet", metavar="S", help="the sheet's name (default: the first with a header)"
    )
    parser.add_argument(
        "--header-row", type=int, metavar="N", help="the Excel row that holds the headers"
    )
    parser.add_argument(
        "--mapping",
        type=Path,
        metavar="M.json",
        help="how headers map onto columns (default: the profile's, else matched by name)",
    )


def profile_of(args: argparse.Namespace) -> Profile:
    return find_profile(args.profile)


def mapping_of(args: argparse.Namespace, profile: Profile) -> Mapping | None:
    """The mapping file given, else the profile's saved one, else None (match by name)."""
    if args.mapping is not None:
        return Mapping.load(args.mapping)
    if profile.mapping:
        return Mapping.from_json(
            json.dumps(profile.mapping), f'The mapping of profile "{profile.name}"'
        )
    return None


def open_input(args: argparse.Namespace) -> SheetStream:
    if args.header_row is not None and args.header_row < 1:
        raise argparse.ArgumentTypeError("--header-row counts from 1, as Excel does")
    return open_sheet(args.input, args.sheet, args.header_row)


def terminal_prompt() -> AskPassword | None:
    """How the command line asks for a password: typed in, when there is a terminal."""
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass
    return None
