"""`opus-desktop audit verify`: check the whole audit log of disposals.

Every entry must carry the hash of the one before and match its own hash, and every
entry the journal remembers (the last one of each disposal run) must still be there, so
a changed, removed, reordered or inserted entry, or entries cut from the end, are found.
Exit 0 when the log is intact, 1 at the first bad entry, saying which and why.
"""

from __future__ import annotations

import argparse

from opus_desktop.cli.exits import EXIT_OK, EXIT_SOME_FAILED, fail
from opus_desktop.usecases.disposing import verify_audit


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("audit", help="check the audit log of disposals")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="check that no entry of the audit log was changed, removed or moved",
        description="Check the whole hash chain of the audit log, and that it still holds "
        "every entry the journal remembers. Exit 0 when intact, 1 at the first bad entry.",
    )
    verify.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    path, result = verify_audit()
    if result.ok:
        entries = "1 entry" if result.entries == 1 else f"{result.entries} entries"
        print(f"{path}: intact, {entries}.")
        if result.last_hash:
            print(f"Last entry: SHA-256 {result.last_hash}")
        return EXIT_OK
    print(f"{path}: NOT intact. The first bad entry is entry {result.first_bad}.")
    if result.entries:
        good = result.entries
        print(f"Entries 1 to {good} are intact." if good > 1 else "Entry 1 is intact.")
    return fail(f"The audit log {path} was altered: {result.reason}", EXIT_SOME_FAILED)
