"""The input flags that `validate` and `submit` share: profile, sheet, mapping, date order."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from dataclasses import replace
from pathlib import Path

from opus_desktop.cli.argtypes import row_number
from opus_desktop.core.mapping import DATE_ORDERS, Mapping
from opus_desktop.core.sheets import SheetStream, open_sheet
from opus_desktop.core.values import ValueSettings
from opus_desktop.profiles import Profile, find_profile
from opus_desktop.usecases.connection import AskPassword


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        required=True,
        metavar="NAME",
        help="the connection profile (profile list shows them)",
    )
    parser.add_argument(
        "--input",
        required=True,
        type=Path,
        metavar="FILE",
        help="the sheet (.xlsx, .xlsm, .xlsb, .xls, .ods, .csv, .tsv)",
    )
    parser.add_argument(
        "--sheet", metavar="S", help="the sheet's name (default: the first with a header)"
    )
    parser.add_argument(
        "--header-row",
        type=row_number,
        metavar="N",
        help="the Excel row that holds the headers (default: found by looking for them)",
    )
    parser.add_argument(
        "--mapping",
        type=Path,
        metavar="M.json",
        help="how headers map onto columns (default: the profile's, else matched by name)",
    )
    parser.add_argument(
        "--date-order",
        type=str.upper,
        choices=DATE_ORDERS,
        metavar="DMY|MDY|YMD",
        help="how the sheet writes dates in digits: DMY 25/12/2019, MDY 12/25/2019, "
        "YMD 2019-12-25 (default: the mapping's, else decided by each column's dates)",
    )


def profile_of(args: argparse.Namespace) -> Profile:
    return find_profile(args.profile)


def mapping_of(args: argparse.Namespace, profile: Profile) -> Mapping | None:
    """The mapping file given, else the profile's saved one, else None (match by name);
    --date-order replaces the mapping's date order."""
    mapping: Mapping | None = None
    if args.mapping is not None:
        mapping = Mapping.load(args.mapping)
    elif profile.mapping:
        mapping = Mapping.from_json(
            json.dumps(profile.mapping), f'The mapping of profile "{profile.name}"'
        )
    if mapping is not None and getattr(args, "date_order", None):
        mapping.date_order = args.date_order
    return mapping


def settings_of(args: argparse.Namespace, profile: Profile) -> ValueSettings:
    """The profile's value settings, with the date order of --date-order when given."""
    settings = profile.value_settings()
    if getattr(args, "date_order", None):
        settings = replace(settings, date_order=args.date_order)
    return settings


def print_date_orders(sentences: list[str]) -> None:
    """How the dates in digits were read, one line a column."""
    for sentence in sentences:
        print(f"{sentence}.")


def open_input(args: argparse.Namespace) -> SheetStream:
    stream = open_sheet(args.input, args.sheet, args.header_row)
    for note in stream.notes:  # e.g. a workbook whose name says another kind
        print(note)
    return stream


def terminal_prompt() -> AskPassword | None:
    """How the command line asks for a password: typed in, when there is a terminal."""
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass
    return None
