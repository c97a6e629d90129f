"""The audit log of disposals: append-only JSON lines, each chained to the one before.

One line per entry, in canonical JSON (keys sorted, no spaces, UTF-8):

    {"entry": {...}, "hash": "<sha256>", "prev": "<sha256>", "seq": 7, "time": "2025-...Z"}

- `seq` counts from 1 with no gaps;
- `prev` is the SHA-256 (hex) of the previous line exactly as stored, without its
  newline ("0" * 64 for the first entry);
- `hash` is the SHA-256 of the canonical JSON of the other four fields.

Changing an entry breaks its `hash`; removing, reordering or inserting one breaks a
`seq` or a `prev`. Removing entries from the end leaves a shorter, valid chain: the
journal keeps the hash of each disposal's last entry (`Journal.audit_anchors()`), and
`verify(anchors=...)` reports any that the log no longer holds.

Appending happens under a lock file (flock / msvcrt) so two processes cannot interleave,
with the line written in one call and fsync'd before append() returns. A damaged last
line stops further appends: no disposal goes ahead without its audit entry.
"""

from __future__ import annotations

import getpass
import hashlib
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
from opus_desktop.jobs.errors import AuditError
from opus_desktop.jobs.locks import FileLock

GENESIS = "0" * 64
_FIELDS = frozenset({"seq", "time", "prev", "entry", "hash"})
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


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AuditLog:
    """The audit log at `path` (default: paths.audit_log_path())."""

    def __init__(
        self, path: Path | None = None, *, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self.path = path if path is not None else paths.audit_log_path()
        self._clock = clock
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
            seq, prev = self._tail(fd)
            head = {
                "seq": seq,
                "time": self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "prev": prev,
                "entry": content,
            }
            digest = _sha256(canonical(head))
            line = canonical({**head, "hash": digest}) + b"\n"
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        make_private(self.path)
        if created:
            _sync_directory(self.path.parent)
        return AuditEntry(seq, str(head["time"]), prev, content, digest)

    def _tail(self, fd: int) -> tuple[int, str]:
        """The next entry's seq and prev, from the last line; refuses a damaged one."""
        raw = _last_line(fd)
        if raw is None:
            return 1, GENESIS
        problem = _check_line(raw, None, None)
        if problem is not None:
            raise AuditError(
                f"The last entry of the audit log {self.path} is damaged, so nothing more "
                "can be added to it and nothing was destroyed. Run `opus-desktop audit "
                "verify` and keep the file for your records manager."
            )
        line = raw[:-1]
        return int(json.loads(line)["seq"]) + 1, _sha256(line)

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

    def verify(self, anchors: Iterable[str] = ()) -> VerifyResult:
        """Check the whole chain, and that every hash in `anchors` is still in the log."""
        prev = GENESIS
        last_hash: str | None = None
        seen: set[str] = set()
        count = 0
        for position, raw in enumerate(self._lines(), 1):
            problem = _check_line(raw, position, prev)
            if problem is not None:
                return VerifyResult(False, count, position, problem, last_hash)
            line = raw[:-1]
            last_hash = str(json.loads(line)["hash"])
            seen.add(last_hash)
            prev = _sha256(line)
            count = position
        missing = [a for a in (a.strip().lower() for a in anchors) if a not in seen]
        if missing:
            return VerifyResult(
                False, count, count + 1,
                f"The audit log ends after entry {count}, but the journal knows an entry "
                f"with hash {missing[0][:16]}... that is no longer in it: entries were "
                "removed from the end.",
                last_hash,
            )
        if count == 0:
            return VerifyResult(True, 0, None, "The audit log is empty: nothing was destroyed.")
        return VerifyResult(
            True, count, None, f"The audit log is intact: {count} entries, none changed.",
            last_hash,
        )

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


def _check_line(raw: bytes, position: int | None, prev: str | None) -> str | None:
    """What is wrong with one stored line (with its newline), or None.

    `position` and `prev` are what the chain expects here; None skips those checks.
    """
    where = f"Entry {position}" if position is not None else "The last entry"
    if not raw.endswith(b"\n"):
        return f"{where} is cut short: the log was truncated or a write was interrupted."
    line = raw[:-1]
    try:
        data = json.loads(line)
    except ValueError:
        return f"{where} is not a readable audit entry: the line was damaged or added by hand."
    if not isinstance(data, dict) or set(data) != _FIELDS or not isinstance(data["seq"], int):
        return f"{where} is not an audit entry: its fields are not the ones the app writes."
    if position is not None and data["seq"] != position:
        if data["seq"] > position:
            return (
                f"Entry {position} is missing: the line in its place is entry {data['seq']}, "
                "so entries were removed or moved."
            )
        return (
            f"Entries are out of order: the line in place {position} is entry {data['seq']}, "
            "so entries were moved or copied."
        )
    if prev is not None and data["prev"] != prev:
        return (
            f"{where} does not follow the entry before it: an entry was removed, "
            "inserted or changed there."
        )
    body = {name: data[name] for name in ("seq", "time", "prev", "entry")}
    if _sha256(canonical(body)) != data["hash"]:
        return f"{where} was changed after it was written: its content no longer matches its hash."
    if canonical(data) != line:
        return f"{where} was rewritten by hand: its text is not in the form the app writes."
    return None


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
