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

import os
import platform
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any, cast, get_args

from opus_desktop.jobs.errors import DuplicateRowKey, JournalError, RunInProgress
from opus_desktop.jobs.journal_base import JournalBase
from opus_desktop.jobs.journal_types import (
    ITEM_STATES,
    Counts,
    EndStatus,
    Item,
    ItemState,
    Pruned,
    RunInfo,
    RunKind,
    RunStatus,
    reasons,
)
from opus_desktop.jobs.payloads import Codec, dumps, item_rows

_PAGE = 1000


class Journal(JournalBase):
    """The journal at `path` (default: paths.journal_path()). Usable from several threads.

    `busy_timeout`: how long to wait for another process's write; `lock_timeout`: how
    long to wait for a run another window holds before giving up with RunInProgress;
    `sync_each_commit`: see database.py.
    """

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
        head = (kind, profile, input_path, input_hash, template_hash, mapping, options, note)
        return self._new_run(*head, items, skipped or {}, complete=True)

    def begin_run(
        self,
        kind: RunKind,
        profile: str,
        *,
        input_path: Path | str | None = None,
        input_hash: str | None = None,
        template_hash: str | None = None,
        mapping: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        note: str = "",
    ) -> str:
        """Start a run whose items come in chunks (add_items), for sheets too long to hold
        at once. Until complete_run() it is incomplete: claim() hands out nothing and it
        cannot be resumed, so a crash meanwhile leaves a run of which nothing was sent.
        discard_run() drops it."""
        head = (kind, profile, input_path, input_hash, template_hash, mapping, options, note)
        return self._new_run(*head, (), {}, complete=False)

    def add_items(
        self,
        run_id: str,
        items: Iterable[tuple[int | None, str, Mapping[str, Any]]],
        skipped: Mapping[str, str] | None = None,
    ) -> None:
        """Append a chunk of items to a run begun with begin_run(), in one transaction;
        `skipped` as for create_run, among this chunk's items."""
        self._require_owned(run_id)
        with self._transaction("updated") as db:
            found = db.execute(
                "SELECT complete, fields, zdict FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
            if found["complete"]:
                raise ValueError(f"run {run_id} is complete: no items can be added")
            last = db.execute("SELECT max(seq) FROM items WHERE run = ?", (run_id,)).fetchone()
            try:
                codec = Codec.stored(found["fields"], found["zdict"])
                self._insert_items(db, run_id, items, skipped or {}, codec, last[0])
            except sqlite3.IntegrityError as exc:
                raise DuplicateRowKey(
                    "A row key appears twice in the run; each record needs its own row key."
                ) from exc

    def complete_run(self, run_id: str) -> None:
        """Every item of a run begun with begin_run() is in: it can be sent."""
        self._require_owned(run_id)
        with self._transaction("updated") as db:
            db.execute("UPDATE runs SET complete = 1 WHERE id = ?", (run_id,))

    def discard_run(self, run_id: str) -> None:
        """Drop an incomplete run held here, and its items (cancelled while read in)."""
        self._require_owned(run_id)
        with self._transaction("updated") as db:
            db.execute("DELETE FROM items WHERE run = ?", (run_id,))
            db.execute("DELETE FROM runs WHERE id = ? AND complete = 0", (run_id,))
        with self._lock:
            lock = self._owned.pop(run_id, None)
        if lock is not None:
            lock.release(remove=True)

    def _new_run(
        self,
        kind: RunKind,
        profile: str,
        input_path: Path | str | None,
        input_hash: str | None,
        template_hash: str | None,
        mapping: Mapping[str, Any] | None,
        options: Mapping[str, Any] | None,
        note: str,
        items: Iterable[tuple[int | None, str, Mapping[str, Any]]],
        skipped: Mapping[str, str],
        *,
        complete: bool,
    ) -> str:
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
                    " owner_host, note, complete)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)",
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
                        int(complete),
                    ),
                )
                self._insert_items(db, run_id, items, skipped, Codec(), 0)
            except BaseException:
                lock.release(remove=True)
                raise
        with self._lock:
            self._owned[run_id] = lock
        return run_id

    def _insert_items(
        self,
        db: sqlite3.Connection,
        run_id: str,
        items: Iterable[tuple[int | None, str, Mapping[str, Any]]],
        skipped: Mapping[str, str],
        codec: Codec,
        last: int | None,
    ) -> None:
        before = (len(codec.fields), codec.zdict)
        db.executemany(
            "INSERT INTO items (run, seq, row, key, payload) VALUES (?, ?, ?, ?, ?)",
            item_rows(run_id, items, codec, (last or 0) + 1),
        )
        if (len(codec.fields), codec.zdict) != before:
            db.execute(
                "UPDATE runs SET fields = ?, zdict = ? WHERE id = ?",
                (dumps(codec.fields), codec.zdict, run_id),
            )
        if skipped:
            moved = db.executemany(
                "UPDATE items SET state = 'skipped', message = ? WHERE run = ? AND key = ?",
                [(reason, run_id, key) for key, reason in skipped.items()],
            ).rowcount
            if moved != len(skipped):
                raise ValueError("some records to skip are not among the run's items")

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
        # A run interrupted while read in sent nothing: there is nothing to resume.
        return [info for info in found if info.status == "interrupted" and info.complete]

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
                "UPDATE items SET state = 'pending' WHERE run = ? AND state = 'in_flight'",
                (run_id,),
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
            codec = self._codec(db, run_id, complete=True)
            if codec is None:
                return []  # still being read in: nothing of it may be sent yet
            rows = db.execute(
                # Left to itself SQLite walks the primary key past every record done.
                "SELECT seq, row, key, payload, attempts, message FROM items"
                " INDEXED BY items_by_state"
                " WHERE run = ? AND state = 'pending' ORDER BY seq LIMIT ?",
                (run_id, limit),
            ).fetchall()
            db.executemany(
                "UPDATE items SET state = 'in_flight', attempts = attempts + 1"
                " WHERE run = ? AND seq = ?",
                [(run_id, row["seq"]) for row in rows],
            )
        return [Item.from_row(row, codec, claimed=True) for row in rows]

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
        with self._transaction("updated") as db:
            cursor = db.executemany(
                "UPDATE items SET state = 'pending', message = COALESCE(?, message)"
                " WHERE run = ? AND key = ? AND state = 'in_flight'",
                [(message, run_id, key) for key in keys],
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
            if self._codec(db, run_id, complete=True) is None:
                raise JournalError(
                    f"Run {run_id} was interrupted while its sheet was being read into the "
                    "journal, before any of it was sent, so it cannot be resumed: send the "
                    "sheet again as a new run."
                )
        if state == "in_flight" and run_id in self._owned:
            # Its records in flight are on their way from this window, not left over.
            raise RunInProgress(f"Run {run_id} is already being sent from this window.")
        self._take(run_id)
        with self._transaction("updated") as db:
            cursor = db.execute(
                "UPDATE items SET state = 'pending' WHERE run = ? AND state = ?",
                (run_id, state),
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

    def outcomes(self, run_id: str) -> Iterator[tuple[int, int | None, str, str, int, str]]:
        """A run's items in order as (seq, row, key, state, attempts, message), without
        their payloads: what a list of a million records needs. Read page by page."""
        with self._transaction("read", write=False) as db:
            run_id = self._resolve(db, run_id)
        last = 0
        while True:
            with self._transaction("read", write=False) as db:
                rows = db.execute(
                    "SELECT seq, row, key, state, attempts, message FROM items"
                    " WHERE run = ? AND seq > ? ORDER BY seq LIMIT ?",
                    (run_id, last, _PAGE * 10),
                ).fetchall()
            for row in rows:
                yield tuple(row)
            if len(rows) < _PAGE * 10:
                return
            last = rows[-1][0]

    def _pages(self, run_id: str, wanted: list[ItemState]) -> Iterator[Item]:
        marks = ", ".join("?" * len(wanted))
        last = 0
        while wanted:
            with self._transaction("read", write=False) as db:
                codec = self._codec(db, run_id) or Codec()
                rows = db.execute(
                    f"SELECT * FROM items WHERE run = ? AND seq > ? AND state IN ({marks})"
                    " ORDER BY seq LIMIT ?",
                    (run_id, last, *wanted, _PAGE),
                ).fetchall()
            for row in rows:
                yield Item.from_row(row, codec)
            if len(rows) < _PAGE:
                return
            last = rows[-1]["seq"]

    # -- inside -----------------------------------------------------------------------

    # -- pruning ----------------------------------------------------------------------

    def prune(self, older_than: timedelta) -> Pruned:
        """Drop the stored payloads of finished submit runs that ended `older_than` ago or
        more, then compact the file. A finished run has nothing left to send and is held
        by no one; its records' rows, keys, states and messages stay (its report can still
        be written), and so do the payloads of its failed and skipped records, which the
        report lists to fix and `runs retry-failed` sends. Incomplete runs (interrupted
        while read in, never sent) older than that are dropped whole."""
        cutoff = (self._clock() - older_than).astimezone(UTC).isoformat(timespec="microseconds")
        before = self._size()
        with self._transaction("read", write=False) as db:
            rows = db.execute(
                "SELECT id, kind, complete, COALESCE(ended, started) AS ended FROM runs"
                " ORDER BY rowid"
            ).fetchall()
        pruned: list[str] = []
        dropped: list[str] = []
        kept: dict[str, str] = {}
        records = 0
        for row in rows:
            run_id = row["id"]
            why = self._not_prunable(row, cutoff)
            if why:
                kept[run_id] = why
                continue
            lock = self._run_lock(run_id, 0)  # no one may take it while it is pruned
            if lock is None:
                kept[run_id] = "being sent"
                continue
            try:
                with self._transaction("updated") as db:
                    if not row["complete"]:
                        db.execute("DELETE FROM items WHERE run = ?", (run_id,))
                        db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
                        dropped.append(run_id)
                        continue
                    gone = db.execute(
                        "UPDATE items SET payload = NULL WHERE run = ? AND state = 'ok'"
                        " AND payload IS NOT NULL",
                        (run_id,),
                    ).rowcount
                if gone:
                    records += gone
                    pruned.append(run_id)
                else:
                    kept[run_id] = "nothing to drop"
            finally:
                lock.release(remove=True)
        if records or dropped:
            self._store.vacuum()
        return Pruned(tuple(pruned), tuple(dropped), kept, records, before, self._size())

    def _not_prunable(self, row: sqlite3.Row, cutoff: str) -> str:
        """Why a run keeps its payloads, or "" when they may go."""
        if row["ended"] >= cutoff:
            return "newer"
        if not row["complete"]:
            return "being read in" if row["id"] in self._owned else ""
        if row["kind"] != "submit":
            return "a disposal run"
        info = self.run(row["id"])
        if info.status == "running":
            return "being sent"
        if info.counts.remaining:
            return "not finished"
        return ""

    def _size(self) -> int:
        found = (Path(f"{self.path}{end}") for end in ("", "-wal"))
        return sum(path.stat().st_size for path in found if path.exists())

    def _codec(
        self, db: sqlite3.Connection, run_id: str, *, complete: bool = False
    ) -> Codec | None:
        """How the run's payloads are stored; None for a run that is incomplete (if
        `complete` is asked for) or not there. A complete run's is kept: it never changes."""
        known = self._codecs.get(run_id)
        if known is not None:
            return known
        row = db.execute(
            "SELECT fields, zdict, complete FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        if row is None or (complete and not row["complete"]):
            return None
        codec = Codec.stored(row["fields"], row["zdict"])
        if row["complete"]:
            self._codecs[run_id] = codec
        return codec

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

    def _set_states(
        self, run_id: str, changes: Mapping[str, tuple[ItemState, str]], current: ItemState
    ) -> None:
        if not changes:
            return
        self._require_owned(run_id)
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
                "UPDATE items SET state = ?, message = ? WHERE run = ? AND key = ?",
                [(state, text, run_id, key) for key, (state, text) in changes.items()],
            )
