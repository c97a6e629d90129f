"""The parser of `opus-desktop audit verify` (audit_cmd.py runs it, loaded only then)."""

from __future__ import annotations

import argparse
from pathlib import Path

from opus_desktop.cli.lazy import handler


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "audit",
        help="check the audit log of disposals",
        description="The audit log holds one chained entry per disposal run.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="check that no entry of the audit log was changed, removed or moved",
        description="Check the whole hash chain of the audit log and its keyed MACs, and "
        "that it still holds every entry the journal and the certificate manifests quote; "
        "says the first bad entry and why.",
    )
    verify.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="more certificate manifests to check against the log: a manifest (.xlsx), a "
        "certificate (.pdf) with its manifest beside it, or a folder holding them",
    )
    verify.set_defaults(func=handler("opus_desktop.cli.audit_cmd", "run_verify"))
