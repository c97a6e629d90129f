"""What a destroy run did, as the journal and the audit log hold it: every record's
outcome (DestroyOutcome), where the run's certificate goes, how Opus's refusals (and the
app's reasons for leaving a key out) read, and which keys earlier runs destroyed. The run
itself is disposal.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from opus_desktop import paths
from opus_desktop.errors import AppError
from opus_desktop.jobs.audit import AuditEntry, AuditLog, DisposedRecord
from opus_desktop.jobs.due import EarlierDisposal
from opus_desktop.jobs.errors import AuditError, JobError
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.journal_types import RunInfo
from opus_desktop.profiles import Profile

DESTROYED, FAILED, NOT_SENT, PENDING = "destroyed", "failed", "not sent", "pending"

# Opus's reasons for refusing a record, as the records officer should read them; "held
# back" is the app's own (jobs/due.py: the retention changed after sign-off).
REASONS = (
    ("held back", ("held back", "changed after sign-off")),
    ("already destroyed", ("already destroyed", "already been destroyed", "already disposed")),
    ("not found", ("not found", "does not exist", "no record", "unknown")),
    ("awaiting approval", ("awaiting approval", "pending approval", "awaiting")),
    ("rejected", ("rejected",)),
    ("not due", ("not due", "not yet due")),
)


def reason_kind(message: str) -> str:
    """Which of Opus's refusals a message is: "held back", "already destroyed", "not
    found", "awaiting approval", "rejected", "not due", or "other"."""
    text = message.casefold()
    for kind, phrases in REASONS:
        if any(phrase in text for phrase in phrases):
            return kind
    return "other"


@dataclass(frozen=True)
class Tenant:
    """Where records are destroyed: kept in the run and in every audit entry."""

    profile: str
    identity_url: str
    api_url: str
    connection_id: str

    @classmethod
    def of(cls, profile: Profile, connection_id: str) -> Tenant:
        return cls(profile.name, profile.identity_url, profile.api_url, connection_id)

    def as_json(self) -> dict[str, str]:
        return {
            "profile": self.profile,
            "identity": self.identity_url,
            "api": self.api_url,
            "connection": self.connection_id,
        }


@dataclass(frozen=True)
class DestroyOutcome:
    """A destroy run as it stands: every record with its outcome, and its audit entries."""

    run: RunInfo
    records: list[DisposedRecord]  # every record of the run, in order
    justification: str
    before: str  # the due-before date of the list the records were chosen from, ISO
    organisation: str
    entries: list[AuditEntry]  # this run's audit entries, oldest first
    entry: AuditEntry | None = None  # the one the last action wrote, if it wrote one
    error: AppError | None = None  # why the last action stopped, if it did
    rows: dict[str, int | None] = field(default_factory=dict)  # key -> its signed-off sheet row

    def _with(self, outcome: str) -> list[DisposedRecord]:
        return [r for r in self.records if r.outcome == outcome]

    @property
    def destroyed(self) -> list[DisposedRecord]:
        return self._with(DESTROYED)

    @property
    def failed(self) -> list[DisposedRecord]:
        return self._with(FAILED)

    @property
    def not_sent(self) -> list[DisposedRecord]:
        return self._with(NOT_SENT)

    @property
    def pending(self) -> list[DisposedRecord]:
        return self._with(PENDING)

    @property
    def all_destroyed(self) -> bool:
        return bool(self.records) and len(self.destroyed) == len(self.records)

    @property
    def exit_code(self) -> int:
        """DESIGN §4, as for submit: 0 all destroyed, 1 some not, 3 auth, 4 unreachable;
        130 for a cancelled run (as for Ctrl-C)."""
        if self.error is not None:
            return self.error.exit_code
        if self.run.status == "cancelled":
            return 130
        return 0 if self.all_destroyed else 1

    @property
    def operators(self) -> list[dict[str, str]]:
        """Who acted, once each, in order (the OS account and the typed name)."""
        found: list[dict[str, str]] = []
        for entry in self.entries:
            who = entry.entry.get("operator")
            if isinstance(who, dict) and who not in found:
                found.append({str(k): str(v) for k, v in who.items()})
        return found


def current_answers(journal: Journal, info: RunInfo) -> list[DisposedRecord]:
    outcomes = {"ok": DESTROYED, "failed": FAILED, "skipped": NOT_SENT}
    records: list[DisposedRecord] = []
    for item in journal.items(info.id):
        payload: dict[str, Any] = item.payload
        records.append(
            DisposedRecord(
                item.key,
                str(payload.get("name", "")),
                str(payload.get("classification", "")),
                str(payload.get("dueDate", "")),
                outcomes.get(item.state, PENDING),
                item.message,
            )
        )
    return records


def run_entries(audit: AuditLog, run_id: str) -> list[AuditEntry]:
    return [
        entry
        for entry in audit.entries()
        if entry.entry.get("run") == run_id and entry.entry.get("action") == "destroy"
    ]


def destroyed_earlier(
    audit: AuditLog, tenant: Tenant, keys: Iterable[str]
) -> dict[str, EarlierDisposal]:
    """The keys among `keys` that a disposal run of this app destroyed in `tenant`'s
    connection, as its audit log says (the first run to destroy each); none when the log
    cannot be read (the run then refuses to start anyway)."""
    wanted = set(keys)
    found: dict[str, EarlierDisposal] = {}
    if not wanted:
        return found
    here = tenant.as_json()
    try:
        for entry in audit.entries():
            body = entry.entry
            place = body.get("tenant") or {}
            if body.get("action") != "destroy" or body.get("connection") != here["connection"]:
                continue
            if not isinstance(place, dict) or place.get("api") != here["api"]:
                continue
            for key, answer in (body.get("answers") or {}).items():
                if key in wanted and key not in found and _destroyed(answer):
                    found[key] = EarlierDisposal(str(body.get("run", "")), entry.time)
    except (AuditError, OSError):
        return {}
    return found


def _destroyed(answer: object) -> bool:
    return isinstance(answer, dict) and answer.get("outcome") == DESTROYED


def certificate_path(info: RunInfo) -> Path:
    """Where a disposal run's certificate goes: as chosen when it was created, else beside
    its input sheet as certificate-of-destruction-RUN.pdf, else (no sheet, or a folder that
    cannot be written) in the data folder's "certificates"."""
    chosen = str(info.options.get("certificate") or "")
    if chosen:
        return Path(chosen)
    folder = certificate_folder(info.input_path)
    if folder is None:
        folder = paths.private_dir(paths.data_dir() / "certificates")
    return folder / f"certificate-of-destruction-{info.id}.pdf"


def certificate_folder(input_path: str | Path | None) -> Path | None:
    """The input sheet's folder, where a run's certificate goes when none was chosen, if
    it can be written; None: the data folder's "certificates" then."""
    if input_path:
        folder = Path(input_path).parent
        if folder.is_dir() and os.access(folder, os.W_OK):
            return folder
    return None


def destroy_outcome(
    journal: Journal, audit: AuditLog, run_id: str, entry: AuditEntry | None = None
) -> DestroyOutcome:
    """A destroy run as the journal and the audit log hold it now."""
    info = journal.run(run_id)
    if info.kind != "destroy":
        raise JobError(f"Run {info.id} submitted records; it is not a disposal.")
    entries = run_entries(audit, info.id)
    notes: dict[str, str] = {}
    for found in entries:
        for key, answer in (found.entry.get("answers") or {}).items():
            if isinstance(answer, dict) and answer.get("outcome") == DESTROYED:
                notes[key] = str(answer.get("message", ""))
    records = [
        replace(r, message=notes.get(r.key, "")) if r.outcome == DESTROYED else r
        for r in current_answers(journal, info)
    ]
    return DestroyOutcome(
        run=info,
        records=records,
        justification=str(info.options.get("justification", "")),
        before=str(info.options.get("before", "")),
        organisation=str(info.options.get("organisation", "")),
        entries=entries,
        entry=entry,
        rows={item.key: item.row for item in journal.items(info.id)},
    )
