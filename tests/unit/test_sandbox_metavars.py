"""The sandbox's options show plain placeholders (MS, RATE, SECONDS), not argparse's
upper-cased option names (LATENCY_MS), in `opus-desktop sandbox --help` and opus-sandbox."""

from __future__ import annotations

import argparse

from opus_desktop.sandbox.command import add_arguments, build_parser


def placeholders(parser: argparse.ArgumentParser) -> dict[str, str]:
    formatter = parser._get_formatter()
    shown = {}
    for action in parser._actions:
        if action.option_strings and action.nargs != 0:
            shown[action.option_strings[-1]] = formatter._metavar_formatter(
                action, action.dest.upper()
            )(1)[0]
    return shown


def test_every_placeholder_is_a_plain_word() -> None:
    shown = placeholders(build_parser())
    assert shown["--latency-ms"] == "MS"
    assert {shown[f"--{name}-rate"] for name in ("fail", "throttle", "drop")} == {"RATE"}
    assert shown["--token-ttl"] == "SECONDS"
    assert all("_" not in word and word.isupper() for word in shown.values()), shown
    inside = argparse.ArgumentParser(prog="opus-desktop sandbox")
    add_arguments(inside)
    assert placeholders(inside) == shown
    assert "LATENCY_MS" not in build_parser().format_help()
