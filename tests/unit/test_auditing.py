"""`audit verify` against the journal and the certificate manifests: disposals run on a
fake tenant, their manifests written as the app writes them, then the log cut, rewritten
or its key lost, with and without the journal."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keyring
import keyring.backends.fail
import pytest
from openpyxl import Workbook

from opus_desktop import paths
from opus_desktop.cli import main
from opus_desktop.documents.manifest import write_manifest
from opus_desktop.jobs.audit import GENESIS, AuditLog, canonical
from opus_desktop.jobs.disposal import DestroyRun
from opus_desktop.jobs.disposal_outcome import certificate_path, destroy_outcome
from opus_desktop.jobs.journal import Journal
from opus_desktop.jobs.state import RunState
from opus_desktop.usecases.auditing import (
    NotAManifest,
    manifest_beside,
    read_manifest,
    verify_audit,
)
from tests.unit.test_disposal import TENANT, FakeOpus, items_of, key

ISSUED = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def dispose(count: int, certificates: Path | None = None) -> list[Path]:
    """`count` disposals of two records each, a manifest written for each as the app does
    (in the data folder's "certificates", or in `certificates`); their manifests."""
    opus = FakeOpus(2 * count)
    manifests = []
    if certificates is not None:
        certificates.mkdir(parents=True, exist_ok=True)
    with Journal(paths.journal_path()) as journal:
        run = DestroyRun(journal, AuditLog(), opus, TENANT, pause=0.0)
        for n in range(count):
            keys = [key(2 * n), key(2 * n + 1)]
            chosen = None if certificates is None else certificates / f"certificate-{n}.pdf"
            run_id = run.create(items_of(opus, keys), f"Schedule {n}", certificate=chosen)
            outcome = run.run(run_id, RunState())
            manifest = manifest_beside(certificate_path(outcome.run))
            write_manifest(manifest, destroy_outcome(journal, AuditLog(), run_id), ISSUED)
            manifests.append(manifest)
    return manifests


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["audit", "verify", *args])
    out, err = capsys.readouterr()
    return code, out, err


def log_lines() -> list[bytes]:
    return paths.audit_log_path().read_bytes().splitlines(keepends=True)


def move_journal_aside() -> None:
    journal = paths.journal_path()
    for part in journal.parent.glob(journal.name + "*"):
        part.rename(part.with_name("old-" + part.name))


def test_a_manifest_quotes_the_entries_of_its_run() -> None:
    (manifest,) = dispose(1)
    assert manifest.parent == paths.data_dir() / "certificates"
    (entry,) = AuditLog().entries()
    read = read_manifest(manifest)
    assert [(a.hash, a.seq, a.source) for a in read.quoted] == [
        (entry.hash, 1, f"the manifest {manifest.name}")
    ]


def test_verify_compares_with_the_journal_and_every_manifest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dispose(2)
    elsewhere = dispose(1, tmp_path / "chosen")  # found through the journal's run
    report = verify_audit()
    assert report.result.ok and report.journal == 3
    assert {m.path for m in report.manifests} >= set(elsewhere) and len(report.manifests) == 3
    code, out, err = cli(capsys)
    assert code == 0, err
    last = list(AuditLog().entries())[-1].hash
    assert out.splitlines() == [
        f"{paths.audit_log_path()}: intact, 3 entries.",
        "Entries 1 to 3 carry a keyed MAC (HMAC-SHA256, the key in the system keyring), "
        "which cannot be recomputed without that key.",
        "Compared with the journal (3 entries) and 3 certificate manifests.",
        f"Last entry: SHA-256 {last}",
    ]


def test_a_cut_last_entry_with_the_journal_moved_aside_is_caught_by_a_manifest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    manifests = dispose(3)
    move_journal_aside()
    paths.audit_log_path().write_bytes(b"".join(log_lines()[:2]))
    report = verify_audit()
    assert report.journal == 0 and len(report.manifests) == 3
    assert not report.result.ok and report.result.first_bad == 3
    code, out, err = cli(capsys)
    assert code == 1
    assert out.splitlines()[:3] == [
        f"{paths.audit_log_path()}: NOT intact. The first bad entry is entry 3.",
        "Entries 1 to 2 are intact.",
        "Compared with 3 certificate manifests.",
    ]
    assert err == (
        f"opus-desktop: The audit log {paths.audit_log_path()} was altered: The audit log "
        f"ends after entry 2, but the manifest {manifests[2].name} quotes entry 3: entries "
        "were removed from the end, from entry 3 on.\n"
    )


def test_an_edit_rehashed_with_the_journal_updated_and_the_manifests_gone_fails_the_mac(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for manifest in dispose(3):
        manifest.unlink()
    prev, rewritten = GENESIS, []
    for index, raw in enumerate(log_lines()):
        data = json.loads(raw)
        if index == 1:
            data["entry"]["justification"] = "Schedule 9"
        data["prev"] = prev
        body = {k: data[k] for k in ("seq", "time", "prev", "entry")}
        data["hash"] = hashlib.sha256(canonical(body)).hexdigest()
        line = canonical(data)
        rewritten.append(line + b"\n")
        prev = hashlib.sha256(line).hexdigest()
    paths.audit_log_path().write_bytes(b"".join(rewritten))
    with Journal(paths.journal_path()) as journal:  # the anchors replaced as well
        for info, raw in zip(reversed(journal.runs(10)), rewritten, strict=True):
            journal.record_audit(info.id, json.loads(raw)["hash"])
    code, out, err = cli(capsys)
    assert code == 1 and "The first bad entry is entry 2." in out
    assert "Compared with the journal (3 entries)." in out
    assert err.endswith(
        "was altered: Entry 2 was changed: its keyed MAC does not match its content, so it "
        "was rewritten, and its hash recomputed, without the key.\n"
    )


def test_without_a_keyring_verify_says_the_log_is_tamper_evident_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    dispose(1)
    code, out, err = cli(capsys)
    assert code == 0, err
    assert out.splitlines()[1] == (
        "Without a usable keyring (no system keyring can be used here) the log is chained by "
        "plain SHA-256 hashes only: it is tamper-evident, not tamper-proof, since whoever can "
        "write the file can change an entry and re-hash the chain."
    )


def test_a_lost_key_is_one_sentence(
    capsys: pytest.CaptureFixture[str], memory_keyring: Any
) -> None:
    dispose(2)
    memory_keyring.store.clear()
    code, out, err = cli(capsys)
    assert code == 1
    assert out.splitlines()[0] == f"{paths.audit_log_path()}: cannot be checked."
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(
        f"opus-desktop: The audit log {paths.audit_log_path()} cannot be checked: Entries 1 to "
        "2 carry a keyed MAC, but the system keyring holds no key for this log"
    )


def test_a_manifest_of_another_log_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (ours,) = dispose(1)
    copy = tmp_path / "kept" / "theirs-manifest.xlsx"
    copy.parent.mkdir()
    shutil.copy(ours, copy)
    paths.audit_log_path().unlink()
    AuditLog().append({"action": "test"})  # another first entry, sealed with the same key
    code, _, err = cli(capsys, str(copy.parent))
    assert code == 1
    assert "Entry 1 is not the entry the manifest " in err
    assert "belongs to another audit log." in err


def test_named_manifests_certificates_and_folders(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (manifest,) = dispose(1, tmp_path / "certs")
    move_journal_aside()  # found only when named, then
    assert verify_audit().manifests == []
    pdf = manifest.parent / "certificate-0.pdf"
    for named in (manifest, pdf, manifest.parent):
        report = verify_audit(named=[named])
        assert [m.path for m in report.manifests] == [manifest]
    code, out, _ = cli(capsys, str(pdf), str(manifest))
    assert code == 0 and "Compared with 1 certificate manifest." in out


def test_a_named_path_with_no_manifest_is_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dispose(1)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Disposal"
    sheet.append(["Field", "Value"])
    sheet.append(["Profile", "demo"])
    book.save(tmp_path / "empty.xlsx")
    (tmp_path / "notes.xlsx").write_text("not a workbook", "utf-8")
    (tmp_path / "folder").mkdir()
    told = {
        tmp_path / "gone.xlsx": f"{tmp_path / 'gone.xlsx'} does not exist.",
        tmp_path / "c.pdf": f"{tmp_path / 'c.pdf'} has no manifest beside it (c-manifest.xlsx).",
        tmp_path / "folder": f"{tmp_path / 'folder'} holds no certificate manifest "
        "(*-manifest.xlsx).",
        tmp_path / "empty.xlsx": f"{tmp_path / 'empty.xlsx'} quotes no audit entry, so it is "
        "not a disposal manifest.",
    }
    for path, sentence in told.items():
        code, out, err = cli(capsys, str(path))
        assert (code, out, err) == (2, "", f"opus-desktop: {sentence}\n")
    code, _, err = cli(capsys, str(tmp_path / "notes.xlsx"))
    assert code == 2 and err.startswith(
        f"opus-desktop: {tmp_path / 'notes.xlsx'} cannot be read as a manifest: "
    )
    with pytest.raises(NotAManifest):
        read_manifest(tmp_path / "empty.xlsx")


def test_a_damaged_manifest_found_is_told_and_passed_over(
    capsys: pytest.CaptureFixture[str],
) -> None:
    (manifest,) = dispose(1)
    damaged = manifest.with_name("certificate-of-destruction-x-manifest.xlsx")
    damaged.write_bytes(b"PK\x03\x04 damaged")
    code, out, _ = cli(capsys)
    assert code == 0
    assert "Compared with the journal (1 entry) and 1 certificate manifest." in out
    assert f"Not compared: {damaged} cannot be read as a manifest: " in out


def test_no_log_and_nothing_to_compare_with(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys)
    assert code == 0
    assert out.splitlines() == [
        f"{paths.audit_log_path()}: intact, 0 entries.",
        "No journal and no certificate manifest found to compare it with.",
    ]


def test_one_entry_and_a_bad_first_one(capsys: pytest.CaptureFixture[str]) -> None:
    AuditLog().append({"action": "test"})
    code, out, _ = cli(capsys)
    assert code == 0 and out.startswith(f"{paths.audit_log_path()}: intact, 1 entry.\n")
    paths.audit_log_path().write_bytes(b"hello\n")
    code, out, _ = cli(capsys)
    assert code == 1 and "The first bad entry is entry 1.\nNo journal" in out
    AuditLog().path.write_bytes(b"")
    AuditLog().append({"action": "test"})
    AuditLog().append({"action": "test"})
    AuditLog().path.write_bytes(log_lines()[0] + b"hello\n")
    code, out, _ = cli(capsys)
    assert code == 1 and "entry 2.\nEntry 1 is intact.\n" in out


def test_the_key_stays_in_the_keyring(
    capsys: pytest.CaptureFixture[str], opus_home: Path, memory_keyring: Any
) -> None:
    dispose(2)
    cli(capsys)
    (secret,) = memory_keyring.store.values()
    forms = (secret.encode(), bytes.fromhex(secret))
    written = [path for path in opus_home.rglob("*") if path.is_file()]
    assert len(written) >= 4  # the log, the journal, the manifests, the app's log
    assert [p for p in written if any(form in p.read_bytes() for form in forms)] == []
