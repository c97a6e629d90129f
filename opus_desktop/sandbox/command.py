"""Running the sandbox from a command line: `describe` for what to tell the user, and
`main` for `python -m opus_desktop.sandbox` (the same flags as `opus-desktop sandbox`)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from opus_desktop.paths import sandbox_dir
from opus_desktop.sandbox.server import DEFAULT_DATE_FORMAT, Sandbox, SandboxConfig


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox's flags, shared with `opus-desktop sandbox`."""
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        metavar="PORT",
        help="port on 127.0.0.1 (default: any free port)",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="folder for the sandbox's state (default: in the app's data)",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0,
        metavar="MS",
        help="delay before every API reply, in milliseconds",
    )
    parser.add_argument(
        "--fail-rate",
        type=float,
        default=0,
        metavar="RATE",
        help="share of API calls answered 503, from 0 to 1",
    )
    parser.add_argument(
        "--throttle-rate",
        type=float,
        default=0,
        metavar="RATE",
        help="share of API calls answered 429, from 0 to 1",
    )
    parser.add_argument(
        "--drop-rate",
        type=float,
        default=0,
        metavar="RATE",
        help="share of API calls done but not answered, from 0 to 1",
    )
    parser.add_argument(
        "--token-ttl",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="access token lifetime in seconds",
    )
    parser.add_argument(
        "--date-format",
        default=DEFAULT_DATE_FORMAT,
        metavar="PATTERN",
        help="the tenant's date format",
    )


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
