"""The journal's SQLite file: schema and migrations, durability settings, transactions.

Durability: WAL with synchronous=FULL by default, so every commit is on disk when it
returns. `sync_each_commit=False` is synchronous=NORMAL: a commit survives a killed or
crashed app at once (it is in the WAL, which the operating system writes out), and is on
disk at the next checkpoint; only a power loss or an OS crash may lose the last commits.
Submit runs use it (usecases/submitting.py says why that is safe for them); disposal
runs do not.

Threads: one connection guarded by a lock. SQLite lets one writer in at a time anyway;
connections per thread would only contend for the file lock and spin in busy-waits,
while a Python lock queues the few-millisecond transactions of several worker threads
in order and keeps close() simple. Other processes are kept in step by WAL and the
busy timeout.

The schema is versioned with PRAGMA user_version: migration N (the N-th entry of
MIGRATIONS) brings a file from version N-1 to N, in one transaction.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from opus_desktop.files import make_private
from opus_desktop.jobs.errors import JournalError
from opus_desktop.paths import READ_ONLY_ERRORS, folder_error

log = logging.getLogger(__name__)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: runs, their items, drafts
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('submit', 'destroy')),
            profile TEXT NOT NULL,
            input_path TEXT,
            input_sha256 TEXT,
            template_sha256 TEXT,
            mapping TEXT,
            options TEXT NOT NULL DEFAULT '{}',
            started TEXT NOT NULL,
            ended TEXT,
            status TEXT NOT NULL CHECK (status IN
                ('running', 'done', 'cancelled', 'interrupted', 'stopped')),
            owner_pid INTEGER,
            owner_host TEXT,
            note TEXT NOT NULL DEFAULT '',
            audit_hash TEXT
        )""",
        """CREATE TABLE items (
            run TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            row INTEGER,
            key TEXT NOT NULL,
            payload TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
                ('pending', 'in_flight', 'ok', 'failed', 'skipped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            message TEXT NOT NULL DEFAULT '',
            updated TEXT NOT NULL,
            PRIMARY KEY (run, seq)
        )""",
        "CREATE UNIQUE INDEX items_by_key ON items (run, key)",
        "CREATE INDEX items_by_state ON items (run, state, seq)",
        """CREATE TABLE drafts (
            profile TEXT PRIMARY KEY,
            meta TEXT NOT NULL DEFAULT '{}',
            updated TEXT NOT NULL
        )""",
        """CREATE TABLE draft_rows (
            profile TEXT NOT NULL REFERENCES drafts (profile) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (profile, idx)
        ) WITHOUT ROWID""",
    ),
    (  # 2: compact items (no rowid, no per-item time; payloads deflated value lists,
        # payloads.py); runs know their payload fields and dictionary, and whether
        # all their items are in yet (a run journalled in chunks)
        "ALTER TABLE runs ADD COLUMN fields TEXT",
        "ALTER TABLE runs ADD COLUMN zdict BLOB",
        "ALTER TABLE runs ADD COLUMN complete INTEGER NOT NULL DEFAULT 1",
        """CREATE TABLE items_compact (
            run TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            row INTEGER,
            key TEXT NOT NULL,
            payload TEXT,
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
                ('pending', 'in_flight', 'ok', 'failed', 'skipped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            message TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (run, seq)
        ) WITHOUT ROWID""",
        # Older payloads stay JSON objects, which the journal still reads.
        "INSERT INTO items_compact SELECT run, seq, row, key, payload, state, attempts, message"
        " FROM items",
        "DROP TABLE items",
        "ALTER TABLE items_compact RENAME TO items",
        "CREATE UNIQUE INDEX items_by_key ON items (run, key)",
        "CREATE INDEX items_by_state ON items (run, state, seq)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def _wal(db: sqlite3.Connection, timeout: float) -> str:
    """PRAGMA journal_mode=WAL. On a new file being set up by another connection at the
    same moment, SQLite answers "locked" at once instead of waiting: so wait here."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return str(db.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


class Database:
    """One connection to the journal file at `path`, created with mode 0600.

    `read_only`: the file is in a folder this user cannot write to (a read-only home), so
    it is opened as it is (SQLite's immutable=1: nobody else can write there either),
    never created nor migrated; a write to it is a JournalError saying it is read-only.
    """

    def __init__(
        self,
        path: Path,
        busy_timeout: float = 10.0,
        *,
        read_only: bool = False,
        sync_each_commit: bool = True,
    ) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._closed = False
        if read_only:
            self._db = self._open_read_only(path)
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            said = folder_error(path.parent, exc).message
            raise JournalError(f"The journal {path} cannot be opened: {said}") from exc
        try:
            # Created here only when missing: closing a descriptor of a file that SQLite
            # has open in this process would drop SQLite's locks on it (POSIX locks are
            # per process), and another process could then take the WAL away.
            if not path.exists():
                with contextlib.suppress(FileExistsError):
                    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
            make_private(path)
        except OSError as exc:
            if exc.errno in READ_ONLY_ERRORS:  # an existing journal on a read-only disk
                said = folder_error(path.parent, exc).message
                raise JournalError(f"The journal {path} cannot be written: {said}") from exc
            raise JournalError(
                f"The journal {path} cannot be created or opened: {exc.strerror or exc}."
            ) from exc
        db = sqlite3.connect(
            str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        db.row_factory = sqlite3.Row
        try:
            with self._translate("opened"):
                mode = _wal(db, busy_timeout)
                if str(mode).lower() != "wal":
                    log.warning("the journal %s runs in %s mode, not WAL", path, mode)
                db.execute(f"PRAGMA synchronous={'FULL' if sync_each_commit else 'NORMAL'}")
                db.execute("PRAGMA foreign_keys=ON")
                self._migrate(db)
        except BaseException:
            db.close()
            raise
        # SQLite gives these the database's own mode; this covers files left by older copies.
        for suffix in ("-wal", "-shm"):
            make_private(Path(f"{path}{suffix}"))
        self._db = db

    def _open_read_only(self, path: Path) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(
                f"{path.resolve().as_uri()}?immutable=1",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise self._error(exc, "opened") from exc
        db.row_factory = sqlite3.Row
        try:
            with self._translate("opened"):
                version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version != SCHEMA_VERSION:
                raise JournalError(
                    f"The journal {path} is read-only and was written by "
                    f"{'a newer' if version > SCHEMA_VERSION else 'an older'} version of "
                    "Opus Desktop, so it cannot be read here."
                )
        except BaseException:
            db.close()
            raise
        return db

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    @contextlib.contextmanager
    def transaction(self, doing: str, write: bool = True) -> Iterator[sqlite3.Connection]:
        """BEGIN (IMMEDIATE when writing) ... COMMIT under the lock; ROLLBACK on any error.

        `doing` completes the sentence of a failure: "could not be read", "... updated".
        """
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the journal {self.path} is closed")
            db = self._db
            with self._translate(doing):
                db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield db
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            db.execute("ROLLBACK")
                    raise

    def vacuum(self) -> None:
        """Rewrite the file without its free pages (after payloads were dropped)."""
        with self._lock, self._translate("compacted"):
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"The journal {self.path} was written by a newer version of Opus Desktop; "
                "update the app to open it."
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            db.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have migrated while we waited for the write lock.
                if int(db.execute("PRAGMA user_version").fetchone()[0]) < number:
                    for statement in MIGRATIONS[number - 1]:
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {number}")
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _translate(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._error(exc, doing) from exc

    def _error(self, exc: sqlite3.Error, doing: str) -> JournalError:
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return JournalError(
                f"The journal {self.path} stayed locked by another program and could not be "
                f"{doing}. Close other Opus Desktop windows or commands and try again."
            )
        if "full" in text or ("disk i/o" in text and _no_space(self.path)):
            return JournalError(
                f"The disk holding the journal {self.path} is full; free some space and try again."
            )
        if "readonly" in text or "read-only" in text:
            return JournalError(f"The journal {self.path} cannot be written: it is read-only.")
        if any(word in text for word in ("not a database", "malformed", "corrupt")):
            return JournalError(
                f"The journal {self.path} is damaged and could not be {doing}. Move the file "
                "aside (Opus Desktop then starts a new journal) and keep it for support."
            )
        return JournalError(f"The journal {self.path} could not be {doing}: {exc}.")


def _no_space(path: Path) -> bool:
    """Whether the disk holding `path` is full (SQLite says only "disk I/O error" when it
    cannot even make its shared-memory file)."""
    try:
        return shutil.disk_usage(path.parent).free == 0
    except OSError:
        return False
