"""The manifest of a disposal: an .xlsx workbook listing every record and what became of it.

Sheet "Records": Row key, Name, Classification, Disposal due date, Outcome, Opus's answer,
Sheet row (the row of the signed-off sheet the key came from). Sheet "Disposal": who,
when, why, where, the counts and the audit entries, one field per row.

The certificate quotes the SHA-256 of this file, so the file is written whole (to a
temporary file renamed into place) and never touched again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from opus_desktop.core.reports import ReportError, SheetSpec, write_workbook
from opus_desktop.documents import DocumentError
from opus_desktop.jobs.audit import DisposedRecord
from opus_desktop.jobs.disposal_outcome import DESTROYED, FAILED, NOT_SENT, DestroyOutcome
from opus_desktop.jobs.report import file_sha256

RECORD_HEADERS = (
    "Row key",
    "Name",
    "Classification",
    "Disposal due date",
    "Outcome",
    "Opus's answer",
    "Sheet row",
)
_WIDTHS = (24, 40, 34, 20, 16, 60, 10)
_KEY_WIDTH_AT_MOST = 90  # characters: a longer key is still whole in its cell


def outcome_label(record: DisposedRecord) -> str:
    """ "Destroyed", "Not destroyed", "Not sent" or "Not sent yet": one word for the table."""
    if record.outcome == DESTROYED:
        return "Destroyed"
    if record.outcome == FAILED:
        return "Not destroyed"
    if record.outcome == NOT_SENT:
        return "Not sent"
    return "Not sent yet"


def operator_text(who: dict[str, str]) -> str:
    """'Jane Officer (account jdoe)', or the account alone."""
    name, account = who.get("name", ""), who.get("account", "")
    if name and account:
        return f"{name} (account {account})"
    return name or (f"account {account}" if account else "unknown")


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def disposal_fields(outcome: DestroyOutcome, issued: datetime) -> list[tuple[str, str]]:
    """The facts of a disposal, as (label, value) pairs, for the manifest and the PDF."""
    run = outcome.run
    tenant = run.options.get("tenant") or {}
    fields = [
        ("Organisation", outcome.organisation or run.profile),
        ("Operator", "; ".join(operator_text(w) for w in outcome.operators) or "unknown"),
        ("Date of destruction", _destroyed_on(outcome) or "none destroyed yet"),
        ("Certificate issued", utc_text(issued)),
        ("Justification", outcome.justification),
        ("Disposal run", f"{run.id}, started {utc_text(run.started)}"),
        ("Profile", run.profile),
        ("Opus API", str(tenant.get("api", ""))),
        ("Identity service", str(tenant.get("identity", ""))),
        ("Connection", str(tenant.get("connection", ""))),
    ]
    if outcome.before:
        fields.append(("Records due before", _before_text(outcome.before)))
    if run.input_path:
        fields.append(("Signed-off sheet", Path(run.input_path).name))
    fields += [
        ("Records destroyed", str(len(outcome.destroyed))),
        ("Records not destroyed", str(len(outcome.failed))),
        ("Records not sent", str(len(outcome.not_sent) + len(outcome.pending))),
    ]
    for entry in outcome.entries:
        fields.append((f"Audit entry {entry.seq}", f"{entry.time}, SHA-256 {entry.hash}"))
    return fields


def _destroyed_on(outcome: DestroyOutcome) -> str:
    """When Opus confirmed the destruction: the time of each audit entry that recorded a
    record destroyed (a run resumed later has several)."""
    times: list[str] = []
    for entry in outcome.entries:
        answers = entry.entry.get("answers") or {}
        if any(a.get("outcome") == DESTROYED for a in answers.values() if isinstance(a, dict)):
            times.append(_before_text(entry.time.replace("Z", "+00:00")))
    return ", ".join(times)


def _before_text(iso: str) -> str:
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return utc_text(moment)


def write_manifest(path: Path, outcome: DestroyOutcome, issued: datetime) -> str:
    """Write the manifest to `path` (.xlsx); return its SHA-256 (hex)."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise DocumentError(f"{path.name}: the manifest must be an .xlsx file.")
    records = (
        [
            record.key,
            record.name,
            record.classification,
            record.due,
            outcome_label(record),
            record.message,
            outcome.rows.get(record.key),
        ]
        for record in outcome.records
    )
    facts = ([label, value] for label, value in disposal_fields(outcome, issued))
    # The key column as wide as the longest key, so that each shows whole when opened.
    longest = max((len(r.key) for r in outcome.records), default=0)
    widths = (min(max(_WIDTHS[0], longest + 2), _KEY_WIDTH_AT_MOST), *_WIDTHS[1:])
    try:
        write_workbook(
            path,
            [
                SheetSpec("Records", RECORD_HEADERS, records, widths),
                SheetSpec("Disposal", ("Field", "Value"), facts, (24, 100), wrap={1}),
            ],
        )
    except ReportError as exc:
        raise DocumentError(exc.message) from None
    try:
        return file_sha256(path)
    except OSError as exc:
        raise DocumentError(f"Cannot write {path}: {exc.strerror or exc}.") from None
