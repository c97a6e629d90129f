"""`audit verify`: the audit log checked against everything that quotes its entries.

    report = verify_audit()          # the default log, the journal, the manifests found
    report.result.ok, report.result.reason, report.result.notes, report.manifests

AuditLog.verify() checks the chain and its keyed MACs. The anchors come from the journal
(the hash of each disposal's last entry) and from every certificate manifest found: those
of the journal's disposal runs, those in the data folder's "certificates", and any named
(a manifest, a certificate PDF beside its manifest, or a folder holding them). A manifest
quotes its entries by number and hash, so a cut or a rewrite is caught with the journal
gone too. The keyring is read here: call it from a worker, never the GUI thread.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opus_desktop import paths
from opus_desktop.core.errors import SheetError
from opus_desktop.core.sheets import read_sheet
from opus_desktop.errors import AppError
from opus_desktop.jobs.audit import AuditLog, VerifyResult
from opus_desktop.jobs.audit_anchors import Anchor
from opus_desktop.jobs.disposal_outcome import certificate_path
from opus_desktop.jobs.journal_types import RunInfo
from opus_desktop.usecases.runs import reading

MANIFEST_SHEET = "Disposal"  # as documents/manifest.py writes it
MANIFEST_GLOB = "*-manifest.xlsx"
_ENTRY_LABEL = re.compile(r"Audit entry (\d+)")
_ENTRY_HASH = re.compile(r"SHA-256 ([0-9a-fA-F]{64})")
_ALL_RUNS = 1_000_000


class NotAManifest(AppError):
    """A path named on the command line that holds no manifest to check (exit 2)."""


@dataclass(frozen=True)
class Manifest:
    path: Path
    quoted: list[Anchor]  # the audit entries it quotes, by number and hash


@dataclass(frozen=True)
class AuditReport:
    path: Path  # the audit log
    result: VerifyResult
    journal: int = 0  # entry hashes the journal keeps (0 also when there is no journal)
    manifests: list[Manifest] = field(default_factory=list)  # those checked
    unreadable: list[str] = field(default_factory=list)  # sentences: found, not checked


def verify_audit(
    audit_path: Path | None = None,
    named: Sequence[Path] = (),
    journal_path: Path | None = None,
) -> AuditReport:
    """Check the audit log's chain, every hash the journal keeps, and every entry each
    manifest found (or `named`) quotes. NotAManifest for a named path with none."""
    audit = AuditLog(audit_path or paths.audit_log_path(create=False))
    journal = journal_path or paths.journal_path(create=False)
    hashes: list[str] = []
    runs: list[RunInfo] = []
    if journal.exists():  # no journal yet: nothing to compare with
        with reading(journal) as opened:
            hashes = opened.audit_anchors()
            runs = opened.runs(limit=_ALL_RUNS, kind="destroy")
    asked = [path for given in named for path in _named(given)]
    told = {path.resolve() for path in asked}
    found = _manifests_of(runs) + _manifests_in(paths.data_dir(create=False) / "certificates")
    manifests: list[Manifest] = []
    unreadable: list[str] = []
    for path in _unique([*asked, *found]):
        try:
            manifests.append(read_manifest(path))
        except NotAManifest as exc:
            if path.resolve() in told:
                raise
            unreadable.append(exc.message)
    anchors: list[str | Anchor] = [*hashes, *(a for m in manifests for a in m.quoted)]
    return AuditReport(audit.path, audit.verify(anchors), len(hashes), manifests, unreadable)


def read_manifest(path: Path) -> Manifest:
    """The audit entries a disposal manifest quotes ("Audit entry N" rows of its
    "Disposal" sheet: "TIME, SHA-256 HASH"); NotAManifest when it quotes none."""
    try:
        sheet = read_sheet(path, MANIFEST_SHEET)
    except SheetError as exc:
        raise NotAManifest(f"{path} cannot be read as a manifest: {exc}") from None
    quoted: list[Anchor] = []
    for row in sheet.rows:
        label, value = (str(cell or "") for cell in [*row.cells, None, None][:2])
        number, digest = _ENTRY_LABEL.fullmatch(label.strip()), _ENTRY_HASH.search(value)
        if number and digest:
            seq = int(number.group(1))
            quoted.append(Anchor(digest.group(1).lower(), seq, f"the manifest {path.name}"))
    if not quoted:
        raise NotAManifest(f"{path} quotes no audit entry, so it is not a disposal manifest.")
    return Manifest(path, quoted)


def manifest_beside(pdf: Path) -> Path:
    """certificate.pdf -> certificate-manifest.xlsx, as the certificate writer names it
    (documents/certificate.py, which needs Qt, so it is not imported here)."""
    return pdf.with_name(f"{pdf.stem}-manifest.xlsx")


def _manifests_of(runs: Iterable[RunInfo]) -> list[Path]:
    found = []
    for info in runs:
        try:
            manifest = manifest_beside(certificate_path(info))
        except (AppError, OSError):  # a data folder that cannot be made: none there
            continue
        if manifest.is_file():
            found.append(manifest)
    return found


def _manifests_in(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.rglob(MANIFEST_GLOB) if p.is_file())
    except OSError:
        return []


def _named(path: Path) -> list[Path]:
    if path.is_dir():
        found = _manifests_in(path)
        if not found:
            raise NotAManifest(f"{path} holds no certificate manifest ({MANIFEST_GLOB}).")
        return found
    if path.suffix.lower() == ".pdf":
        manifest = manifest_beside(path)
        if not manifest.is_file():
            raise NotAManifest(f"{path} has no manifest beside it ({manifest.name}).")
        return [manifest]
    if not path.is_file():
        raise NotAManifest(f"{path} does not exist.")
    return [path]


def _unique(found: Iterable[Path]) -> list[Path]:
    seen: set[Path] = set()
    unique = []
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique
