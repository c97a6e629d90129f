"""Figures the benchmarks hand to `make bench`'s closing table (benchmarks/table.py).

Each script calls `record(...)` with its headline figure beside the reference it measured
in the same run. When OPUS_BENCH_FIGURES names a file (the Makefile sets it), the figure
is appended there as one JSON line; run alone, a script records nothing.

This module is not a benchmark: `make bench` skips it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

VARIABLE = "OPUS_BENCH_FIGURES"


def record(key: str, **values: float | str | None) -> None:
    """Note one figure under `key` (see table.ROWS for the keys the table knows)."""
    target = os.environ.get(VARIABLE)
    if not target:
        return
    with Path(target).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"key": key, **values}) + "\n")


def read(path: Path) -> dict[str, dict[str, float | str | None]]:
    """The figures in `path`, the last one recorded under each key."""
    found: dict[str, dict[str, float | str | None]] = {}
    if not path.exists():
        return found
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            found[str(entry.pop("key"))] = entry
    return found
