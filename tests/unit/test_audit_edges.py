"""The audit log's edges: a lock held too long, folders that are files, lines too long for
one read, who the operator is when the OS cannot say, and the keyring's own failures."""

from __future__ import annotations

import getpass
import json
import time
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.backends.fail
import pytest

from opus_desktop.jobs import audit as audit_module
from opus_desktop.jobs.audit import AuditLog, DisposedRecord, destroy_entry, operator
from opus_desktop.jobs.audit_anchors import Anchor
from opus_desktop.jobs.audit_key import KeyringKey, KeyUnavailable, keyring_user
from opus_desktop.jobs.errors import AuditError
from opus_desktop.jobs.locks import FileLock
from tests.unit.test_audit import Clock, NoKeyring, disposal, lines, write


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


# -- found by make mutate --------------------------------------------------------------------


def test_text_is_stored_as_utf_8_and_nan_is_no_json(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.append({"action": "test", "note": "café"})
    assert "café".encode() in audit.path.read_bytes()
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="an audit entry must be plain JSON"):
            audit.append({"action": "test", "value": bad})
    assert len(lines(audit)) == 1


def test_what_is_not_given_stays_empty() -> None:
    entry = destroy_entry(
        run_id="1", profile="p", identity_url="i", api_url="a", connection_id="c",
        justification="j", records=[],
    )  # fmt: skip
    assert entry["operator"]["name"] == "" and entry["serviceMessage"] == ""
    assert operator()["name"] == ""


@pytest.mark.skipif(not hasattr(time, "tzset"), reason="time.tzset is POSIX only")
def test_times_are_utc_whatever_the_local_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        audit = AuditLog(tmp_path / "audit.jsonl", clock=Clock())
        assert audit.append({"action": "test"}).time == "2025-03-01T09:30:01.000Z"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_failed_write_keeps_a_key_in_use_and_asks_no_keyring_for_none(
    tmp_path: Path, memory_keyring: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    sealed = AuditLog(tmp_path / "audit.jsonl")
    sealed.append(disposal(1))  # the key is made, and kept by this object
    plain = AuditLog(tmp_path / "plain.jsonl", key=NoKeyring())  # drop() would fail
    kept = dict(memory_keyring.store)
    monkeypatch.setattr(audit_module, "_write_all", full)
    for audit in (sealed, plain):
        with pytest.raises(AuditError, match="No space left on device"):
            audit.append(disposal(2))
    assert memory_keyring.store == kept


@pytest.mark.parametrize("change", ["content", "form"])
def test_a_last_entry_changed_either_way_stops_appending(tmp_path: Path, change: str) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.append(disposal(1))
    (line,) = lines(audit)
    if change == "content":  # still in the app's form, but no longer its hash's
        changed = line.replace(b"schedule 4.2", b"schedule 9.9")
    else:  # its hash's content, but not in the app's form
        changed = json.dumps(json.loads(line), sort_keys=True).encode() + b"\n"
    write(audit, [changed])
    with pytest.raises(AuditError, match="is damaged"):
        AuditLog(audit.path).append(disposal(2))
    assert lines(audit) == [changed]


def test_the_log_s_folders_are_made(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "new" / "data" / "audit.jsonl")
    audit.append({"action": "test"})
    assert audit.verify().entries == 1


def test_a_line_that_fills_a_read_and_one_byte(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl", clock=Clock())
    audit.append({"action": "test", "padding": ""})
    size = len(lines(audit)[0])
    write(audit, [])
    audit = AuditLog(tmp_path / "audit.jsonl", clock=Clock())
    audit.append({"action": "test", "padding": "x" * (65536 + 1 - size)})
    assert len(lines(audit)[0]) == 65537  # read back as one chunk and its first byte
    assert audit.append({"action": "test"}).seq == 2


def test_every_failure_is_ok_false(tmp_path: Path, memory_keyring: Any) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.append(disposal(1))
    last = next(iter(audit.entries())).hash
    write(audit, [*lines(audit), b"hello\n"])
    assert AuditLog(audit.path).verify().ok is False  # the chain
    write(audit, lines(audit)[:1])
    assert AuditLog(audit.path).verify([Anchor(last, 2)]).ok is False  # an anchor
    plain = lines(audit)
    memory_keyring.store.clear()
    assert AuditLog(audit.path).verify().ok is False  # no key for a sealed log
    AuditLog(tmp_path / "other.jsonl").append({"action": "test"})  # a key for "other"
    other = AuditLog(tmp_path / "other.jsonl")
    write(
        other,
        [
            json.dumps(
                {k: v for k, v in json.loads(plain[0]).items() if k != "mac"},
                sort_keys=True,
                separators=(",", ":"),
            ).encode()
            + b"\n"
        ],
    )
    assert other.verify().ok is False  # a key, and no MAC


def test_a_cut_in_a_log_without_a_keyring_says_so_too(tmp_path: Path) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.append({"action": "test"})
    result = audit.verify([Anchor("ab" * 32, 2, "the manifest m.xlsx")])
    assert result.ok is False and result.first_bad == 2
    assert "tamper-evident, not tamper-proof" in result.notes[0]


def test_one_old_entry_before_the_sealed_ones(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl", key=NoKeyring())
    audit.append(disposal(1))
    AuditLog(audit.path).append(disposal(2))
    result = AuditLog(audit.path).verify()
    assert result.ok and result.sealed_from == 2
    assert result.notes[0] == (
        "Entry 1 carries no keyed MAC (written before the log was sealed); the keyed MAC of "
        "entry 2 vouches for the entries before it."
    )
    content = lines(audit)
    content[0] = content[0].replace(b"schedule 4.2", b"schedule 9.9")
    write(audit, rehash_plain(content))
    result = AuditLog(audit.path).verify()
    assert result.first_bad == 2 and result.reason.startswith("Entry 2, or an entry before it,")


def rehash_plain(content: list[bytes]) -> list[bytes]:
    """Each line's prev and hash recomputed, its MAC (if any) kept."""
    prev, out = audit_module.GENESIS, []
    for raw in content:
        data = json.loads(raw)
        data["prev"] = prev
        data["hash"] = audit_module._sha256(audit_module._body(data))
        line = audit_module.canonical(data)
        out.append(line + b"\n")
        prev = audit_module._sha256(line)
    return out
