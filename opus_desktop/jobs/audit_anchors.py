"""What quotes audit entries outside the log, and what the log no longer holds of it.

The journal keeps the hash of each disposal's last entry; each certificate's manifest
quotes its entries by number and hash. A log cut short is still a valid chain: these
anchors are what tell a cut (an entry quoted past the end) from a change (an entry whose
hash is not the one quoted).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Anchor:
    """An entry quoted outside the log: by the journal (its hash alone) or by a
    certificate's manifest (its number and hash)."""

    hash: str
    seq: int | None = None
    source: str = "the journal"  # who quotes it, as a message names it

    def __post_init__(self) -> None:
        if self.seq is not None and self.seq < 1:
            raise ValueError(f"audit entries count from 1, not {self.seq}")


def anchor_problem(
    hashes: list[str], anchors: Iterable[str | Anchor], authentic: bool
) -> tuple[int, str] | None:
    """The first entry the anchors find removed or changed, and why; None when all hold.
    `hashes` are the log's, in order; `authentic`: every entry is vouched for by a keyed
    MAC, so a hash that differs cannot be a re-hash of the log."""
    count = len(hashes)
    known = set(hashes)
    ends = f"ends after entry {count}" if count else "holds no entries"
    found: list[tuple[int, int, str]] = []  # (entry to blame, rank, reason)
    for item in anchors:
        anchor = item if isinstance(item, Anchor) else Anchor(item)
        wanted = anchor.hash.strip().lower()
        seq = anchor.seq
        if seq is None:
            if wanted not in known:
                found.append((count + 1, 1, _unknown(anchor, wanted, ends, authentic)))
        elif seq > count:
            found.append((count + 1, -seq, (
                f"The audit log {ends}, but {anchor.source} quotes entry {seq}: entries "
                f"were removed from the end, from entry {count + 1} on."
            )))  # fmt: skip
        elif hashes[seq - 1] != wanted:
            found.append((seq, 0, _changed(anchor, seq, wanted, authentic)))
    if not found:
        return None
    first = min(found)  # the earliest entry; at the end, the furthest quote
    return first[0], first[2]


def _unknown(anchor: Anchor, wanted: str, ends: str, authentic: bool) -> str:
    """A hash quoted without its number that the log does not hold."""
    how = "." if authentic else (
        ", or changed and the chain re-hashed (entries without a keyed MAC cannot tell which)."
    )  # fmt: skip
    return (
        f"The audit log {ends}, but {anchor.source} knows an entry with hash {wanted[:16]}... "
        f"that is no longer in it: entries were removed from the end{how}"
    )


def _changed(anchor: Anchor, seq: int, wanted: str, authentic: bool) -> str:
    if authentic:
        return (
            f"Entry {seq} is not the entry {anchor.source} quotes (hash {wanted[:16]}...): "
            f"its keyed MAC holds, so {anchor.source} was changed or belongs to another "
            "audit log."
        )
    return (
        f"Entry {seq} was changed, or an entry before it, and the chain re-hashed: its hash "
        f"is not the {wanted[:16]}... that {anchor.source} quotes."
    )
