"""The audit log of disposals: append-only JSON lines, each chained to the one before and
sealed with a keyed MAC.

One line per entry, in canonical JSON (keys sorted, no spaces, UTF-8):

    {"entry": {...}, "hash": "<sha256>", "mac": "<hmac>", "prev": "<sha256>", "seq": 7,
     "time": "2025-...Z"}

- `seq` counts from 1 with no gaps;
- `prev` is the SHA-256 (hex) of the previous line exactly as stored, without its
  newline ("0" * 64 for the first entry);
- `hash` is the SHA-256 of the canonical JSON of seq, time, prev and entry;
- `mac` is the HMAC-SHA256 of the same bytes under a random key kept in the OS keyring
  (where the certificate passwords are), one key per log, made by the first append. A
  line without `mac` was written before logs were sealed, or where no keyring works.

A hash chain alone is only tamper-evident: whoever can write the file can change an entry
and re-hash everything after it. The MAC cannot be recomputed without the key, and since
`prev` covers the line before (its MAC too), one sealed line vouches for every line before
it. Once a line is sealed every later one must be: append() refuses to go on without the
key, and verify() reports an unsealed line after a sealed one, and a log with no sealed
line while the keyring holds its key (MACs stripped and the chain re-hashed).

Removing entries from the end leaves a shorter, valid chain. What quotes entries
elsewhere catches that: the journal keeps the hash of each disposal's last entry, each
certificate's manifest quotes its entries by number and hash, and `verify(anchors=...)`
names any the log no longer holds, or holds changed.

Appending happens under a lock file (flock / msvcrt) so two processes cannot interleave,
with the line written in one call and fsync'd before append() returns. A damaged last
line stops further appends: no disposal goes ahead without its audit entry.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opus_desktop import paths
from opus_desktop.files import make_private
from opus_desktop.jobs.audit_anchors import Anchor, anchor_problem
from opus_desktop.jobs.audit_key import KeyringKey, KeyStore, KeyUnavailable
from opus_desktop.jobs.errors import AuditError
from opus_desktop.jobs.locks import FileLock

GENESIS = "0" * 64
_BODY = ("seq", "time", "prev", "entry")
_FIELDS = frozenset({*_BODY, "hash"})
_SEALED_FIELDS = _FIELDS | {"mac"}
_LOCK_TIMEOUT = 30.0


def canonical(value: object) -> bytes:
    """The one byte form of a JSON value that hashes are taken over."""
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time: str  # UTC, ISO 8601 with a trailing Z
    prev: str
    entry: dict[str, Any]
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int  # entries read before the first bad one (all of them when ok)
    first_bad: int | None  # position (from 1) of the first bad entry
    reason: str  # a sentence for the user, whether ok or not
    last_hash: str | None = None  # hash of the last good entry, to quote or compare
    notes: tuple[str, ...] = ()  # how far the log can be trusted: sealed, or not
    sealed_from: int | None = None  # the first entry carrying a keyed MAC


@dataclass(frozen=True)
class DisposedRecord:
    """One record of a disposal, as the audit log keeps it."""

    key: str
    name: str = ""
    classification: str = ""
    due: str = ""  # the disposal due date as the service showed it
    outcome: str = ""  # "destroyed", "failed" or "not sent"
    message: str = ""  # the service's answer for this record


def operator(name: str = "") -> dict[str, str]:
    """Who acts: the OS account, and the name the officer typed, if any."""
    try:
        account = getpass.getuser()
    except (OSError, KeyError, ImportError):
        account = ""
    return {"account": account, "name": name.strip()}


def destroy_entry(
    *,
    run_id: str,
    profile: str,
    identity_url: str,
    api_url: str,
    connection_id: str,
    justification: str,
    records: Iterable[DisposedRecord],
    operator_name: str = "",
    service_message: str = "",
) -> dict[str, Any]:
    """The audit entry of one destroy call (or a whole disposal), in the agreed shape."""
    listed = list(records)
    return {
        "action": "destroy",
        "operator": operator(operator_name),
        "profile": profile,
        "tenant": {"identity": identity_url, "api": api_url},
        "connection": connection_id,
        "justification": justification,
        "run": run_id,
        "records": [
            {
                "rowKey": r.key,
                "name": r.name,
                "classification": r.classification,
                "dueDate": r.due,
            }
            for r in listed
        ],
        "answers": {r.key: {"outcome": r.outcome, "message": r.message} for r in listed},
        "serviceMessage": service_message,
    }


def _mac(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AuditLog:
    """The audit log at `path` (default: paths.audit_log_path()), its MAC key in `key`
    (default: the OS keyring)."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        clock: Callable[[], datetime] = _utc_now,
        key: KeyStore | None = None,
    ) -> None:
        self.path = path if path is not None else paths.audit_log_path()
        self._clock = clock
        self._store = key if key is not None else KeyringKey(self.path)
        self._key: bytes | None = None  # once read, kept: the keyring may be slow
        self._thread_lock = threading.Lock()

    # -- writing --------------------------------------------------------------------

    def append(self, entry: Mapping[str, Any]) -> AuditEntry:
        """Add `entry` (any JSON object) at the end, on disk before this returns."""
        try:
            content: dict[str, Any] = json.loads(canonical(dict(entry)))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"an audit entry must be plain JSON: {exc}") from exc
        with self._thread_lock:
            lock = FileLock(self.path.with_name(self.path.name + ".lock"))
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if not lock.acquire(timeout=_LOCK_TIMEOUT):
                    raise AuditError(
                        f"The audit log {self.path} stayed locked by another window for "
                        f"{_LOCK_TIMEOUT:.0f} seconds; nothing was destroyed. Try again."
                    )
                try:
                    return self._append_locked(content)
                finally:
                    lock.release()
            except OSError as exc:
                raise AuditError(
                    f"The audit log {self.path} cannot be written: {exc.strerror or exc}. "
                    "Nothing may be destroyed until it can."
                ) from exc

    def _append_locked(self, content: dict[str, Any]) -> AuditEntry:
        created = not self.path.exists()
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            seq, prev, sealed = self._tail(fd)
            key, made = self._sealing_key(sealed)
            head = {
                "seq": seq,
                "time": self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "prev": prev,
                "entry": content,
            }
            body = canonical(head)
            digest = _sha256(body)
            record = {**head, "hash": digest}
            if key is not None:
                record["mac"] = _mac(key, body)
            try:
                _write_all(fd, canonical(record) + b"\n")
            except OSError:
                if made:  # a key no line uses would make the unsealed log look stripped
                    self._key = None
                    self._store.drop()
                raise
        finally:
            os.close(fd)
        make_private(self.path)
        if created:
            _sync_directory(self.path.parent)
        return AuditEntry(seq, str(head["time"]), prev, content, digest)

    def _tail(self, fd: int) -> tuple[int, str, bool]:
        """The next entry's seq and prev, and whether the last line is sealed, from the
        last line; refuses a damaged one."""
        raw = _last_line(fd)
        if raw is None:
            return 1, GENESIS, False
        data, _ = _read_line(raw, "The last entry")
        if data is None or _sha256(_body(data)) != data["hash"] or canonical(data) != raw[:-1]:
            raise AuditError(
                f"The last entry of the audit log {self.path} is damaged, so nothing more "
                "can be added to it and nothing was destroyed. Run `opus-desktop audit "
                "verify` and keep the file for your records manager."
            )
        return int(data["seq"]) + 1, _sha256(raw[:-1]), "mac" in data

    def _sealing_key(self, sealed: bool) -> tuple[bytes | None, bool]:
        """The key to seal the next line with (None: a plain line), and whether it was
        made just now. A sealed log is never continued without its key."""
        if self._key is not None:
            return self._key, False
        made = False
        try:
            key = self._store.get()
            if key is None and not sealed:
                key, made = self._store.create(), True
        except KeyUnavailable as exc:
            if not sealed:
                return None, False
            raise AuditError(
                f"The audit log {self.path} is sealed with a key kept in the system keyring, "
                f"which cannot be used now: {exc.reason}. Nothing can be added to the log, "
                "so nothing was destroyed."
            ) from None
        if key is None:
            raise AuditError(
                f"The audit log {self.path} is sealed with a key the system keyring does not "
                "hold (the log came from another folder or machine, or its key was deleted), "
                "so nothing can be added to it and nothing was destroyed. Move the log aside, "
                "keeping it for your records manager, to start a new one."
            )
        self._key = key
        return key, made

    # -- reading --------------------------------------------------------------------

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry in order; AuditError at a line that cannot be read."""
        for position, raw in enumerate(self._lines(), 1):
            try:
                data = json.loads(raw)
                yield AuditEntry(
                    data["seq"], data["time"], data["prev"], data["entry"], data["hash"]
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise AuditError(
                    f"Entry {position} of the audit log {self.path} cannot be read."
                ) from exc

    def find(self, entry_hash: str) -> AuditEntry | None:
        wanted = entry_hash.strip().lower()
        return next((e for e in self.entries() if e.hash == wanted), None)

    def verify(self, anchors: Iterable[str | Anchor] = ()) -> VerifyResult:
        """Check the whole chain and its MACs, and every entry `anchors` quote (a bare
        string: a hash the journal keeps). Reads the keyring: call it from a worker."""
        key, unusable = self._verifying_key()
        chain = _Chain(key)
        lines = self._lines()
        for position, raw in enumerate(lines, 1):
            problem = chain.take(raw, position, lines)
            if problem is not None:
                bad, reason = problem
                return chain.result(False, bad - 1, bad, reason, unusable)
        count = len(chain.hashes)
        problem = anchor_problem(chain.hashes, anchors, chain.authentic)
        if problem is not None:
            bad, reason = problem
            return chain.result(False, bad - 1, bad, reason, unusable)
        if chain.sealed_from is not None and key is None:
            why = unusable or (
                "the system keyring holds no key for this log (it came from another folder "
                "or machine, or its key was deleted)"
            )
            reason = (
                f"{_carry(chain.sealed_from, count)} a keyed MAC, but {why}: the MACs cannot "
                "be checked, only the hash chain, which is unbroken."
            )
            return chain.result(False, count, None, reason, unusable)
        if key is not None and count and chain.sealed_from is None:
            reason = (
                "The system keyring holds the key this log was sealed with, but none of its "
                "entries carries a keyed MAC: the MACs were stripped and the chain re-hashed, "
                "or the log was replaced by an older copy."
            )
            return chain.result(False, 0, 1, reason, unusable)
        if count == 0:
            reason = "The audit log is empty: nothing was destroyed."
        else:
            reason = f"The audit log is intact: {count} entries, none changed."
        return chain.result(True, count, None, reason, unusable)

    def _verifying_key(self) -> tuple[bytes | None, str | None]:
        """The key (None: none kept), or None and why the keyring cannot be used."""
        if self._key is not None:
            return self._key, None
        try:
            self._key = self._store.get()
        except KeyUnavailable as exc:
            return None, exc.reason
        return self._key, None

    def _lines(self) -> Iterator[bytes]:
        """The raw lines, each with its newline (the last may lack it: cut short)."""
        try:
            handle = self.path.open("rb")
        except (FileNotFoundError, NotADirectoryError):  # none yet: no entries
            return
        except OSError as exc:
            raise AuditError(
                f"The audit log {self.path} cannot be read: {exc.strerror or exc}."
            ) from exc
        with handle:
            yield from handle


class _Chain:
    """verify()'s walk: each line checked against the ones before it."""

    def __init__(self, key: bytes | None) -> None:
        self.key = key
        self.prev = GENESIS
        self.hashes: list[str] = []
        self.sealed_from: int | None = None

    @property
    def authentic(self) -> bool:
        """Every line is vouched for by a MAC checked with the key (the last one's)."""
        return self.key is not None and self.sealed_from is not None

    def take(self, raw: bytes, position: int, rest: Iterator[bytes]) -> tuple[int, str] | None:
        """What is wrong at line `position` (which entry is to blame, and why), or None."""
        data, problem = _read_line(raw, f"Entry {position}")
        if data is None:
            return position, str(problem)
        if data["seq"] != position:
            return position, _order_problem(position, data["seq"], rest)
        body = _body(data)
        if _sha256(body) != data["hash"]:
            return position, (
                f"Entry {position} was changed after it was written: its content no longer "
                "matches its hash."
            )
        if canonical(data) != raw[:-1]:
            return position, (
                f"Entry {position} was rewritten by hand: its text is not in the form the "
                "app writes."
            )
        if data["prev"] != self.prev:
            if position == 1:
                return 1, "Entry 1 does not start the chain: entries were removed before it."
            return position - 1, (
                f"Entry {position - 1} was changed and its hash recomputed to hide it: entry "
                f"{position} no longer carries its hash."
            )
        if "mac" in data:
            if self.sealed_from is None:
                self.sealed_from = position
            if self.key is not None and not hmac.compare_digest(
                str(data["mac"]).encode(), _mac(self.key, body).encode()
            ):
                if position == self.sealed_from > 1:  # nothing vouches for those before
                    return position, (
                        f"Entry {position}, or an entry before it, was changed and the chain "
                        f"re-hashed: the keyed MAC of entry {position} does not match, and the "
                        "entries before it carry none to tell which."
                    )
                return position, (
                    f"Entry {position} was changed: its keyed MAC does not match its content, "
                    "so it was rewritten, and its hash recomputed, without the key."
                )
        elif self.sealed_from is not None:
            return position, (
                f"Entry {position} carries no keyed MAC, though the entries before it do: it "
                "was rewritten by someone without the key."
            )
        self.prev = _sha256(raw[:-1])
        self.hashes.append(str(data["hash"]))
        return None

    def result(
        self, ok: bool, good: int, bad: int | None, reason: str, unusable: str | None
    ) -> VerifyResult:
        last = self.hashes[good - 1] if good else None
        # A sealed log that failed says nothing of how far it is sealed: only what failed.
        notes = self._notes(unusable) if ok or self.sealed_from is None else ()
        return VerifyResult(ok, good, bad, reason, last, notes, self.sealed_from)

    def _notes(self, unusable: str | None) -> tuple[str, ...]:
        """How far the log can be trusted, one sentence each."""
        count, start = len(self.hashes), self.sealed_from
        if start is None:
            if unusable is not None:
                return (
                    f"Without a usable keyring ({unusable}) the log is chained by plain "
                    "SHA-256 hashes only: it is tamper-evident, not tamper-proof, since "
                    "whoever can write the file can change an entry and re-hash the chain.",
                )
            if count:
                return (
                    f"{_carry(1, count)} no keyed MAC (written before the log was sealed): "
                    "tamper-evident only, until the next disposal seals the log.",
                )
            return ()
        notes = []
        if start > 1:
            notes.append(
                f"{_carry(1, start - 1)} no keyed MAC (written before the log was sealed); "
                f"the keyed MAC of entry {start} vouches for the entries before it."
            )
        if self.key is not None:
            notes.append(
                f"{_carry(start, count)} a keyed MAC (HMAC-SHA256, the key in the system "
                "keyring), which cannot be recomputed without that key."
            )
        return tuple(notes)


def _carry(first: int, last: int) -> str:
    return f"Entry {first} carries" if first == last else f"Entries {first} to {last} carry"


def _body(data: Mapping[str, Any]) -> bytes:
    """The bytes `hash` and `mac` are taken over."""
    return canonical({name: data[name] for name in _BODY})


def _read_line(raw: bytes, where: str) -> tuple[dict[str, Any] | None, str | None]:
    """One stored line (with its newline) as data, or why it is not an entry."""
    if not raw.endswith(b"\n"):
        return None, f"{where} is cut short: the log was truncated or a write was interrupted."
    try:
        data = json.loads(raw[:-1])
    except ValueError:
        return (
            None,
            f"{where} is not a readable audit entry: the line was damaged or added by hand.",
        )
    if (
        not isinstance(data, dict)
        or set(data) not in (_FIELDS, _SEALED_FIELDS)
        or not isinstance(data["seq"], int)
    ):
        return None, f"{where} is not an audit entry: its fields are not the ones the app writes."
    return data, None


def _order_problem(position: int, seq: int, rest: Iterator[bytes]) -> str:
    """Why line `position` holds entry `seq`: a copy, a reordering or a removal."""
    if seq < position:
        return (
            f"Entry {position} is out of place: the line there is entry {seq} again, so an "
            "entry was copied or inserted."
        )
    if any(_seq_of(line) == position for line in rest):
        return (
            f"Entry {position} is missing from its place: entries were reordered (the line "
            f"there is entry {seq}, and entry {position} comes later)."
        )
    return (
        f"Entry {position} is missing: the line in its place is entry {seq} and no line "
        f"holds entry {position}, so it was removed."
    )


def _seq_of(raw: bytes) -> object:
    try:
        return json.loads(raw).get("seq")
    except (ValueError, AttributeError):
        return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.fsync(fd)


def _last_line(fd: int, chunk: int = 65536) -> bytes | None:
    """The file's last line with its newline (if it has one), read from the end."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    end = size
    tail = b""
    # Skip the final newline, then look back for the one before it.
    while end > 0:
        start = max(0, end - chunk)
        os.lseek(fd, start, os.SEEK_SET)
        tail = _read_exactly(fd, end - start) + tail
        cut = tail.rfind(b"\n", 0, len(tail) - 1)
        if cut >= 0:
            return tail[cut + 1 :]
        end = start
    return tail


def _read_exactly(fd: int, size: int) -> bytes:
    parts: list[bytes] = []
    while size > 0:
        part = os.read(fd, size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _sync_directory(folder: Path) -> None:
    """Make a new file's name durable too (POSIX; Windows has no directory fsync)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
