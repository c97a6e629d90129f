"""`opus-desktop audit verify [PATH ...]`: check the whole audit log of disposals.

Every entry must carry the hash of the one before, match its own hash and, once the log
is sealed, its keyed MAC (the key is in the system keyring); every entry the journal
remembers (the last one of each disposal run) and every entry a certificate's manifest
quotes must still be there, unchanged. So a changed, removed, reordered or inserted
entry, a chain re-hashed to hide a change, or entries cut from the end, are found, with
the journal gone too as long as a manifest is found. PATH: more manifests, certificates
(their manifest beside them) or folders holding them. Exit 0 when the log is intact, 1
when it is not (or cannot be checked), saying which entry and why; 2 for a PATH that
holds no manifest.
"""

from __future__ import annotations

import argparse

from opus_desktop.cli.exits import EXIT_OK, EXIT_SOME_FAILED, fail
from opus_desktop.usecases.auditing import AuditReport, verify_audit


def run_verify(args: argparse.Namespace) -> int:
    report = verify_audit(named=args.paths)
    result, path = report.result, report.path
    if result.ok:
        entries = "1 entry" if result.entries == 1 else f"{result.entries} entries"
        print(f"{path}: intact, {entries}.")
    elif result.first_bad is None:
        print(f"{path}: cannot be checked.")
    else:
        print(f"{path}: NOT intact. The first bad entry is entry {result.first_bad}.")
        if result.entries:
            good = result.entries
            print(f"Entries 1 to {good} are intact." if good > 1 else "Entry 1 is intact.")
    for note in result.notes:
        print(note)
    _tell_anchors(report)
    if result.ok:
        if result.last_hash:
            print(f"Last entry: SHA-256 {result.last_hash}")
        return EXIT_OK
    if result.first_bad is None:
        return fail(f"The audit log {path} cannot be checked: {result.reason}", EXIT_SOME_FAILED)
    return fail(f"The audit log {path} was altered: {result.reason}", EXIT_SOME_FAILED)


def _tell_anchors(report: AuditReport) -> None:
    """What the log was compared with: the journal's hashes and the manifests."""
    kept = report.journal
    quoted = len(report.manifests)
    parts = []
    if kept:
        parts.append(f"the journal ({kept} {'entry' if kept == 1 else 'entries'})")
    if quoted:
        parts.append(f"{quoted} certificate manifest{'' if quoted == 1 else 's'}")
    if parts:
        print(f"Compared with {' and '.join(parts)}.")
    else:
        print("No journal and no certificate manifest found to compare it with.")
    for sentence in report.unreadable:
        print(f"Not compared: {sentence}")
