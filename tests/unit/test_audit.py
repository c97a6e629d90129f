"""The audit log: the hash chain, tamper detection, locking, file mode. The keyed MAC and
the anchors are test_audit_seal.py's."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opus_desktop import paths
from opus_desktop.jobs.audit import (
    GENESIS,
    AuditLog,
    DisposedRecord,
    canonical,
    destroy_entry,
    operator,
)
from opus_desktop.jobs.audit_key import KeyUnavailable, keyring_user
from opus_desktop.jobs.errors import AuditError
from opus_desktop.profiles import KEYRING_SERVICE


class NoKeyring:
    """A key store where no keyring can be used: the log is a plain hash chain."""

    def get(self) -> bytes | None:
        raise KeyUnavailable("no system keyring can be used here")

    def create(self) -> bytes:
        raise KeyUnavailable("no system keyring can be used here")

    def drop(self) -> None:
        raise AssertionError("nothing to drop")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def disposal(n: int, justification: str = "Retention period over (schedule 4.2)") -> dict[str, Any]:
    return destroy_entry(
        run_id=f"0000000{n}",
        profile="demo",
        identity_url="https://identity.avepointonlineservices.com",
        api_url="https://graph-us.avepointonlineservices.com",
        connection_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        justification=justification,
        records=[
            DisposedRecord(
                f"K{n}-1", "Minutes 2010", "Governance/Minutes", "2024-01-01", "destroyed", ""
            ),
            DisposedRecord(
                f"K{n}-2",
                "Budget 2010",
                "Finance/Budget",
                "2024-02-01",
                "failed",
                "Record is on hold",
            ),
        ],
        operator_name="Jane Officer",
    )


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    audit = AuditLog(tmp_path / "audit.jsonl", clock=Clock())
    for n in range(1, 6):
        audit.append(disposal(n))
    return audit


def lines(audit: AuditLog) -> list[bytes]:
    return audit.path.read_bytes().splitlines(keepends=True)


def write(audit: AuditLog, content: list[bytes]) -> None:
    audit.path.write_bytes(b"".join(content))


def test_an_intact_log_verifies(log: AuditLog) -> None:
    result = log.verify()
    assert result.ok and result.entries == 5 and result.first_bad is None
    assert result.reason == "The audit log is intact: 5 entries, none changed."
    assert result.last_hash == list(log.entries())[-1].hash


def test_entries_are_chained_as_documented(log: AuditLog, memory_keyring: Any) -> None:
    raw = [line.rstrip(b"\n") for line in lines(log)]
    entries = list(log.entries())
    key = bytes.fromhex(memory_keyring.store[(KEYRING_SERVICE, keyring_user(log.path))])
    assert len(key) == 32
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev == GENESIS
    for before, entry in zip(raw, entries[1:], strict=False):
        assert entry.prev == hashlib.sha256(before).hexdigest()
    for line, entry in zip(raw, entries, strict=True):
        data = json.loads(line)
        assert canonical(data) == line  # stored in canonical form
        body = {k: data[k] for k in ("seq", "time", "prev", "entry")}
        assert entry.hash == hashlib.sha256(canonical(body)).hexdigest()
        assert data["mac"] == hmac.new(key, canonical(body), hashlib.sha256).hexdigest()
    assert entries[0].time == "2025-03-01T09:30:01.000Z"


def test_destroy_entry_holds_who_what_why_and_the_answers(log: AuditLog) -> None:
    entry = next(log.entries()).entry
    assert entry["operator"]["name"] == "Jane Officer"
    assert entry["operator"]["account"] == operator()["account"]
    assert entry["justification"] == "Retention period over (schedule 4.2)"
    assert entry["tenant"]["api"] == "https://graph-us.avepointonlineservices.com"
    assert entry["connection"] == "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    assert entry["run"] == "00000001"
    assert entry["records"][1] == {
        "rowKey": "K1-2",
        "name": "Budget 2010",
        "classification": "Finance/Budget",
        "dueDate": "2024-02-01",
    }
    assert entry["answers"]["K1-2"] == {"outcome": "failed", "message": "Record is on hold"}


def test_a_changed_justification_is_found(log: AuditLog) -> None:
    content = lines(log)
    content[2] = content[2].replace(b"schedule 4.2", b"schedule 9.9")
    write(log, content)
    result = log.verify()
    assert not result.ok and result.first_bad == 3 and result.entries == 2
    assert result.reason == (
        "Entry 3 was changed after it was written: its content no longer matches its hash."
    )


def recompute_hash(content: list[bytes], index: int, justification: str) -> None:
    """Change an entry's justification and give it the hash of its new content."""
    data = json.loads(content[index])
    data["entry"]["justification"] = justification
    body = {k: data[k] for k in ("seq", "time", "prev", "entry")}
    data["hash"] = hashlib.sha256(canonical(body)).hexdigest()
    content[index] = canonical(data) + b"\n"


def test_a_changed_entry_with_a_recomputed_hash_fails_its_mac(log: AuditLog) -> None:
    content = lines(log)
    recompute_hash(content, 1, "nobody will notice")
    write(log, content)
    result = log.verify()
    assert not result.ok and result.first_bad == 2 and result.entries == 1
    assert result.reason.startswith("Entry 2 was changed: its keyed MAC does not match")
    assert result.last_hash == next(iter(log.entries())).hash


def test_without_a_mac_a_recomputed_hash_breaks_the_next_link(tmp_path: Path) -> None:
    plain = AuditLog(tmp_path / "plain.jsonl", clock=Clock(), key=NoKeyring())
    for n in range(1, 6):
        plain.append(disposal(n))
    content = lines(plain)
    recompute_hash(content, 1, "nobody will notice")
    write(plain, content)
    result = plain.verify()
    assert not result.ok and result.first_bad == 2 and result.entries == 1
    assert result.reason == (
        "Entry 2 was changed and its hash recomputed to hide it: entry 3 no longer carries "
        "its hash."
    )
    assert "tamper-evident, not tamper-proof" in " ".join(result.notes)


def test_a_removed_entry_is_found(log: AuditLog) -> None:
    content = lines(log)
    del content[2]
    write(log, content)
    result = log.verify()
    assert not result.ok and result.first_bad == 3 and result.entries == 2
    assert result.reason == (
        "Entry 3 is missing: the line in its place is entry 4 and no line holds entry 3, "
        "so it was removed."
    )


def test_swapped_entries_are_found(log: AuditLog) -> None:
    content = lines(log)
    content[1], content[2] = content[2], content[1]
    write(log, content)
    result = log.verify()
    assert not result.ok and result.first_bad == 2
    assert result.reason == (
        "Entry 2 is missing from its place: entries were reordered (the line there is "
        "entry 3, and entry 2 comes later)."
    )


def test_a_copied_entry_is_found(log: AuditLog) -> None:
    content = lines(log)
    write(log, [*content[:3], content[1], *content[3:]])
    result = log.verify()
    assert not result.ok and result.first_bad == 4 and result.entries == 3
    assert result.reason == (
        "Entry 4 is out of place: the line there is entry 2 again, so an entry was copied "
        "or inserted."
    )


def test_a_truncated_last_line_is_found(log: AuditLog) -> None:
    data = log.path.read_bytes()
    log.path.write_bytes(data[:-40])
    result = log.verify()
    assert not result.ok and result.first_bad == 5 and result.entries == 4
    assert result.reason == (
        "Entry 5 is cut short: the log was truncated or a write was interrupted."
    )


def test_garbage_and_hand_edits_are_found(log: AuditLog) -> None:
    content = lines(log)
    write(log, [*content[:3], b"hello\n", *content[3:]])
    result = log.verify()
    assert not result.ok and result.first_bad == 4
    assert result.reason == (
        "Entry 4 is not a readable audit entry: the line was damaged or added by hand."
    )

    spaced = json.dumps(json.loads(content[1]), sort_keys=True).encode() + b"\n"
    write(log, [content[0], spaced, *content[2:]])
    result = log.verify()
    assert not result.ok and result.first_bad == 2
    assert result.reason == (
        "Entry 2 was rewritten by hand: its text is not in the form the app writes."
    )


def test_entries_removed_from_the_end_are_found_with_anchors(log: AuditLog) -> None:
    anchors = [e.hash for e in log.entries()][2::2]  # what the journal would remember
    content = lines(log)
    write(log, content[:4])
    assert log.verify().ok  # a shorter chain is still a chain ...
    result = log.verify(anchors=anchors)  # ... but the journal knows more
    assert not result.ok and result.first_bad == 5 and "removed from the end" in result.reason
    write(log, content)
    assert log.verify(anchors=[a.upper() for a in anchors]).ok


def test_append_refuses_to_continue_a_damaged_log(log: AuditLog) -> None:
    before = log.path.read_bytes()
    log.path.write_bytes(before[:-10])
    with pytest.raises(AuditError, match="damaged") as caught:
        log.append(disposal(6))
    assert caught.value.message == (
        f"The last entry of the audit log {log.path} is damaged, so nothing more can be "
        "added to it and nothing was destroyed. Run `opus-desktop audit verify` and keep "
        "the file for your records manager."
    )
    assert log.path.read_bytes() == before[:-10]


def test_find_and_an_empty_log(tmp_path: Path, log: AuditLog) -> None:
    third = list(log.entries())[2]
    found = log.find(third.hash.upper())
    assert found == third
    assert log.find("0" * 64) is None
    empty = AuditLog(tmp_path / "none.jsonl")
    result = empty.verify()
    assert result.ok and result.entries == 0 and result.first_bad is None
    assert result.reason == "The audit log is empty: nothing was destroyed."
    assert result.last_hash is None and result.notes == ()
    assert list(empty.entries()) == []


def test_the_default_path_and_a_first_entry() -> None:
    audit = AuditLog()
    assert audit.path == paths.audit_log_path()
    first = audit.append({"action": "test", "note": "café"})
    assert first.seq == 1 and first.prev == GENESIS
    assert audit.find(first.hash) == first
    with pytest.raises(ValueError, match="plain JSON"):
        audit.append({"bad": object()})
    assert audit.verify().entries == 1


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_log_is_readable_by_the_user_only(tmp_path: Path) -> None:
    os.umask(0o022)
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.append({"action": "test"})
    assert stat.S_IMODE(audit.path.stat().st_mode) == 0o600
    lock = tmp_path / "audit.jsonl.lock"
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600


def test_threads_appending_at_once_keep_the_chain(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")

    def work(n: int) -> None:
        for i in range(10):
            audit.append({"thread": n, "i": i})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    result = audit.verify()
    assert result.ok and result.entries == 40


class FixedKey:
    """One key for every process: the test's own, not the user's keyring."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def get(self) -> bytes | None:
        return self.key

    def create(self) -> bytes:
        raise AssertionError("the key is there already")

    def drop(self) -> None:
        raise AssertionError("the key is there already")


_WRITER = """
import sys
from pathlib import Path
from opus_desktop.jobs.audit import AuditLog
from tests.unit.test_audit import FixedKey
log = AuditLog(Path(sys.argv[1]), key=FixedKey(bytes.fromhex(sys.argv[3])))
for i in range(25):
    log.append({"process": sys.argv[2], "i": i, "padding": "x" * 5000})
"""


def test_processes_appending_at_once_do_not_interleave(tmp_path: Path) -> None:
    target = tmp_path / "audit.jsonl"
    key = os.urandom(32)
    root = str(Path(__file__).resolve().parents[2])
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(target), str(n), key.hex()],
            env={**os.environ, "PYTHONPATH": root},
        )
        for n in range(3)
    ]
    for writer in writers:
        assert writer.wait(timeout=60) == 0
    result = AuditLog(target, key=FixedKey(key)).verify()
    assert result.ok and result.entries == 75 and result.sealed_from == 1
    assert sorted(e.entry["process"] for e in AuditLog(target).entries()).count("2") == 25
