"""Argument types shared by the commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def int_between(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`, else a sentence saying so
    ("'x' is not a whole number", "choose from 1 to 32, not 0")."""

    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"choose from {low} to {high}, not {value}")
        return value

    return whole_number


def seconds_between(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a number of seconds from `low` to `high`, else a sentence."""

    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not low <= value <= high:  # NaN fails this too
            raise argparse.ArgumentTypeError(f"choose from {low:g} to {high:g} s, not {text}")
        return value

    return seconds


def row_number(text: str) -> int:
    """An argparse type: a row number as Excel counts them, from 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a row number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"rows count from 1, as in Excel, not {value}")
    return value
