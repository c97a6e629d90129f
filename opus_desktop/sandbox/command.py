"""Running the sandbox from a command line: `describe` for what to tell the user, and
`main` for `python -m opus_desktop.sandbox` (the same flags as `opus-desktop sandbox`)."""

from __future__ import annotations

import argparse
import logging

from opus_desktop.paths import sandbox_dir
from opus_desktop.sandbox.arguments import add_arguments
from opus_desktop.sandbox.server import Sandbox, SandboxConfig


def describe(sandbox: Sandbox) -> str:
    """What a user needs to connect to a running sandbox, one item a line."""
    lines = [
        f"Opus sandbox running at {sandbox.url} (press Ctrl-C to stop)",
        f"  Identity service:   {sandbox.identity_url}",
        f"  API URL:            {sandbox.api_url}  (Graph and legacy)",
        f"  Date format:        {sandbox.pattern.pattern}",
        f"  Data folder:        {sandbox.directory}",
    ]
    try:
        lines += [
            f"  Client id:          {sandbox.client_id}",
            f"  Connection id:      {sandbox.connection_id}",
            f"  Connection file:    {sandbox.template_path}",
            f"  Certificate (PFX):  {sandbox.pfx_path}",
            f"  PFX password:       {sandbox.pfx_password}  (a demo certificate: nothing secret)",
            f"  Certificate (PEM):  {sandbox.cert_pem_path}",
            f"  Private key (PEM):  {sandbox.key_pem_path}",
        ]
    except RuntimeError:
        lines.append("  No demo tenant: register an app and add a connection first.")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opus-sandbox", description="Run a local Opus sandbox tenant."
    )
    add_arguments(parser)
    return parser


def config_from(args: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(
        directory=args.dir or sandbox_dir(),
        port=args.port,
        latency_ms=args.latency_ms,
        fail_rate=args.fail_rate,
        throttle_rate=args.throttle_rate,
        drop_rate=args.drop_rate,
        token_ttl=args.token_ttl,
        date_format=args.date_format,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        sandbox = Sandbox(config_from(args))
    except ValueError as exc:
        print(f"opus-sandbox: {exc}")
        return 2
    print(describe(sandbox), flush=True)
    sandbox.serve_forever()
    return 0
