"""The sandbox tenant's state in SQLite: app registrations, used assertion ids, access
tokens, connections, records and due-records cursors.

One connection shared by all request threads behind a lock: every call is a few small
statements, so the lock costs far less than a connection per thread would. WAL keeps
readers of the file (a test, `sqlite3` in a shell) from blocking the server. Access
tokens are kept as SHA-256 digests, never as themselves.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opus_desktop.sandbox.values import Connection

STATES = ("active", "awaiting approval", "rejected")
CURSOR_LIFETIME = 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT NOT NULL, thumbprint TEXT NOT NULL, cert_pem TEXT NOT NULL,
    PRIMARY KEY (client_id, thumbprint));
CREATE TABLE IF NOT EXISTS jtis (jti TEXT PRIMARY KEY, client_id TEXT NOT NULL, seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY, client_id TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS connections (id TEXT PRIMARY KEY, definition TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    connection_id TEXT NOT NULL, row_key TEXT NOT NULL, vals TEXT NOT NULL, due_at TEXT,
    state TEXT NOT NULL DEFAULT 'active', destroyed_at TEXT, written_at TEXT NOT NULL,
    PRIMARY KEY (connection_id, row_key));
CREATE INDEX IF NOT EXISTS records_due ON records (connection_id, due_at, row_key);
CREATE INDEX IF NOT EXISTS records_key ON records (row_key);
CREATE TABLE IF NOT EXISTS cursors (
    token TEXT PRIMARY KEY, connection_id TEXT NOT NULL, before TEXT NOT NULL,
    after_due TEXT NOT NULL, after_key TEXT NOT NULL, created REAL NOT NULL);
"""


@dataclass(frozen=True)
class Cursor:
    connection_id: str
    before: str
    after_due: str
    after_key: str


@dataclass(frozen=True)
class DueRow:
    row_key: str
    values: dict[str, Any]
    due_at: str


class TenantError(OSError):
    """The tenant's database cannot be opened (the front ends tell an OSError as it is)."""


class Tenant:
    """The stored state of one sandbox folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            if path.parent.is_dir() and not os.access(path.parent, os.W_OK):
                raise TenantError(
                    f"its tenant cannot be kept in {path.parent}: the folder is read-only "
                    "(set OPUS_DESKTOP_HOME to a folder you can write to)"
                ) from exc
            raise TenantError(f"its tenant {path} cannot be opened: {exc}") from exc
        self._connections: dict[str, Connection] = {}
        for (definition,) in self._db.execute("SELECT definition FROM connections"):
            connection = Connection.from_json(definition)
            self._connections[connection.id] = connection

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- meta, clients, assertions, tokens ---------------------------------------------------

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def add_client(self, client_id: str, thumbprint: str, cert_pem: str) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO clients (client_id, thumbprint, cert_pem) VALUES (?, ?, ?)",
                (client_id, thumbprint, cert_pem),
            )

    def client_certificates(self, client_id: str) -> list[str]:
        """The PEM certificates registered for `client_id` (none: an unknown client)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT cert_pem FROM clients WHERE client_id = ?", (client_id,)
            ).fetchall()
        return [str(row[0]) for row in rows]

    def use_jti(self, jti: str, client_id: str) -> bool:
        """Remember an assertion id; False when it was seen before."""
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO jtis (jti, client_id, seen) VALUES (?, ?, ?)",
                (jti, client_id, time.time()),
            )
        return cursor.rowcount == 1

    def add_token(self, digest: str, client_id: str, expires: float) -> None:
        now = time.time()
        with self._lock, self._db:
            self._db.execute("DELETE FROM tokens WHERE expires < ?", (now - 86400,))
            self._db.execute(
                "INSERT INTO tokens (digest, client_id, expires) VALUES (?, ?, ?)",
                (digest, client_id, expires),
            )

    def token_expiry(self, digest: str) -> float | None:
        with self._lock:
            row = self._db.execute(
                "SELECT expires FROM tokens WHERE digest = ?", (digest,)
            ).fetchone()
        return None if row is None else float(row[0])

    # -- connections and records ---------------------------------------------------------------

    def add_connection(self, connection: Connection) -> None:
        with self._lock, self._db:
            if connection.id in self._connections:
                raise ValueError(f"The connection {connection.id} exists already.")
            self._db.execute(
                "INSERT INTO connections (id, definition) VALUES (?, ?)",
                (connection.id, connection.to_json()),
            )
            self._connections[connection.id] = connection

    def connection(self, connection_id: str) -> Connection | None:
        return self._connections.get(connection_id.lower())

    def write_records(
        self,
        connection_id: str,
        items: list[tuple[str, dict[str, Any], str | None]],
        overwrite: bool,
        now: str,
    ) -> dict[str, str]:
        """Store (row key, values, due date) items.

        Returns row key -> "written", "skipped" or "destroyed" (not overwritten)."""
        keys = [key for key, _, _ in items]
        outcome: dict[str, str] = {}
        if not keys:
            return outcome
        with self._lock, self._db:
            existing = dict(
                self._db.execute(
                    f"SELECT row_key, destroyed_at FROM records WHERE connection_id = ? "
                    f"AND row_key IN ({','.join('?' * len(keys))})",
                    (connection_id, *keys),
                ).fetchall()
            )
            rows = []
            for key, values, due in items:
                if key in existing and not overwrite:
                    outcome[key] = "skipped"
                elif key in existing and existing[key] is not None:
                    outcome[key] = "destroyed"
                else:
                    outcome[key] = "written"
                    rows.append((connection_id, key, json.dumps(values), due, now))
            self._db.executemany(
                "INSERT OR REPLACE INTO records (connection_id, row_key, vals, due_at, written_at) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
        return outcome

    def due_rows(
        self, connection_id: str, before: str, after: tuple[str, str] | None, limit: int
    ) -> list[DueRow]:
        """Records due by `before`, not destroyed, after the cursor, in (due, key) order."""
        after_due, after_key = after or ("", "")
        with self._lock:
            rows = self._db.execute(
                "SELECT row_key, vals, due_at FROM records "
                "WHERE connection_id = ? AND destroyed_at IS NULL AND due_at IS NOT NULL "
                "AND due_at <= ? AND (due_at > ? OR (due_at = ? AND row_key > ?)) "
                "ORDER BY due_at, row_key LIMIT ?",
                (connection_id, before, after_due, after_due, after_key, limit),
            ).fetchall()
        return [DueRow(str(key), json.loads(vals), str(due)) for key, vals, due in rows]

    def new_cursor(self, cursor: Cursor) -> str:
        """A random token that stands for `cursor`; old cursors are forgotten."""
        token = secrets.token_urlsafe(24)
        now = time.time()
        with self._lock, self._db:
            self._db.execute("DELETE FROM cursors WHERE created < ?", (now - CURSOR_LIFETIME,))
            self._db.execute(
                "INSERT INTO cursors (token, connection_id, before, after_due, after_key, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    token,
                    cursor.connection_id,
                    cursor.before,
                    cursor.after_due,
                    cursor.after_key,
                    now,
                ),
            )
        return token

    def cursor(self, token: str) -> Cursor | None:
        with self._lock:
            row = self._db.execute(
                "SELECT connection_id, before, after_due, after_key, created "
                "FROM cursors WHERE token = ?",
                (token,),
            ).fetchone()
        if row is None or row[4] < time.time() - CURSOR_LIFETIME:
            return None
        return Cursor(row[0], row[1], row[2], row[3])

    def destroy(self, keys: list[str], now: str) -> dict[str, str]:
        """Mark due records destroyed; row key -> "" when destroyed, else the reason it was not."""
        outcome: dict[str, str] = {}
        with self._lock, self._db:
            for key in keys:
                found = self._db.execute(
                    "SELECT connection_id, due_at, state, destroyed_at "
                    "FROM records WHERE row_key = ?",
                    (key,),
                ).fetchall()
                if not found:
                    outcome[key] = f"Record {key!r} was not found."
                    continue
                if len(found) > 1:
                    outcome[key] = (
                        f"Row key {key!r} is ambiguous: records in several connections have it."
                    )
                    continue
                connection_id, due_at, state, destroyed_at = found[0]
                if destroyed_at is not None:
                    outcome[key] = f"Record {key!r} is already destroyed."
                elif state != "active":
                    outcome[key] = f"Record {key!r} cannot be destroyed: its disposal is {state}."
                elif due_at is None or due_at > now:
                    outcome[key] = f"Record {key!r} is not due for disposal."
                else:
                    self._db.execute(
                        "UPDATE records SET destroyed_at = ? "
                        "WHERE connection_id = ? AND row_key = ?",
                        (now, connection_id, key),
                    )
                    outcome[key] = ""
        return outcome

    # -- what tests inspect --------------------------------------------------------------------

    def records(self, connection_id: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT row_key, vals FROM records WHERE connection_id = ? ORDER BY row_key",
                (connection_id,),
            ).fetchall()
        return {str(key): json.loads(vals) for key, vals in rows}

    def destroyed(self, connection_id: str) -> set[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT row_key FROM records WHERE connection_id = ? AND destroyed_at IS NOT NULL",
                (connection_id,),
            ).fetchall()
        return {str(row[0]) for row in rows}

    def due_keys(self, connection_id: str, before: str) -> set[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT row_key FROM records WHERE connection_id = ? AND destroyed_at IS NULL "
                "AND due_at IS NOT NULL AND due_at <= ?",
                (connection_id, before),
            ).fetchall()
        return {str(row[0]) for row in rows}

    def set_state(self, connection_id: str, row_key: str, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"Unknown record state {state!r}; use one of {', '.join(STATES)}.")
        with self._lock, self._db:
            cursor = self._db.execute(
                "UPDATE records SET state = ? WHERE connection_id = ? AND row_key = ?",
                (state, connection_id, row_key),
            )
        if cursor.rowcount != 1:
            raise KeyError(row_key)
