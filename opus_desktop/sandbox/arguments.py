"""The sandbox's command-line flags, apart from the server: `opus-desktop` builds every
command's parser at each start, and the server (with its certificate machinery) is
loaded only when the sandbox runs."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_DATE_FORMAT = "yyyy-MM-dd HH:mm:ss"  # the tenant's Opus pattern, unless told


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
