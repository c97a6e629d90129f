"""Pausing the cycle collector while many objects pile up (records, rows).

    with collector_paused():                # validation, a submit's records
        ...
    with collector_paused(freeze=True):     # rows that stay loaded afterwards
        ...

Records and rows hold no reference cycles, so reference counting alone frees them. Yet
each full pass of the cycle collector walks every live object: with 100,000 records it
costs more than the conversions, and it holds the interpreter (and a window's thread with
it) for tens of milliseconds or more. So the collector pauses while they are made and
resumes, as it was, at the end.

`freeze=True` also moves every object alive at the end out of the collector's sight
(gc.freeze), for what stays loaded: later passes skip it, while objects dropped later are
still freed at once by their reference counts.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused(*, freeze: bool = False) -> Iterator[None]:
    """No cycle collection inside the block; on leaving, freeze what lives if asked, and
    collection back as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()
