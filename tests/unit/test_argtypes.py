"""The CLI's whole-number-in-a-range argument type, through argparse as the commands use it."""

from __future__ import annotations

import argparse

import pytest

from opus_desktop.cli.argtypes import int_between


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="opus-desktop", exit_on_error=False)
    parser.add_argument("--per-page", type=int_between(1, 500))
    return parser


def test_the_bounds_are_allowed() -> None:
    assert parser().parse_args(["--per-page", "1"]).per_page == 1
    assert parser().parse_args(["--per-page", "500"]).per_page == 500


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("0", "argument --per-page: choose from 1 to 500, not 0"),
        ("501", "argument --per-page: choose from 1 to 500, not 501"),
        ("ten", "argument --per-page: 'ten' is not a whole number"),
        ("2.5", "argument --per-page: '2.5' is not a whole number"),
    ],
)
def test_outside_the_range_or_not_whole(given: str, said: str) -> None:
    with pytest.raises(argparse.ArgumentError) as caught:
        parser().parse_args(["--per-page", given])
    assert str(caught.value) == said
