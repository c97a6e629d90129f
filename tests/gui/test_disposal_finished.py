"""A finished disposal run stays finished (usecases.disposing.send_again, and the Disposal
tab's retry): resuming or retrying it signs in to nothing, sends nothing, writes no audit
entry and leaves the certificate and manifest byte for byte; a copy goes elsewhere only
on request and never over a file; documents that were never written are written then.
The service is a fake (tests/unit/test_disposal.FakeOpus), counted."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from pytestqt.qtbot import QtBot

from opus_desktop.documents import DocumentError
from opus_desktop.documents import certificate as certificate_module
from opus_desktop.gui.disposal.tab import DisposalTab
from opus_desktop.gui.settings import GuiSettings
from opus_desktop.gui.workers import TaskRunner
from opus_desktop.jobs.audit import AuditLog
from opus_desktop.jobs.connect import Connection
from opus_desktop.jobs.state import RunState
from opus_desktop.opus import RetryPolicy
from opus_desktop.profiles import Profile
from opus_desktop.usecases.disposing import (
    Connections,
    DestroyRequest,
    DestroyResult,
    destroy,
    send_again,
)
from tests.unit.test_disposal import BEFORE, TENANT, FakeOpus, items_of, key


class Service:
    """A FakeOpus behind Connections, counting the connections opened."""

    def __init__(self, count: int) -> None:
        self.opus = FakeOpus(count)
        self.opus.connection_id = TENANT.connection_id  # type: ignore[attr-defined]
        self.opus.retry = RetryPolicy()  # type: ignore[attr-defined]
        self.opened = 0
        signed_out = SimpleNamespace(seconds_left=lambda: None)
        self.connection = cast(
            Connection, SimpleNamespace(client=self.opus, close=lambda: None, tokens=signed_out)
        )

    def connections(self) -> Connections:
        def open_(profile: Profile, password: str | None) -> Connection:
            self.opened += 1
            return self.connection

        return Connections(open_)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def first_run(service: Service, profile: Profile, tmp_path: Path, keys: list[str]) -> DestroyResult:
    request = DestroyRequest(
        profile,
        None,
        items_of(service.opus, keys),
        "Schedule 4.2",
        "Jane Officer",
        BEFORE,
        certificate=tmp_path / "cert.pdf",
    )
    return destroy(
        service.connections(),
        request,
        RunState(),
        journal_path=tmp_path / "journal.sqlite3",
        audit_path=tmp_path / "audit.jsonl",
    )


def again(
    service: Service, profile: Profile, tmp_path: Path, run_id: str, **kwargs: Any
) -> DestroyResult:
    return send_again(
        service.connections(),
        profile,
        None,
        run_id,
        RunState(),
        journal_path=tmp_path / "journal.sqlite3",
        audit_path=tmp_path / "audit.jsonl",
        **kwargs,
    )


def test_a_finished_run_is_left_as_it_is_and_copied_on_request(
    qapp: object, sandbox_profile: Profile, tmp_path: Path
) -> None:
    service = Service(5)
    result = first_run(service, sandbox_profile, tmp_path, [key(n) for n in range(5)])
    assert result.outcome.all_destroyed and result.certificate == tmp_path / "cert.pdf"
    assert result.written and not result.finished_already
    pdf, manifest = tmp_path / "cert.pdf", tmp_path / "cert-manifest.xlsx"
    hashes = (sha(pdf), sha(manifest))
    calls, opened = len(service.opus.destroy_calls), service.opened
    entries = len(list(AuditLog(tmp_path / "audit.jsonl").entries()))

    for failed_only in (None, False, True):
        kept = again(service, sandbox_profile, tmp_path, result.run_id, failed_only=failed_only)
        assert kept.finished_already and not kept.written
        assert (kept.certificate, kept.manifest) == (pdf, manifest)
        assert kept.manifest_sha256 == hashes[1] and kept.document_error is None
        assert kept.copy is None and kept.outcome.all_destroyed
    assert (sha(pdf), sha(manifest)) == hashes
    assert (len(service.opus.destroy_calls), service.opened) == (calls, opened)
    assert len(list(AuditLog(tmp_path / "audit.jsonl").entries())) == entries

    same = again(service, sandbox_profile, tmp_path, result.run_id, certificate=pdf)
    assert same.copy is None and same.document_error is None  # the certificate itself
    copy = tmp_path / "copy.pdf"
    copied = again(service, sandbox_profile, tmp_path, result.run_id, certificate=copy)
    assert copied.copy == copy and copied.copy_manifest == tmp_path / "copy-manifest.xlsx"
    assert (sha(copy), sha(tmp_path / "copy-manifest.xlsx")) == hashes
    taken = tmp_path / "taken.pdf"
    taken.write_bytes(b"someone's file")
    refused = again(service, sandbox_profile, tmp_path, result.run_id, certificate=taken)
    assert refused.copy is None and refused.document_error is not None
    assert "taken.pdf exists already" in refused.document_error
    assert taken.read_bytes() == b"someone's file"
    assert (sha(pdf), sha(manifest)) == hashes and service.opened == opened


def test_documents_never_written_are_written_when_the_run_is_resumed(
    qapp: object, sandbox_profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = Service(3)
    real = certificate_module.write_disposal_documents

    def broken(*args: object, **kwargs: object) -> object:
        raise DocumentError("The disk is full.")

    monkeypatch.setattr(certificate_module, "write_disposal_documents", broken)
    result = first_run(service, sandbox_profile, tmp_path, [key(0), key(1)])
    assert result.certificate is None and result.document_error == "The disk is full."
    monkeypatch.setattr(certificate_module, "write_disposal_documents", real)

    written = again(service, sandbox_profile, tmp_path, result.run_id)
    assert written.finished_already and written.written
    assert written.certificate == tmp_path / "cert.pdf" and written.certificate.is_file()
    assert written.manifest is not None and sha(written.manifest) == written.manifest_sha256
    assert len(service.opus.destroy_calls) == 1 and service.opened == 1
    hashes = sha(written.certificate), sha(written.manifest)
    kept = again(service, sandbox_profile, tmp_path, result.run_id)
    assert not kept.written and (kept.certificate, kept.manifest) == (
        written.certificate,
        written.manifest,
    )
    assert (sha(written.certificate), sha(written.manifest)) == hashes


def test_half_of_the_documents_is_not_written_again(
    qapp: object, sandbox_profile: Profile, tmp_path: Path
) -> None:
    service = Service(2)
    result = first_run(service, sandbox_profile, tmp_path, [key(0)])
    pdf = tmp_path / "cert.pdf"
    before = sha(pdf)
    (tmp_path / "cert-manifest.xlsx").unlink()
    kept = again(service, sandbox_profile, tmp_path, result.run_id)
    assert kept.finished_already and not kept.written
    assert kept.certificate == pdf and kept.manifest is None
    assert kept.document_error == (
        f"{tmp_path / 'cert-manifest.xlsx'} is not there any more; the other one is left as it is."
    )
    assert sha(pdf) == before and not (tmp_path / "cert-manifest.xlsx").exists()


def test_a_run_with_something_left_is_sent_and_one_that_destroyed_nothing_has_no_documents(
    qapp: object, sandbox_profile: Profile, tmp_path: Path
) -> None:
    service = Service(3)
    service.opus.state[key(1)] = "awaiting approval"
    result = first_run(service, sandbox_profile, tmp_path, [key(0), key(1)])
    assert [r.key for r in result.outcome.failed] == [key(1)]
    hashes = sha(tmp_path / "cert.pdf"), sha(tmp_path / "cert-manifest.xlsx")

    resumed = again(service, sandbox_profile, tmp_path, result.run_id, failed_only=False)
    assert resumed.finished_already and (sha(tmp_path / "cert.pdf"),) == hashes[:1]
    service.opus.state[key(1)] = "due"
    retried = again(service, sandbox_profile, tmp_path, result.run_id)  # failed ones: a retry
    assert not retried.finished_already and retried.written
    assert retried.outcome.all_destroyed and len(service.opus.destroy_calls) == 2
    assert sha(tmp_path / "cert-manifest.xlsx") != hashes[1]  # the run changed: so does it

    nothing = Service(1)
    nothing.opus.state[key(0)] = "rejected"
    (tmp_path / "other").mkdir()
    failed = first_run(nothing, sandbox_profile, tmp_path / "other", [key(0)])
    assert failed.certificate is None and not failed.outcome.destroyed
    resumed = again(nothing, sandbox_profile, tmp_path / "other", failed.run_id, failed_only=False)
    assert resumed.finished_already and resumed.certificate is None
    assert resumed.document_error is None and nothing.opened == 1


def test_the_tab_s_retry_of_a_finished_run_sends_nothing(
    qtbot: QtBot, runner: TaskRunner, sandbox_profile: Profile, tmp_path: Path
) -> None:
    service = Service(3)
    service.opus.state[key(2)] = "awaiting approval"
    result = first_run(service, sandbox_profile, tmp_path, [key(0), key(1), key(2)])
    service.opus.state[key(2)] = "due"
    first = again(service, sandbox_profile, tmp_path, result.run_id)  # now all destroyed
    assert first.outcome.all_destroyed
    hashes = sha(tmp_path / "cert.pdf"), sha(tmp_path / "cert-manifest.xlsx")
    calls = len(service.opus.destroy_calls)
    tab = DisposalTab(
        runner,
        GuiSettings(tmp_path / "gui.ini"),
        connections=service.connections(),
        journal_path=tmp_path / "journal.sqlite3",
        audit_path=tmp_path / "audit.jsonl",
    )
    qtbot.addWidget(tab)
    tab.resize(1000, 600)
    tab.show()
    tab.set_profile(sandbox_profile)
    messages: list[str] = []
    tab.status_message.connect(messages.append)

    tab.retry(result.run_id)
    qtbot.waitUntil(lambda: tab.destroyer.last_result is not None, timeout=10_000)

    shown = tab.destroyer.last_result
    assert shown is not None and shown.finished_already
    assert len(service.opus.destroy_calls) == calls
    assert (sha(tmp_path / "cert.pdf"), sha(tmp_path / "cert-manifest.xlsx")) == hashes
    assert messages[-1] == (
        f"Run {result.run_id}: 3 destroyed, 0 not destroyed. Nothing was left to send, so "
        f"nothing was sent. Certificate: {tmp_path / 'cert.pdf'} (left as it was)"
    )
    assert tab.outcome.isVisible() and tab.outcome.certificate() == tmp_path / "cert.pdf"
    assert tab.outcome.title.text() == (
        f"Run {result.run_id} finished: 3 destroyed, 0 not destroyed. Nothing was left to "
        "send, so nothing was sent."
    )
    tab.can_close()
