"""`opus-desktop schema FILE.json`: the template's columns."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from opus_desktop.core.schema import load_template


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "schema",
        help="list a connection template's columns",
        description="List the columns of a connection template (the JSON file Opus gives in "
        "Settings > Connector): internal name, display name, type and whether it is required.",
    )
    parser.add_argument(
        "file", type=Path, metavar="FILE.json", help="the connection's JSON file from Opus"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    template = load_template(args.file, require_id=False)
    rows = [("Internal name", "Display name", "Type", "Required")]
    rows += [
        (c.internal_name, c.display_name, c.type.value, "yes" if c.required else "no")
        for c in template
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    if template.connection_id is None:
        print(
            "Note: this template has no connection id; download it again from Opus "
            "(Settings > Connector) before using it in a profile.",
            file=sys.stderr,
        )
    else:
        print(f"Connection {template.connection_id}, conflict option {template.conflict_option}.")
    return 0
