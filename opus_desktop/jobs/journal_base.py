"""What every Journal (journal.py) has beneath its runs: the open database, the locks it
holds, the clock, run ids, and the editor's drafts."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, cast

from opus_desktop import paths
from opus_desktop.jobs.database import Database
from opus_desktop.jobs.errors import JournalError, RunInProgress, RunNotFound
from opus_desktop.jobs.journal_types import Draft, RunStatus, utc_now
from opus_desktop.jobs.locks import FileLock
from opus_desktop.jobs.payloads import Codec, dumps

# Waiting this long for a run's lock lets a brief look by another window (checking
# whether the run was interrupted) pass, without making a real conflict feel slow.
_TAKE_TIMEOUT = 2.0
_KEYS_PER_QUERY = 500  # under SQLite's oldest limit of 999 parameters a statement


class JournalBase:
    """The journal's file and what is not about runs; see Journal."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        busy_timeout: float = 10.0,
        lock_timeout: float = _TAKE_TIMEOUT,
        read_only: bool = False,
        sync_each_commit: bool = True,
    ) -> None:
        self.path = path if path is not None else paths.journal_path()
        self._read_only = read_only  # a journal in a read-only folder: see Database
        self._clock = clock
        self._lock_timeout = lock_timeout
        self._lock = threading.Lock()  # guards _owned; the database has its own
        self._owned: dict[str, FileLock] = {}
        self._codecs: dict[str, Codec] = {}  # complete runs' payload codecs, read once
        self._locks_dir = self.path.with_name(self.path.name + "-locks")
        self._store = Database(
            self.path, busy_timeout, read_only=read_only, sync_each_commit=sync_each_commit
        )

    def close(self) -> None:
        """Close the journal. Runs still held read as interrupted from now on."""
        with self._lock:
            for lock in self._owned.values():
                lock.release(remove=True)
            self._owned.clear()
            self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def known_keys(self, run_id: str, keys: Iterable[str]) -> dict[str, int | None]:
        """Those of `keys` that items of the run already use, each with its item's row."""
        wanted, found = list(keys), {}
        with self._transaction("read", write=False) as db:
            for first in range(0, len(wanted), _KEYS_PER_QUERY):
                part = wanted[first : first + _KEYS_PER_QUERY]
                marks = ",".join("?" * len(part))
                query = f"SELECT key, row FROM items WHERE run = ? AND key IN ({marks})"
                found.update({key: row for key, row in db.execute(query, (run_id, *part))})
        return found

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
