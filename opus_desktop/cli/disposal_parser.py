"""The parsers of `opus-desktop due` and `opus-desktop destroy` (disposal_cmd.py runs them)."""

from __future__ import annotations

import argparse
from pathlib import Path

from opus_desktop import settings as app_settings
from opus_desktop.cli.argtypes import int_between
from opus_desktop.cli.lazy import handler
from opus_desktop.cli.parsing import examples
from opus_desktop.cli.submit_cmd import add_outage_argument
from opus_desktop.opus.client import MAX_PER_PAGE  # the same page size jobs.due asks for


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    due = sub.add_parser(
        "due",
        help="list the records due for disposal before a date",
        description="List the records whose disposal is due before a date, page by page. "
        "With --out, write them to a sheet for sign-off: a 'Row key' column, every column "
        "by its display name, the disposal due date and a Decision (Destroy or Keep) that "
        "`destroy` reads back.",
        epilog=examples(
            "opus-desktop due --profile Sandbox --before now",
            "opus-desktop due --profile Sandbox --before 2026-12-31 --out due.xlsx",
            "opus-desktop due --profile Prod --before 2026-06-30T00:00:00+10:00 --out due.csv",
        ),
    )
    due.add_argument(
        "--profile",
        required=True,
        metavar="NAME",
        help="the connection profile (profile list shows them)",
    )
    due.add_argument(
        "--before",
        required=True,
        metavar="DATETIME",
        help="'now', ISO 8601 (2025-06-30T00:00:00, with an offset for another zone) or the "
        "profile's date format",
    )
    due.add_argument(
        "--out",
        type=Path,
        metavar="FILE.xlsx|.csv",
        help="write the list to a sheet to sign off (default: print it)",
    )
    due.add_argument(
        "--per-page",
        type=int_between(1, MAX_PER_PAGE),
        default=MAX_PER_PAGE,
        metavar="N",
        help=f"records per page asked of Opus, 1 to {MAX_PER_PAGE} (default: %(default)s)",
    )
    due.set_defaults(func=handler("opus_desktop.cli.disposal_cmd", "run_due"))

    destroy = sub.add_parser(
        "destroy",
        help="mark the records of a signed-off sheet destroyed (audited, with a certificate)",
        usage="%(prog)s --profile NAME --input FILE --justification TEXT [--yes] [--sheet S]\n"
        "         [--certificate OUT.pdf] [--operator NAME] [--organisation NAME]\n"
        "         [--include-not-due] [--outage-limit SECONDS]\n"
        "       %(prog)s (--resume RUN | --retry-failed RUN) [--certificate OUT.pdf]\n"
        "         [--operator NAME] [--outage-limit SECONDS]",
        description="Mark destroyed in Opus the records of a signed-off due list (the sheet "
        "`due --out` writes: 'Row key', 'Disposal due date', and a 'Decision' of Destroy or "
        "Keep), once they are destroyed in the source system. Only keys due now with the "
        "date they were signed off with are sent. Each run leaves an audit log entry, a "
        "certificate of destruction (.pdf) and its manifest (.xlsx) beside it.",
        epilog=examples(
            "opus-desktop due --profile Sandbox --before now --out due.xlsx",
            "opus-desktop destroy --profile Sandbox --input due.xlsx \\",
            '    --justification "Retention period ended" --yes',
            "opus-desktop destroy --profile Sandbox --input due.xlsx \\",
            '    --justification "Retention period ended" --certificate dec-2026.pdf',
            "opus-desktop destroy --resume last            # after a crash or an outage",
            "opus-desktop destroy --retry-failed 5017bdc6  # once the cause is fixed",
        ),
    )
    new_run = destroy.add_argument_group(
        "a new disposal",
        "--profile, --input and --justification are required, unless "
        "--resume or --retry-failed is given",
    )
    new_run.add_argument(
        "--profile",
        metavar="NAME",
        help="the connection profile (required for a new disposal; profile list shows them)",
    )
    new_run.add_argument(
        "--input",
        type=Path,
        metavar="FILE",
        help="the signed-off due list (.xlsx, .xlsm, .csv) as `due --out` writes it "
        "(required for a new disposal)",
    )
    new_run.add_argument(
        "--justification",
        metavar="TEXT",
        help="why these records go, kept in the audit log (required for a new disposal)",
    )
    new_run.add_argument("--sheet", metavar="S", help="the sheet's name (default: the first)")
    new_run.add_argument(
        "--yes", action="store_true", help="confirm without typing the number of records"
    )
    new_run.add_argument(
        "--organisation", default="", metavar="NAME", help="shown on the certificate"
    )
    new_run.add_argument(
        "--include-not-due",
        action="store_true",
        help="also send keys that are not in the due list (Opus then says why not)",
    )
    again = destroy.add_argument_group("a disposal run that stopped")
    choice = again.add_mutually_exclusive_group()
    choice.add_argument(
        "--resume", metavar="RUN", help="go on with a disposal run that stopped (RUN or 'last')"
    )
    choice.add_argument(
        "--retry-failed", metavar="RUN", help="send a disposal run's failed records again"
    )
    both = destroy.add_argument_group("either")
    both.add_argument(
        "--certificate",
        type=Path,
        metavar="OUT.pdf",
        help="where to write the certificate of destruction, its manifest beside it (default: "
        "beside the input); with --resume or --retry-failed of a finished run, where a copy "
        "of both goes",
    )
    operator = app_settings.operator_name()  # File > Settings > "Your name"
    both.add_argument(
        "--operator",
        default=operator,
        metavar="NAME",
        help="your name, for the audit log and the certificate (default: "
        + (f"'{operator}', " if operator else "")
        + "the Operator name in File > Settings; your computer account is recorded either way)",
    )
    add_outage_argument(both)
    destroy.set_defaults(func=handler("opus_desktop.cli.disposal_cmd", "run_destroy"))
