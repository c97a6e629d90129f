"""The audit log's edges: a lock held too long, folders that are files, lines too long for
one read, who the operator is when the OS cannot say, and the keyring's own failures."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import pytest

from opus_desktop.jobs import audit as audit_module
from opus_desktop.jobs.audit import AuditLog, DisposedRecord, destroy_entry, operator
from opus_desktop.jobs.audit_anchors import Anchor
from opus_desktop.jobs.audit_key import KeyringKey, KeyUnavailable, keyring_user
from opus_desktop.jobs.errors import AuditError
from opus_desktop.jobs.locks import FileLock
from tests.unit.test_audit import NoKeyring, disposal, lines, write


def test_a_lock_held_too_long_stops_the_append(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    monkeypatch.setattr(audit_module, "_LOCK_TIMEOUT", 0.05)
    with FileLock(tmp_path / "audit.jsonl.lock"), pytest.raises(AuditError) as caught:
        audit.append(disposal(1))
    assert caught.value.message == (
        f"The audit log {audit.path} stayed locked by another window for 0 seconds; nothing "
        "was destroyed. Try again."
    )
    assert not audit.path.exists()
    audit.append(disposal(1))  # the lock was let go
    assert audit.verify().entries == 1


def test_a_log_under_a_file_cannot_be_written_and_holds_nothing(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file where the folder should be", "utf-8")
    audit = AuditLog(tmp_path / "data" / "audit.jsonl")
    with pytest.raises(AuditError) as caught:
        audit.append(disposal(1))
    assert caught.value.message == (
        f"The audit log {audit.path} cannot be written: File exists. Nothing may be "
        "destroyed until it can."
    )
    assert list(audit.entries()) == [] and audit.verify().ok


def test_a_folder_in_the_log_s_place_cannot_be_read(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    with pytest.raises(AuditError) as caught:
        list(audit.entries())
    assert caught.value.message == f"The audit log {tmp_path} cannot be read: Is a directory."


def test_a_line_that_is_no_entry_cannot_be_read(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.append(disposal(1))
    write(audit, [*lines(audit), b'{"seq": 2}\n'])
    with pytest.raises(AuditError) as caught:
        list(audit.entries())
    assert caught.value.message == f"Entry 2 of the audit log {audit.path} cannot be read."


@pytest.mark.parametrize(
    "line", [b'{"seq": 1}\n', b"[1, 2]\n", b'{"entry": {}, "hash": "", "prev": "", "seq": "1"'
             b', "time": ""}\n']
)  # fmt: skip
def test_a_line_without_the_app_s_fields_is_named(tmp_path: Path, line: bytes) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.path.write_bytes(line)
    result = audit.verify()
    assert not result.ok and result.first_bad == 1
    assert result.reason == (
        "Entry 1 is not an audit entry: its fields are not the ones the app writes."
    )


def test_lines_longer_than_one_read_are_continued(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    big = {"action": "test", "padding": "x" * 150_000}
    first = audit.append(big)
    second = audit.append(big)
    third = audit.append({"action": "test"})
    assert (first.seq, second.seq, third.seq) == (1, 2, 3)
    raw = lines(audit)
    assert second.prev == audit_module._sha256(raw[0][:-1])
    assert third.prev == audit_module._sha256(raw[1][:-1])
    assert audit.verify().ok


def test_a_whole_log_in_one_line_without_a_newline(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.append({"action": "test", "padding": "x" * 150_000})
    audit.path.write_bytes(audit.path.read_bytes()[:-1])  # its newline lost
    with pytest.raises(AuditError, match="is damaged"):
        audit.append({"action": "test"})


def test_the_operator_when_the_os_cannot_say_who(monkeypatch: pytest.MonkeyPatch) -> None:
    def nobody() -> str:
        raise OSError("no user name")

    monkeypatch.setattr(getpass, "getuser", nobody)
    assert operator("  Jane Officer ") == {"account": "", "name": "Jane Officer"}


def test_a_destroy_entry_in_full() -> None:
    records = [DisposedRecord("K1", "Minutes", "Gov/Minutes", "2024-01-01", "destroyed", "ok")]
    entry = destroy_entry(
        run_id="00000001",
        profile="demo",
        identity_url="https://identity.example",
        api_url="https://api.example",
        connection_id="c-1",
        justification="Schedule 4.2",
        records=records,
        operator_name="Jane",
        service_message="1 of 1 records marked as destroyed.",
    )
    assert entry == {
        "action": "destroy",
        "operator": {"account": operator()["account"], "name": "Jane"},
        "profile": "demo",
        "tenant": {"identity": "https://identity.example", "api": "https://api.example"},
        "connection": "c-1",
        "justification": "Schedule 4.2",
        "run": "00000001",
        "records": [
            {"rowKey": "K1", "name": "Minutes", "classification": "Gov/Minutes",
             "dueDate": "2024-01-01"}
        ],
        "answers": {"K1": {"outcome": "destroyed", "message": "ok"}},
        "serviceMessage": "1 of 1 records marked as destroyed.",
    }  # fmt: skip
    assert DisposedRecord("K2") == DisposedRecord("K2", "", "", "", "", "")


def test_find_takes_a_hash_as_it_is_quoted(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    entry = audit.append({"action": "test"})
    assert audit.find(f"  {entry.hash.upper()}\n") == entry
    quoted = Anchor(f" {entry.hash.upper()}\n", 1, "the manifest m.xlsx")
    assert audit.verify([quoted, f" {entry.hash}\n"]).ok


def test_a_sealed_log_emptied_reads_as_empty(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.append({"action": "test"})
    write(audit, [])
    result = AuditLog(audit.path).verify()
    assert result.ok and result.reason == "The audit log is empty: nothing was destroyed."
    again = AuditLog(audit.path).append({"action": "test"})  # an empty file starts anew
    assert again.seq == 1 and again.prev == audit_module.GENESIS


def test_the_keyring_entry_is_named_after_the_log_s_full_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring: Any
) -> None:
    assert keyring_user(tmp_path / "a.jsonl") == f"audit-log {tmp_path.resolve() / 'a.jsonl'}"
    monkeypatch.chdir(tmp_path)
    AuditLog(Path("audit.jsonl")).append({"action": "test"})
    assert AuditLog(tmp_path / "audit.jsonl").verify().sealed_from == 1  # the same key
    assert list(memory_keyring.store) == [
        ("opus-desktop", f"audit-log {tmp_path.resolve() / 'audit.jsonl'}")
    ]


class BrokenKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError()

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError()

    def delete_password(self, service: str, username: str) -> None:
        raise RuntimeError()


def test_a_keyring_failing_without_a_word_is_named_by_its_error(tmp_path: Path) -> None:
    keyring.set_keyring(BrokenKeyring())
    store = KeyringKey(tmp_path / "audit.jsonl")
    for call in (store.get, store.create):
        with pytest.raises(KeyUnavailable) as caught:
            call()
        assert caught.value.reason == "the system keyring failed (RuntimeError)"
        assert str(caught.value) == caught.value.reason
    store.drop()  # quiet
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.append({"action": "test"})  # unsealed, then
    assert json.loads(lines(audit)[0]).keys() == {"seq", "time", "prev", "entry", "hash"}


def test_a_plain_log_can_be_read_without_asking_for_a_key(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl", key=NoKeyring())
    entry = audit.append({"action": "test"})
    assert list(audit.entries()) == [entry] and audit.find(entry.hash) == entry
