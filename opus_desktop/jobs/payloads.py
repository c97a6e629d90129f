"""How the journal stores a run's payloads (compactly: journalled runs grow to a million
records).

Each field name is kept once a run (runs.fields), not once a record: a payload is the
JSON list [mask, values...], the mask's bits naming the fields it has, its values in
field order. That text is deflated against a dictionary made of the run's first payloads
(runs.zdict), so the values records share (classifications, people, labels, dates, the
words of a name) take a few bytes. Older journals keep payloads as JSON objects; they
still read.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from opus_desktop.jobs.errors import DuplicateRowKey

SAMPLE = 16  # payloads that make a run's dictionary
_WBITS = -12  # raw deflate, a 4 KB window: payloads are short
_LEVEL = 6
_DICTIONARY = 4000  # bytes of the dictionary at most (the window's size, less a margin)


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class Codec:
    """One run's payload encoding: its field names (growing as new ones are met) and its
    dictionary (made once, from the first payloads)."""

    def __init__(self, fields: list[str] | None = None, zdict: bytes | None = None) -> None:
        self.fields = fields or []
        self.zdict = zdict
        self._known = {name: position for position, name in enumerate(self.fields)}
        # A compressor with the dictionary loaded, copied for each payload.
        self._primed: zlib._Compress | None = None

    @classmethod
    def stored(cls, fields: str | None, zdict: bytes | None) -> Codec:
        """The codec of a run, from its runs.fields and runs.zdict."""
        return cls(json.loads(fields) if fields else [], zdict)

    def text(self, payload: Mapping[str, Any]) -> str:
        """The payload as the JSON list [mask, values...]; new field names are added."""
        fields, known = self.fields, self._known
        mask = 0
        for name in payload:
            position = known.get(name)
            if position is None:
                position = known[name] = len(fields)
                fields.append(name)
            mask |= 1 << position
        if list(payload) == fields[: len(payload)]:
            values = list(payload.values())  # the usual case: the fields in order, a prefix
        else:
            values = [payload[name] for name in fields if name in payload]
        return dumps([mask, *values])

    def learn(self, texts: Iterable[str]) -> None:
        """Make the dictionary from these payloads' texts."""
        self.zdict = "".join(texts).encode()[-_DICTIONARY:]
        self._primed = None

    def pack(self, text: str) -> bytes:
        assert self.zdict is not None, "learn() first"
        if self._primed is None:
            self._primed = zlib.compressobj(
                _LEVEL, zlib.DEFLATED, _WBITS, 8, zlib.Z_DEFAULT_STRATEGY, self.zdict
            )
        # Copying the primed compressor costs less than loading the dictionary each time;
        # the bytes are the same.
        packer = self._primed.copy()
        return packer.compress(text.encode()) + packer.flush()

    def decode(self, stored: bytes | str | None) -> dict[str, Any]:
        """The payload as it was given; an empty one once pruned (runs prune)."""
        if stored is None:
            return {}
        if isinstance(stored, bytes):
            unpacker = zlib.decompressobj(_WBITS, self.zdict or b"")
            stored = (unpacker.decompress(stored) + unpacker.flush()).decode()
        value = json.loads(stored)
        if isinstance(value, dict):
            return value
        mask, *values = value
        names = (name for bit, name in enumerate(self.fields) if mask >> bit & 1)
        return dict(zip(names, values, strict=True))


Row = tuple[str, int, int | None, str, bytes]


def item_rows(
    run_id: str,
    items: Iterable[tuple[int | None, str, Mapping[str, Any]]],
    codec: Codec,
    first: int,
) -> Iterator[Row]:
    """The items as table rows from sequence number `first`, refusing a missing or
    repeated row key before SQLite does; payloads encoded by `codec` (whose dictionary is
    made from the first SAMPLE, if it has none yet)."""
    seen: dict[str, str] = {}
    waiting: list[tuple[int, int | None, str, str]] = []
    for seq, (row, key, payload) in enumerate(items, first):
        where = f"row {row}" if row is not None else f"record {seq}"
        if not isinstance(key, str) or not key.strip():
            raise ValueError(f"{where} has no row key")
        if key in seen:
            raise DuplicateRowKey(
                f"The row key {key!r} appears twice, in {seen[key]} and in {where}. "
                "Each record needs its own row key."
            )
        seen[key] = where
        text = codec.text(payload)
        if codec.zdict is not None:
            yield run_id, seq, row, key, codec.pack(text)
            continue
        waiting.append((seq, row, key, text))
        if len(waiting) == SAMPLE:
            yield from _packed(run_id, waiting, codec)
            waiting = []
    if waiting:
        yield from _packed(run_id, waiting, codec)


def _packed(
    run_id: str, waiting: list[tuple[int, int | None, str, str]], codec: Codec
) -> Iterator[Row]:
    codec.learn(text for *_, text in waiting)
    for seq, row, key, text in waiting:
        yield run_id, seq, row, key, codec.pack(text)
