"""`opus-desktop sandbox`: run the sandbox tenant in the foreground."""

from __future__ import annotations

import argparse
import errno

from opus_desktop.cli.exits import EXIT_USAGE, fail
from opus_desktop.cli.parsing import examples
from opus_desktop.sandbox.arguments import add_arguments
from opus_desktop.sandbox_profiles import LEGACY_PROFILE, demo_sheet_path, save_sandbox_profiles


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "sandbox",
        help="run a local sandbox tenant with demo data",
        description="Run a local Opus sandbox tenant on 127.0.0.1 with demo data, and write "
        f'the "Sandbox" (Graph API) and "{LEGACY_PROFILE}" profiles for it. The rates make '
        "it fail on purpose, to see how runs ride out a busy or flaky service. Ctrl-C stops it.",
        epilog=examples(
            "opus-desktop sandbox",
            "opus-desktop sandbox --port 8765 --throttle-rate 0.2 --drop-rate 0.05",
        ),
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # The server and its certificate machinery, when the sandbox runs.
    from opus_desktop.sandbox.command import config_from, describe
    from opus_desktop.sandbox.server import Sandbox

    try:
        sandbox = Sandbox(config_from(args))
    except (ValueError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
            return fail(
                f"the sandbox cannot start: port {args.port} is in use (another sandbox "
                "still running?); choose another --port, or leave --port out for a free one.",
                EXIT_USAGE,
            )
        reason = str(exc).rstrip(".")
        return fail(f"the sandbox cannot start: {reason[:1].lower()}{reason[1:]}.", EXIT_USAGE)
    profile = save_sandbox_profiles(sandbox)
    print(describe(sandbox))
    print(f'  Profiles written:   "{profile.name}" (Graph) and "{LEGACY_PROFILE}"')
    print(f"  Faults:             {faults_line(args)}")
    print(f"  Demo sheet:         {demo_sheet_path()}")
    print(f"  Try:                opus-desktop profile test {profile.name}", flush=True)
    sandbox.serve_forever()
    return 0


def faults_line(args: argparse.Namespace) -> str:
    """The latency and fault rates the sandbox was started with, in words."""
    rates = (
        (args.throttle_rate, "throttled (429)"),
        (args.fail_rate, "failing (503)"),
        (args.drop_rate, "dropped"),
    )
    text = f"latency {args.latency_ms:g} ms, " + ", ".join(
        f"{rate * 100:g} % {words}" for rate, words in rates
    )
    if args.latency_ms == 0 and not any(rate for rate, _ in rates):
        return text + ": no faults (--throttle-rate, --fail-rate, --drop-rate add some)"
    return text
