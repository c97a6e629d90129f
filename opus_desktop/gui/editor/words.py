"""Counted nouns without a translation file: "1 row", "2 rows", "12,000 rows"."""

from __future__ import annotations


def count(n: int, one: str, many: str) -> str:
    """`one` when n is 1, else `many` with {0} replaced by n (thousands separated).

    Both come through tr() at the call: count(n, tr("1 row"), tr("{0} rows")).
    """
    return one if n == 1 else many.replace("{0}", f"{n:,}")
