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
from opus_desktop.cli.parsing import examples
from opus_desktop.core.reports import records_csv_path, report_kind, validate_into_report
from opus_desktop.core.validation import validate

SHOWN = 25  # problems listed on the terminal; the report holds them all


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "validate",
        help="check a sheet against a profile's columns (nothing is sent)",
        description="Check every row of a sheet against the connection's columns and list "
        "the problems. Nothing is sent and no connection is made.",
        epilog=examples(
            "opus-desktop validate --profile Sandbox --input records.xlsx --report problems.xlsx",
            "opus-desktop validate --profile Sandbox --input register.csv --date-order DMY",
        ),
    )
    add_input_arguments(parser)
    parser.add_argument(
        "--report",
        type=Path,
        metavar="OUT.xlsx",
        help="write every problem and every row's values (.xlsx; or .csv, which writes the "
        "values to OUT.records.csv beside it)",
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
        print(report_written(args.report))
    return 0 if result.ok else 1


def report_written(path: Path) -> str:
    """Where the report went: as .csv, its problems and its records are two files."""
    if report_kind(path) == "csv":
        return (
            f"Report written to {path} (the problems) and {records_csv_path(path)} "
            "(every row's values)."
        )
    return f"Report written to {path}."
