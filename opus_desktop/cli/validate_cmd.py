"""`opus-desktop validate`: check a sheet against a profile's columns; never calls the service."""

from __future__ import annotations

import argparse
from pathlib import Path

from opus_desktop.cli.inputs import (
    add_input_arguments,
    mapping_of,
    open_input,
    print_date_orders,
    profile_of,
    settings_of,
)
from opus_desktop.core.reports import validate_into_report
from opus_desktop.core.validation import validate

SHOWN = 25  # problems listed on the terminal; the report holds them all


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "validate",
        help="check a sheet against a profile's columns (nothing is sent)",
        description="Check every row of a sheet against the connection's columns. "
        "Exit 0 when every row is valid, 1 when some are not, 2 when the input cannot be read.",
    )
    add_input_arguments(parser)
    parser.add_argument(
        "--report",
        type=Path,
        metavar="OUT.xlsx",
        help="write every problem and every row's values (.xlsx or .csv)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    profile = profile_of(args)
    template = profile.template()
    settings = settings_of(args, profile)
    mapping = mapping_of(args, profile)
    sheet = open_input(args)
    if args.report is not None:
        result = validate_into_report(args.report, sheet, template, settings, mapping)
    else:
        result = validate(sheet, template, settings, mapping, keep_records=False)
    for problem in result.problems[:SHOWN]:
        print(f"  {problem}")
    if len(result.problems) > SHOWN:
        more = len(result.problems) - SHOWN
        where = f"see {args.report}" if args.report else "add --report OUT.xlsx to see them all"
        print(f"  ... and {more} more problem(s): {where}.")
    print_date_orders(result.date_orders)
    for warning in result.warnings:
        print(f"Warning: {warning}")
    print(result.summary())
    if args.report is not None:
        print(f"Report written to {args.report}.")
    return 0 if result.ok else 1
