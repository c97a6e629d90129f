"""The audit log's keyed MAC and its anchors: each way of rewriting the log quietly, and
what verify() names it; the key in the keyring, and what happens without one."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.errors
import pytest

from opus_desktop.jobs import audit as audit_module
from opus_desktop.jobs.audit import GENESIS, AuditLog, VerifyResult, canonical
from opus_desktop.jobs.audit_anchors import Anchor
from opus_desktop.jobs.audit_key import keyring_user
from opus_desktop.jobs.errors import AuditError
from opus_desktop.profiles import KEYRING_SERVICE
from tests.unit.test_audit import Clock, NoKeyring, disposal, lines, write

BODY = ("seq", "time", "prev", "entry")
MANIFEST = "the manifest certificate-of-destruction-00000005-manifest.xlsx"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rehash(
    content: list[bytes],
    edit: Callable[[int, dict[str, Any]], None] | None = None,
    strip_from: int | None = None,
) -> list[bytes]:
    """The chain re-hashed with plain SHA-256, as someone without the key can: `edit` each
    line's data first, keep the MACs (or drop them from line `strip_from` on)."""
    prev, out = GENESIS, []
    for index, raw in enumerate(content):
        data = json.loads(raw)
        if edit is not None:
            edit(index, data)
        data["prev"] = prev
        data["hash"] = sha(canonical({k: data[k] for k in BODY}))
        if strip_from is not None and index >= strip_from:
            data.pop("mac", None)
        line = canonical(data)
        out.append(line + b"\n")
        prev = sha(line)
    return out


def justify(at: int, text: str = "nobody will notice") -> Callable[[int, dict[str, Any]], None]:
    def edit(index: int, data: dict[str, Any]) -> None:
        if index == at:
            data["entry"]["justification"] = text

    return edit


def make_log(path: Path, count: int = 5, **kwargs: Any) -> AuditLog:
    made = AuditLog(path, clock=Clock(), **kwargs)
    for n in range(1, count + 1):
        made.append(disposal(n))
    return made


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    return make_log(tmp_path / "audit.jsonl")


@pytest.fixture
def plain(tmp_path: Path) -> AuditLog:
    return make_log(tmp_path / "plain.jsonl", key=NoKeyring())


def hashes(audit: AuditLog) -> list[str]:
    return [entry.hash for entry in audit.entries()]


def fresh(audit: AuditLog) -> VerifyResult:
    """verify() as another process would: the key read from the keyring again."""
    return AuditLog(audit.path).verify()


# -- rewriting the chain without the key ---------------------------------------------------


def test_an_edit_with_the_chain_rehashed_and_new_journal_anchors_fails_the_mac(
    log: AuditLog,
) -> None:
    write(log, rehash(lines(log), justify(2)))
    anchors = hashes(log)[2::2]  # what the journal would hold after the attacker's update
    result = AuditLog(log.path).verify(anchors)
    assert not result.ok and result.first_bad == 3 and result.entries == 2
    assert result.reason == (
        "Entry 3 was changed: its keyed MAC does not match its content, so it was "
        "rewritten, and its hash recomputed, without the key."
    )
    assert result.notes == () and result.last_hash == hashes(log)[1]


def test_every_mac_stripped_and_the_chain_rehashed_is_caught(log: AuditLog) -> None:
    write(log, rehash(lines(log), justify(2), strip_from=0))
    result = fresh(log)
    assert not result.ok and result.first_bad == 1 and result.entries == 0
    assert result.reason == (
        "The system keyring holds the key this log was sealed with, but none of its entries "
        "carries a keyed MAC: the MACs were stripped and the chain re-hashed, or the log was "
        "replaced by an older copy."
    )
    assert result.sealed_from is None


def test_the_macs_stripped_from_one_entry_on_are_caught(log: AuditLog) -> None:
    write(log, rehash(lines(log), justify(3), strip_from=3))
    result = fresh(log)
    assert not result.ok and result.first_bad == 4 and result.entries == 3
    assert result.reason == (
        "Entry 4 carries no keyed MAC, though the entries before it do: it was rewritten by "
        "someone without the key."
    )


def test_a_mac_that_is_not_even_text_is_a_change(log: AuditLog) -> None:
    content = lines(log)
    data = json.loads(content[1])
    data["mac"] = "é" * 64
    content[1] = canonical(data) + b"\n"
    write(log, content)
    result = fresh(log)
    assert not result.ok and result.first_bad == 2
    assert result.reason.startswith("Entry 2 was changed: its keyed MAC does not match")


def test_a_first_entry_that_does_not_start_the_chain(plain: AuditLog) -> None:
    content = lines(plain)
    data = json.loads(content[0])
    data["prev"] = "1" * 64
    data["hash"] = sha(canonical({k: data[k] for k in BODY}))
    content[0] = canonical(data) + b"\n"
    write(plain, content)
    result = plain.verify()
    assert not result.ok and result.first_bad == 1 and result.entries == 0
    assert result.reason == "Entry 1 does not start the chain: entries were removed before it."
    assert result.last_hash is None


def test_a_reorder_is_named_with_other_lines_in_the_way(log: AuditLog) -> None:
    content = lines(log)
    write(log, [content[0], content[2], b"[1]\n", b"hello\n", content[1], *content[3:]])
    result = fresh(log)
    assert not result.ok and result.first_bad == 2 and result.entries == 1
    assert "entries were reordered" in result.reason


# -- anchors: the journal's hashes and the manifests' quotes ------------------------------


def test_a_cut_last_entry_is_caught_by_a_manifest_quote(log: AuditLog) -> None:
    last = hashes(log)[-1]
    write(log, lines(log)[:4])
    assert fresh(log).ok  # a shorter chain is still a chain ...
    quotes = [Anchor(hashes(log)[2], 3, MANIFEST), Anchor(last, 5, MANIFEST)]
    result = AuditLog(log.path).verify([last, *quotes])  # ... but a manifest quotes entry 5
    assert not result.ok and result.first_bad == 5 and result.entries == 4
    assert result.reason == (
        f"The audit log ends after entry 4, but {MANIFEST} quotes entry 5: entries were "
        "removed from the end, from entry 5 on."
    )


def test_the_furthest_quote_past_the_end_is_named(log: AuditLog) -> None:
    quoted = hashes(log)
    write(log, lines(log)[:2])
    far = [Anchor(quoted[n - 1], n, f"manifest {n}") for n in (3, 5, 4)]
    result = AuditLog(log.path).verify(far)
    assert result.first_bad == 3 and "but manifest 5 quotes entry 5" in result.reason


def test_an_emptied_log_is_caught_by_a_quote(log: AuditLog) -> None:
    quoted = hashes(log)[1]
    write(log, [])
    result = AuditLog(log.path).verify([Anchor(quoted, 2, MANIFEST)])
    assert not result.ok and result.first_bad == 1 and result.entries == 0
    assert result.reason == (
        f"The audit log holds no entries, but {MANIFEST} quotes entry 2: entries were removed "
        "from the end, from entry 1 on."
    )


def test_quotes_that_match_hold(log: AuditLog) -> None:
    quotes = [Anchor(h.upper(), n, MANIFEST) for n, h in enumerate(hashes(log), 1)]
    result = AuditLog(log.path).verify([*quotes, *hashes(log)])
    assert result.ok and result.reason == "The audit log is intact: 5 entries, none changed."


def test_a_quote_a_sealed_log_does_not_match_blames_the_quote(log: AuditLog) -> None:
    result = AuditLog(log.path).verify([Anchor("ab" * 32, 2, MANIFEST)])
    assert not result.ok and result.first_bad == 2 and result.entries == 1
    assert result.reason == (
        f"Entry 2 is not the entry {MANIFEST} quotes (hash abababababababab...): its keyed "
        f"MAC holds, so {MANIFEST} was changed or belongs to another audit log."
    )


def test_a_quote_a_rehashed_plain_log_does_not_match_names_the_entry(plain: AuditLog) -> None:
    before = hashes(plain)
    write(plain, rehash(lines(plain), justify(2)))
    assert plain.verify().ok  # without a MAC a re-hash is a valid chain ...
    anchors = [before[-1], Anchor(before[0], 1, MANIFEST), Anchor(before[3], 4, MANIFEST)]
    result = plain.verify(anchors)  # ... that no longer holds what was quoted
    assert not result.ok and result.first_bad == 4 and result.entries == 3
    assert result.reason == (
        "Entry 4 was changed, or an entry before it, and the chain re-hashed: its hash is "
        f"not the {before[3][:16]}... that {MANIFEST} quotes."
    )


def test_a_hash_the_journal_keeps_and_the_log_lacks(log: AuditLog, plain: AuditLog) -> None:
    for audit in (log, plain):
        kept = hashes(audit)[-1]
        write(audit, lines(audit)[:4])
        result = audit.verify([kept])
        assert not result.ok and result.first_bad == 5 and result.entries == 4
        assert result.reason.startswith(
            f"The audit log ends after entry 4, but the journal knows an entry with hash "
            f"{kept[:16]}... that is no longer in it: entries were removed from the end"
        )
    sealed = AuditLog(log.path).verify(["cd" * 32])
    assert sealed.reason.endswith("removed from the end.")
    unsealed = plain.verify(["cd" * 32])
    assert unsealed.reason.endswith(
        "removed from the end, or changed and the chain re-hashed (entries without a keyed "
        "MAC cannot tell which)."
    )


def test_an_anchor_counts_from_one() -> None:
    with pytest.raises(ValueError, match="count from 1, not 0"):
        Anchor("ab" * 32, 0)
    assert Anchor("ab" * 32, 1).source == "the journal"


# -- the key ---------------------------------------------------------------------------------


def test_the_key_is_made_by_the_first_append_and_read_where_the_log_is_used(
    tmp_path: Path, memory_keyring: Any
) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    assert memory_keyring.read_in == [] and memory_keyring.written_in == []

    def work() -> None:
        audit.append(disposal(1))
        audit.append(disposal(2))
        assert audit.verify().ok

    worker = threading.Thread(target=work, name="audit worker")
    worker.start()
    worker.join(timeout=30)
    assert memory_keyring.read_in == ["audit worker"]  # once: the key is kept after that
    assert memory_keyring.written_in == ["audit worker"]
    assert list(memory_keyring.store) == [(KEYRING_SERVICE, keyring_user(audit.path))]
    again = AuditLog(tmp_path / "." / "audit.jsonl").verify()  # the same log, by another name
    assert again.ok and again.sealed_from == 1
    assert again.notes == (
        "Entries 1 to 2 carry a keyed MAC (HMAC-SHA256, the key in the system keyring), "
        "which cannot be recomputed without that key.",
    )


def test_each_log_has_its_own_key(tmp_path: Path, memory_keyring: Any) -> None:
    one, two = make_log(tmp_path / "one.jsonl", 1), make_log(tmp_path / "two.jsonl", 1)
    assert len(set(memory_keyring.store.values())) == 2
    assert one.verify().ok and two.verify().ok
    write(two, lines(one))  # one log's entry put in the other's place
    result = AuditLog(two.path).verify()
    assert not result.ok and result.first_bad == 1 and "keyed MAC does not match" in result.reason


def test_without_a_keyring_the_log_is_plain_and_said_to_be_tamper_evident_only(
    tmp_path: Path,
) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    audit = make_log(tmp_path / "audit.jsonl", 2)
    assert all(b'"mac"' not in line for line in lines(audit))
    result = audit.verify()
    assert result.ok and result.sealed_from is None
    assert result.notes == (
        "Without a usable keyring (no system keyring can be used here) the log is chained by "
        "plain SHA-256 hashes only: it is tamper-evident, not tamper-proof, since whoever can "
        "write the file can change an entry and re-hash the chain.",
    )
    empty = AuditLog(tmp_path / "none.jsonl").verify()
    assert empty.ok and "tamper-evident, not tamper-proof" in empty.notes[0]


def test_an_old_unkeyed_log_still_verifies_and_is_sealed_from_its_next_entry(
    plain: AuditLog, memory_keyring: Any
) -> None:
    old = AuditLog(plain.path)
    result = old.verify()
    assert result.ok and result.entries == 5 and result.sealed_from is None
    assert result.notes == (
        "Entries 1 to 5 carry no keyed MAC (written before the log was sealed): "
        "tamper-evident only, until the next disposal seals the log.",
    )
    assert memory_keyring.store == {}  # verifying makes no key

    old.append(disposal(6))
    result = AuditLog(plain.path).verify()
    assert result.ok and result.entries == 6 and result.sealed_from == 6
    assert result.notes == (
        "Entries 1 to 5 carry no keyed MAC (written before the log was sealed); the keyed "
        "MAC of entry 6 vouches for the entries before it.",
        "Entry 6 carries a keyed MAC (HMAC-SHA256, the key in the system keyring), which "
        "cannot be recomputed without that key.",
    )

    write(plain, rehash(lines(plain), justify(1)))  # an old entry rewritten
    result = AuditLog(plain.path).verify()
    assert not result.ok and result.first_bad == 6
    assert result.reason == (
        "Entry 6, or an entry before it, was changed and the chain re-hashed: the keyed MAC "
        "of entry 6 does not match, and the entries before it carry none to tell which."
    )


def test_a_single_old_entry_is_told_as_one(tmp_path: Path) -> None:
    old = make_log(tmp_path / "audit.jsonl", 1, key=NoKeyring())
    assert AuditLog(old.path).verify().notes[0].startswith("Entry 1 carries no keyed MAC")


def test_a_missing_key_is_one_sentence_and_stops_appending(
    log: AuditLog, memory_keyring: Any
) -> None:
    memory_keyring.store.clear()
    before = log.path.read_bytes()
    result = AuditLog(log.path).verify()
    assert not result.ok and result.first_bad is None and result.entries == 5
    assert result.reason == (
        "Entries 1 to 5 carry a keyed MAC, but the system keyring holds no key for this log "
        "(it came from another folder or machine, or its key was deleted): the MACs cannot be "
        "checked, only the hash chain, which is unbroken."
    )
    assert result.last_hash == hashes(log)[-1] and result.notes == ()
    with pytest.raises(AuditError) as caught:
        AuditLog(log.path).append(disposal(6))
    assert caught.value.message == (
        f"The audit log {log.path} is sealed with a key the system keyring does not hold (the "
        "log came from another folder or machine, or its key was deleted), so nothing can be "
        "added to it and nothing was destroyed. Move the log aside, keeping it for your "
        "records manager, to start a new one."
    )
    assert log.path.read_bytes() == before and memory_keyring.store == {}


class LockedKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("locked")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("locked")


def test_a_keyring_that_fails_on_a_sealed_log(log: AuditLog) -> None:
    before = log.path.read_bytes()
    keyring.set_keyring(LockedKeyring())
    result = AuditLog(log.path).verify()
    assert not result.ok and result.first_bad is None
    assert result.reason.startswith(
        "Entries 1 to 5 carry a keyed MAC, but the system keyring failed (locked): the MACs "
        "cannot be checked"
    )
    with pytest.raises(AuditError) as caught:
        AuditLog(log.path).append(disposal(6))
    assert caught.value.message == (
        f"The audit log {log.path} is sealed with a key kept in the system keyring, which "
        "cannot be used now: the system keyring failed (locked). Nothing can be added to the "
        "log, so nothing was destroyed."
    )
    assert log.path.read_bytes() == before
    assert log.verify().ok  # the key read before is kept: the keyring is not asked again


@pytest.mark.parametrize("stored", ["zz" * 32, "ab" * 16])
def test_a_keyring_entry_that_is_not_a_key(log: AuditLog, memory_keyring: Any, stored: str) -> None:
    memory_keyring.store[(KEYRING_SERVICE, keyring_user(log.path))] = stored
    result = AuditLog(log.path).verify()
    assert not result.ok and result.first_bad is None
    assert "but the keyring's entry for this log is not a key the app made:" in result.reason


def test_a_key_made_for_a_line_that_was_not_written_is_dropped(
    tmp_path: Path, memory_keyring: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    audit = AuditLog(tmp_path / "audit.jsonl")
    with monkeypatch.context() as patch:
        patch.setattr(audit_module, "_write_all", full)
        with pytest.raises(AuditError, match="No space left on device"):
            audit.append(disposal(1))
    assert memory_keyring.store == {}
    audit.append(disposal(1))  # a new key, then
    assert len(memory_keyring.store) == 1
    kept = dict(memory_keyring.store)
    with monkeypatch.context() as patch:
        patch.setattr(audit_module, "_write_all", full)
        with pytest.raises(AuditError):
            AuditLog(audit.path).append(disposal(2))
    assert memory_keyring.store == kept  # a key lines use is never dropped
    assert AuditLog(audit.path).verify().ok


def test_dropping_a_key_the_keyring_lost_already_is_quiet(
    tmp_path: Path, memory_keyring: Any
) -> None:
    store = AuditLog(tmp_path / "audit.jsonl")._store
    store.drop()  # nothing there: no error
    keyring.set_keyring(LockedKeyring())
    store.drop()  # no keyring: no error either
    assert memory_keyring.store == {}
