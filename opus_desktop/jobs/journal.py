"""The journal: every run, every record's state, and the editor's unsent work, in SQLite.

Each move of a record between states (journal_types.py draws them) is committed before
the method returns, so the journal always says what may have reached Opus.

A run as a submit or disposal run drives it, several threads sharing one Journal:

    run_id = journal.create_run("submit", profile, items, ...)   # held by this journal
    while not state.cancel_requested and (batch := journal.claim(run_id, 15)):
        ...send [item.payload for item in batch]...
        journal.finish(run_id, ok=stored_keys, failed={key: message})  # or release()
    journal.mark_ended(run_id, "done")                # or "cancelled", "stopped"

`runs resume` is prepare_resume(run_id) then the same loop; `runs retry-failed` is
retry_failed(run_id) then the loop. Storage, durability and threads: see database.py.

Ownership: the journal working on a run holds that run's lock file
(`<journal>-locks/<id>.lock`). The operating system drops the lock when the process
dies, so a run marked "running" whose lock is free was interrupted; that survives
process-id reuse and needs no process probing. Owner pid and host are kept to name the
other window in messages.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast, get_args

from opus_desktop import paths
from opus_desktop.jobs.database import Database
from opus_desktop.jobs.errors import JournalError, RunInProgress, RunNotFound
from opus_desktop.jobs.journal_types import (
    ITEM_STATES,
    Counts,
    Draft,
    EndStatus,
    Item,
    ItemState,
    RunInfo,
    RunKind,
    RunStatus,
    dumps,
    item_rows,
    reasons,
    utc_now,
)
from opus_desktop.jobs.locks import FileLock

# Waiting this long for a run's lock lets a brief look by another window (checking
# whether the run was interrupted) pass, without making a real conflict feel slow.
_TAKE_TIMEOUT = 2.0
_PAGE = 1000


class Journal:
    """The journal at `path` (default: paths.journal_path()). Usable from several threads.

    `busy_timeout`: how long to wait for another process's write; `lock_timeout`: how
    long to wait for a run another window holds before giving up with RunInProgress.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        busy_timeout: float = 10.0,
        lock_timeout: float = _TAKE_TIMEOUT,
        read_only: bool = False,
    ) -> None:
        self.path = path if path is not None else paths.journal_path()
        self._read_only = read_only  # a journal in a read-only folder: see Database
        self._clock = clock
        self._lock_timeout = lock_timeout
        self._lock = threading.Lock()  # guards _owned; the database has its own
        self._owned: dict[str, FileLock] = {}
        self._locks_dir = self.path.with_name(self.path.name + "-locks")
        self._store = Database(self.path, busy_timeout, read_only=read_only)

    def close(self) -> None:
        """Close the journal. Runs still held read as interrupted from now on."""
        with self._lock:
            for lock in self._owned.values():
                lock.release(remove=True)
            self._owned.clear()
            self._store.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs -----------------------------------------------------------------------

    def create_run(
        self,
        kind: RunKind,
        profile: str,
        items: Iterable[tuple[int | None, str, Mapping[str, Any]]],
        *,
        input_path: Path | str | None = None,
        input_hash: str | None = None,
        template_hash: str | None = None,
        mapping: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        note: str = "",
        skipped: Mapping[str, str] | None = None,
    ) -> str:
        """Record a new run with all its items pending, in one transaction; return its id.

        `items` are (source row number, row key, payload to send). `skipped` names items
        (row key -> reason) that start out skipped, such as invalid rows: in the same
        transaction, so no crash can leave them pending to be sent. The new run is marked
        running and held by this journal until mark_ended() or close().
        """
        if kind not in get_args(RunKind):
            raise ValueError(f"unknown run kind {kind!r}")
        now = self._now()
        self._check_open()
        with self._transaction("updated") as db:
            run_id = self._new_id(db)
            lock = self._run_lock(run_id, self._lock_timeout)
            if lock is None:
                raise JournalError(f"The lock file of run {run_id} is held by another program.")
            try:
                db.execute(
                    "INSERT INTO runs (id, kind, profile, input_path, input_sha256,"
                    " template_sha256, mapping, options, started, status, owner_pid,"
                    " owner_host, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                    (
                        run_id,
                        kind,
                        profile,
                        None if input_path is None else str(input_path),
                        input_hash,
                        template_hash,
                        None if mapping is None else dumps(dict(mapping)),
                        dumps(dict(options or {})),
                        now,
                        os.getpid(),
                        platform.node(),
                        note,
                    ),
                )
                db.executemany(
                    "INSERT INTO items (run, seq, row, key, payload, updated)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    item_rows(run_id, items, now),
                )
                if skipped:
                    moved = db.executemany(
                        "UPDATE items SET state = 'skipped', message = ? WHERE run = ? AND key = ?",
                        [(reason, run_id, key) for key, reason in skipped.items()],
                    ).rowcount
                    if moved != len(skipped):
                        raise ValueError("some records to skip are not among the run's items")
            except BaseException:
                lock.release(remove=True)
                raise
        with self._lock:
            self._owned[run_id] = lock
        return run_id

    def run(self, run_id: str) -> RunInfo:
        """The run with that id, a unique prefix of it, or "last" (the newest)."""
        with self._transaction("read", write=False) as db:
            run_id = self._resolve(db, run_id)
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            counts = self._counts(db, [run_id])
        return self._info(row, counts.get(run_id, Counts()))

    def runs(self, limit: int = 20, kind: RunKind | None = None) -> list[RunInfo]:
        """The newest runs first."""
        with self._transaction("read", write=False) as db:
            rows = db.execute(
                "SELECT * FROM runs WHERE ? IS NULL OR kind = ? ORDER BY rowid DESC LIMIT ?",
                (kind, kind, limit),
            ).fetchall()
            counts = self._counts(db, [row["id"] for row in rows])
        return [self._info(row, counts.get(row["id"], Counts())) for row in rows]

    def find_interrupted(self) -> list[RunInfo]:
        """Runs left running by a process that is gone (crash, kill, power cut), newest first."""
        with self._transaction("read", write=False) as db:
            ids = [
                row[0]
                for row in db.execute(
                    "SELECT id FROM runs WHERE status IN ('running', 'interrupted')"
                    " ORDER BY rowid DESC"
                )
            ]
        found = [self.run(run_id) for run_id in ids]
        return [info for info in found if info.status == "interrupted"]

    def mark_started(self, run_id: str) -> str:
        """Take hold of a run (marking it running); return its id.

        Raises RunInProgress when another window or process holds it.
        """
        with self._transaction("read", write=False) as db:
            run_id = self._resolve(db, run_id)
        self._take(run_id)
        return run_id

    def mark_ended(self, run_id: str, status: EndStatus, note: str | None = None) -> None:
        """End a held run: "done" (nothing left to send), "cancelled" or "stopped" (the
        service stayed unreachable). Records still in flight go back to pending."""
        if status not in get_args(EndStatus):
            raise ValueError(f"a run cannot end as {status!r}")
        self._require_owned(run_id)
        now = self._now()
        with self._transaction("updated") as db:
            if status == "done":
                left = self._counts(db, [run_id]).get(run_id, Counts()).remaining
                if left:
                    raise ValueError(f"run {run_id} still has {left} records to send")
            db.execute(
                "UPDATE items SET state = 'pending', updated = ?"
                " WHERE run = ? AND state = 'in_flight'",
                (now, run_id),
            )
            db.execute(
                "UPDATE runs SET status = ?, ended = ?, note = COALESCE(?, note) WHERE id = ?",
                (status, now, note, run_id),
            )
        with self._lock:
            lock = self._owned.pop(run_id, None)
        if lock is not None:
            lock.release(remove=True)

    def set_note(self, run_id: str, note: str) -> None:
        with self._transaction("updated") as db:
            run_id = self._resolve(db, run_id)
            db.execute("UPDATE runs SET note = ? WHERE id = ?", (note, run_id))

    def record_audit(self, run_id: str, entry_hash: str) -> None:
        """Remember the hash of the newest audit entry written for a run (disposal)."""
        with self._transaction("updated") as db:
            run_id = self._resolve(db, run_id)
            db.execute("UPDATE runs SET audit_hash = ? WHERE id = ?", (entry_hash, run_id))

    def audit_anchors(self) -> list[str]:
        """Every audit entry hash the journal knows; the audit log must still contain them."""
        with self._transaction("read", write=False) as db:
            rows = db.execute(
                "SELECT audit_hash FROM runs WHERE audit_hash IS NOT NULL ORDER BY rowid"
            ).fetchall()
        return [str(row[0]) for row in rows]

    # -- items ----------------------------------------------------------------------

    def claim(self, run_id: str, limit: int) -> list[Item]:
        """Mark up to `limit` pending items in flight (committed) and return them in order.

        Call this before sending them; an empty list means nothing is left to send.
        """
        if limit < 1:
            raise ValueError("claim at least one item")
        self._require_owned(run_id)
        with self._transaction("updated") as db:
            rows = db.execute(
                "SELECT seq, row, key, payload, attempts, message FROM items"
                " WHERE run = ? AND state = 'pending' ORDER BY seq LIMIT ?",
                (run_id, limit),
            ).fetchall()
            now = self._now()
            db.executemany(
                "UPDATE items SET state = 'in_flight', attempts = attempts + 1, updated = ?"
                " WHERE run = ? AND seq = ?",
                [(now, run_id, row["seq"]) for row in rows],
            )
        return [Item.from_row(row, claimed=True) for row in rows]

    def finish(
        self,
        run_id: str,
        ok: Iterable[str] = (),
        failed: Mapping[str, str] | None = None,
        skipped: Mapping[str, str] | Iterable[str] | None = None,
    ) -> None:
        """Record the outcome of in-flight items in one transaction: stored, failed with
        the service's message, or skipped with a reason. Every key must be in flight."""
        changes: dict[str, tuple[ItemState, str]] = {}
        groups: list[tuple[ItemState, Mapping[str, str]]] = [
            ("ok", dict.fromkeys(ok, "")),
            ("failed", failed or {}),
            ("skipped", reasons(skipped)),
        ]
        for state, messages in groups:
            for key, message in messages.items():
                if key in changes:
                    raise ValueError(f"row key {key!r} is given two outcomes")
                changes[key] = (state, message)
        self._set_states(run_id, changes, "in_flight")

    def skip(self, run_id: str, reasons: Mapping[str, str]) -> None:
        """Mark pending items skipped (not to be sent), each with its reason."""
        changes: dict[str, tuple[ItemState, str]] = {
            key: ("skipped", text) for key, text in reasons.items()
        }
        self._set_states(run_id, changes, "pending")

    def release(self, run_id: str, keys: Iterable[str], message: str | None = None) -> int:
        """Put in-flight items back to pending (cancelled, or a transient error given as
        `message`); keys not in flight are left alone. Returns how many moved."""
        self._require_owned(run_id)
        now = self._now()
        with self._transaction("updated") as db:
            cursor = db.executemany(
                "UPDATE items SET state = 'pending', message = COALESCE(?, message),"
                " updated = ? WHERE run = ? AND key = ? AND state = 'in_flight'",
                [(message, now, run_id, key) for key in keys],
            )
        return max(cursor.rowcount, 0)

    def prepare_resume(self, run_id: str) -> int:
        """Take hold of an interrupted, cancelled or stopped run and put its in-flight items
        back to pending; return how many. Raises RunInProgress if it is held anywhere."""
        return self._back_to_pending(run_id, "in_flight")

    def retry_failed(self, run_id: str) -> int:
        """Take hold of a run and put its failed items back to pending; return how many."""
        return self._back_to_pending(run_id, "failed")

    def _back_to_pending(self, run_id: str, state: ItemState) -> int:
        with self._transaction("read", write=False) as db:
            run_id = self._resolve(db, run_id)
        if state == "in_flight" and run_id in self._owned:
            # Its records in flight are on their way from this window, not left over.
            raise RunInProgress(f"Run {run_id} is already being sent from this window.")
        self._take(run_id)
        with self._transaction("updated") as db:
            cursor = db.execute(
                "UPDATE items SET state = 'pending', updated = ? WHERE run = ? AND state = ?",
                (self._now(), run_id, state),
            )
        return cursor.rowcount

    def items(self, run_id: str, states: Iterable[ItemState] | None = None) -> Iterator[Item]:
        """A run's items in order, optionally only those in `states`; read page by page,
        so other threads can keep writing while a long run is listed."""
        wanted = list(ITEM_STATES if states is None else states)
        unknown = set(wanted) - set(ITEM_STATES)
        if unknown:
            raise ValueError(f"unknown item states: {sorted(unknown)}")
        with self._transaction("read", write=False) as db:
            run_id = self._resolve(db, run_id)
        return self._pages(run_id, wanted)

    def _pages(self, run_id: str, wanted: list[ItemState]) -> Iterator[Item]:
        marks = ", ".join("?" * len(wanted))
        last = 0
        while wanted:
            with self._transaction("read", write=False) as db:
                rows = db.execute(
                    f"SELECT * FROM items WHERE run = ? AND seq > ? AND state IN ({marks})"
                    " ORDER BY seq LIMIT ?",
                    (run_id, last, *wanted, _PAGE),
                ).fetchall()
            for row in rows:
                yield Item.from_row(row)
            if len(rows) < _PAGE:
                return
            last = rows[-1]["seq"]

    # -- drafts -----------------------------------------------------------------------

    def save_draft(
        self,
        profile: str,
        rows: Mapping[int, Any],
        meta: Mapping[str, Any] | None = None,
        *,
        row_count: int | None = None,
        replace: bool = False,
    ) -> None:
        """Keep the editor's unsent work for `profile`, writing only the rows given.

        `rows` maps row index to that row's JSON value (None deletes the row). `replace`
        first drops every stored row (a new sheet); `row_count` drops rows at or past it
        (rows removed at the end). `meta` (sheet, mapping, ...) replaces the stored one
        when given.
        """
        now = self._now()
        meta_text = None if meta is None else dumps(dict(meta))
        with self._transaction("updated") as db:
            db.execute(
                "INSERT INTO drafts (profile, meta, updated) VALUES (?, COALESCE(?, '{}'), ?)"
                " ON CONFLICT (profile) DO UPDATE SET"
                " meta = COALESCE(?, drafts.meta), updated = excluded.updated",
                (profile, meta_text, now, meta_text),
            )
            if replace:
                db.execute("DELETE FROM draft_rows WHERE profile = ?", (profile,))
            if row_count is not None:
                db.execute(
                    "DELETE FROM draft_rows WHERE profile = ? AND idx >= ?", (profile, row_count)
                )
            db.executemany(
                "DELETE FROM draft_rows WHERE profile = ? AND idx = ?",
                [(profile, index) for index, value in rows.items() if value is None],
            )
            db.executemany(
                "INSERT INTO draft_rows (profile, idx, data) VALUES (?, ?, ?)"
                " ON CONFLICT (profile, idx) DO UPDATE SET data = excluded.data",
                [(profile, index, dumps(v)) for index, v in rows.items() if v is not None],
            )

    def load_draft(self, profile: str) -> Draft | None:
        with self._transaction("read", write=False) as db:
            head = db.execute("SELECT * FROM drafts WHERE profile = ?", (profile,)).fetchone()
            if head is None:
                return None
            rows = db.execute(
                "SELECT idx, data FROM draft_rows WHERE profile = ? ORDER BY idx", (profile,)
            ).fetchall()
        return Draft(
            profile=profile,
            meta=json.loads(head["meta"]),
            rows={row[0]: json.loads(row[1]) for row in rows},
            updated=datetime.fromisoformat(head["updated"]),
        )

    def clear_draft(self, profile: str) -> None:
        with self._transaction("updated") as db:
            db.execute("DELETE FROM drafts WHERE profile = ?", (profile,))

    # -- inside -----------------------------------------------------------------------

    def _now(self) -> str:
        return self._clock().astimezone(UTC).isoformat(timespec="microseconds")

    def _check_open(self) -> None:
        if self._store.closed:
            raise RuntimeError(f"the journal {self.path} is closed")

    def _transaction(
        self, doing: str, write: bool = True
    ) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return self._store.transaction(doing, write)

    def _new_id(self, db: sqlite3.Connection) -> str:
        while True:
            candidate = secrets.token_hex(4)
            if db.execute("SELECT 1 FROM runs WHERE id = ?", (candidate,)).fetchone() is None:
                return candidate

    def _resolve(self, db: sqlite3.Connection, run_id: str) -> str:
        text = run_id.strip().lower()
        if text == "last":
            row = db.execute("SELECT id FROM runs ORDER BY rowid DESC LIMIT 1").fetchone()
            if row is None:
                raise RunNotFound("There are no runs in the journal yet.")
            return str(row[0])
        if re.fullmatch(r"[0-9a-f]{4,8}", text):
            found = db.execute(
                "SELECT id FROM runs WHERE substr(id, 1, ?) = ? LIMIT 2", (len(text), text)
            ).fetchall()
            if len(found) == 1:
                return str(found[0][0])
            if len(found) > 1:
                raise RunNotFound(f"Several runs start with {run_id!r}; give more of the id.")
        raise RunNotFound(
            f"There is no run {run_id!r} in the journal. A run id is the 8-character code "
            "printed when the run started; `opus-desktop runs list` shows them."
        )

    def _counts(self, db: sqlite3.Connection, run_ids: list[str]) -> dict[str, Counts]:
        found: dict[str, dict[str, int]] = {run_id: {} for run_id in run_ids}
        for run_id in run_ids:
            for state, number in db.execute(
                "SELECT state, count(*) FROM items WHERE run = ? GROUP BY state", (run_id,)
            ):
                found[run_id][state] = number
        return {run_id: Counts(**by_state) for run_id, by_state in found.items()}

    def _info(self, row: sqlite3.Row, counts: Counts) -> RunInfo:
        status = cast(RunStatus, row["status"])
        if status == "running" and row["id"] not in self._owned and not self._read_only:
            status = self._current_status(row["id"])
        return RunInfo.from_row(row, counts, status)

    def _current_status(self, run_id: str) -> RunStatus:
        """The status of a run marked running: still so if some process holds it, else
        recorded and returned as interrupted (or whatever its owner set meanwhile)."""
        probe = self._run_lock(run_id, 0)
        if probe is None:
            return "running"
        try:
            # Still holding the lock, so nobody can take the run between the look and the write.
            with self._transaction("updated") as db:
                db.execute(
                    "UPDATE runs SET status = 'interrupted' WHERE id = ? AND status = 'running'",
                    (run_id,),
                )
                row = db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        finally:
            probe.release(remove=True)
        return cast(RunStatus, row[0])

    def _take(self, run_id: str) -> None:
        if run_id in self._owned:
            return
        self._check_open()
        lock = self._run_lock(run_id, self._lock_timeout)
        if lock is None:
            raise RunInProgress(self._in_progress_message(run_id))
        try:
            with self._transaction("updated") as db:
                db.execute(
                    "UPDATE runs SET status = 'running', ended = NULL, owner_pid = ?,"
                    " owner_host = ? WHERE id = ?",
                    (os.getpid(), platform.node(), run_id),
                )
        except BaseException:
            lock.release()
            raise
        with self._lock:
            self._owned[run_id] = lock

    def _in_progress_message(self, run_id: str) -> str:
        with self._transaction("read", write=False) as db:
            row = db.execute(
                "SELECT owner_pid, owner_host FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
        where = ""
        if row is not None and row["owner_pid"] is not None:
            where = f" (process {row['owner_pid']} on {row['owner_host'] or 'this computer'})"
        return (
            f"Run {run_id} is being worked on by another window or command{where}. "
            "Wait for it to finish or close that window, then try again."
        )

    def _require_owned(self, run_id: str) -> None:
        if run_id not in self._owned:
            raise RuntimeError(
                f"run {run_id} is not held by this journal: create it, or call "
                "prepare_resume(), retry_failed() or mark_started() first"
            )

    def _run_lock(self, run_id: str, timeout: float) -> FileLock | None:
        """The run's lock, now held, or None if someone else still held it after `timeout`."""
        lock = FileLock(self._locks_dir / f"{run_id}.lock")
        try:
            paths.private_dir(self._locks_dir)
            return lock if lock.acquire(timeout=timeout) else None
        except OSError as exc:
            raise JournalError(
                f"The lock file {lock.path} cannot be used: {exc.strerror or exc}."
            ) from exc
        except paths.FolderError as exc:
            raise JournalError(f"The lock file {lock.path} cannot be used: {exc.message}") from exc

    def _set_states(
        self, run_id: str, changes: Mapping[str, tuple[ItemState, str]], current: ItemState
    ) -> None:
        if not changes:
            return
        self._require_owned(run_id)
        now = self._now()
        with self._transaction("updated") as db:
            # Checked first, so the error can name each record and its actual state.
            stray: dict[str, str] = {}
            for key in changes:
                found = db.execute(
                    "SELECT state FROM items WHERE run = ? AND key = ?", (run_id, key)
                ).fetchone()
                if found is None or found[0] != current:
                    stray[key] = "not in this run" if found is None else found[0]
            if stray:
                listed = ", ".join(f"{key!r} ({state})" for key, state in list(stray.items())[:10])
                raise ValueError(f"records of run {run_id} that are not {current}: {listed}")
            db.executemany(
                "UPDATE items SET state = ?, message = ?, updated = ? WHERE run = ? AND key = ?",
                [(state, text, now, run_id, key) for key, (state, text) in changes.items()],
            )
