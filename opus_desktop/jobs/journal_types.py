"""What the journal keeps: a run, its records' states and counts, and the editor's draft.

A record (an *item* of a run) moves through these states; each move is committed before
the method returns, so the journal always says what may have reached Opus:

    pending --claim()--> in_flight --finish()--> ok | failed | skipped
       ^                     |
       +-- release() --------+   cancelled or a transient error: the call may or may not
       +-- prepare_resume() -+   have arrived (after a crash); sending again is safe,
       |                         since the same rowKey and payload give the same record
       +-- retry_failed() <-- failed
    pending --skip()--> skipped

Nothing moves an item out of `ok`, and claim() takes only pending items: a record stored
once is never sent again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from opus_desktop.jobs.payloads import Codec

RunKind = Literal["submit", "destroy"]
RunStatus = Literal["running", "done", "cancelled", "interrupted", "stopped"]
EndStatus = Literal["done", "cancelled", "stopped"]
ItemState = Literal["pending", "in_flight", "ok", "failed", "skipped"]
ITEM_STATES: tuple[ItemState, ...] = get_args(ItemState)


@dataclass(frozen=True)
class Counts:
    pending: int = 0
    in_flight: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.in_flight + self.ok + self.failed + self.skipped

    @property
    def done(self) -> int:
        return self.ok + self.failed + self.skipped

    @property
    def remaining(self) -> int:
        return self.pending + self.in_flight


@dataclass(frozen=True)
class RunInfo:
    id: str
    kind: RunKind
    profile: str
    status: RunStatus  # "interrupted" when marked running but no process holds it
    started: datetime
    ended: datetime | None
    counts: Counts
    input_path: str | None
    input_sha256: str | None
    template_sha256: str | None
    mapping: dict[str, Any] | None
    options: dict[str, Any]
    owner_pid: int | None
    owner_host: str | None
    note: str
    audit_hash: str | None  # the last audit entry written for this run (disposal)
    # False while a run journalled in chunks is still being read in (or was interrupted
    # then): none of it was sent, and it cannot be resumed.
    complete: bool = True

    @property
    def resumable(self) -> bool:
        return self.complete and self.status != "running" and self.counts.remaining > 0

    @classmethod
    def from_row(cls, row: sqlite3.Row, counts: Counts, status: RunStatus) -> RunInfo:
        """The run in a `runs` table row; `status` as the journal judged it."""
        return cls(
            id=row["id"],
            kind=row["kind"],
            profile=row["profile"],
            status=status,
            started=datetime.fromisoformat(row["started"]),
            ended=parse_time(row["ended"]),
            counts=counts,
            input_path=row["input_path"],
            input_sha256=row["input_sha256"],
            template_sha256=row["template_sha256"],
            mapping=loads_dict(row["mapping"]),
            options=loads_dict(row["options"]) or {},
            owner_pid=row["owner_pid"],
            owner_host=row["owner_host"],
            note=row["note"],
            audit_hash=row["audit_hash"],
            complete=bool(row["complete"]),
        )


@dataclass(frozen=True)
class Item:
    seq: int  # order within the run, from 1
    row: int | None  # the source row number, for messages and results
    key: str  # the row key, unique within the run
    payload: dict[str, Any]  # the exact object sent; empty once pruned (runs prune)
    state: ItemState
    attempts: int  # how many times it was claimed for sending
    message: str  # the service's last word on it

    @classmethod
    def from_row(cls, row: sqlite3.Row, codec: Codec, claimed: bool = False) -> Item:
        """The record in an `items` table row, its run's payloads read by `codec`;
        `claimed`: as claim() has just taken it."""
        state: ItemState = "in_flight" if claimed else row["state"]
        attempts = row["attempts"] + 1 if claimed else row["attempts"]
        payload = codec.decode(row["payload"])
        return cls(row["seq"], row["row"], row["key"], payload, state, attempts, row["message"])


@dataclass(frozen=True)
class Pruned:
    """What Journal.prune() did."""

    pruned: tuple[str, ...]  # runs whose stored records' payloads were dropped
    dropped: tuple[str, ...]  # incomplete runs (never sent) dropped whole
    kept: Mapping[str, str]  # run id -> why it was left as it was
    records: int  # payloads dropped
    size_before: int  # the journal's bytes (file and WAL)
    size_after: int


@dataclass(frozen=True)
class Draft:
    profile: str
    meta: dict[str, Any]
    rows: dict[int, Any]  # row index -> that row's JSON value
    updated: datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def loads_dict(text: str | None) -> dict[str, Any] | None:
    return None if text is None else cast(dict[str, Any], json.loads(text))


def parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def reasons(skipped: Mapping[str, str] | Iterable[str] | None) -> Mapping[str, str]:
    if skipped is None:
        return {}
    if isinstance(skipped, Mapping):
        return skipped
    return dict.fromkeys(skipped, "")
