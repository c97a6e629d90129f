"""`opus-desktop sandbox`: run the sandbox tenant in the foreground."""

from __future__ import annotations

import argparse

from opus_desktop.cli.parsing import examples
from opus_desktop.sandbox.command import add_arguments, config_from, describe
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
    from opus_desktop.sandbox import Sandbox

    try:
        sandbox = Sandbox(config_from(args))
    except (ValueError, OSError) as exc:
        print(f"opus-desktop: the sandbox cannot start: {str(exc).rstrip('.')}.")
        return 2
    profile = save_sandbox_profiles(sandbox)
    print(describe(sandbox))
    print(f'  Profiles written:   "{profile.name}" (Graph) and "{LEGACY_PROFILE}"')
    print(f"  Demo sheet:         {demo_sheet_path()}")
    print(f"  Try:                opus-desktop profile test {profile.name}", flush=True)
    sandbox.serve_forever()
    return 0
