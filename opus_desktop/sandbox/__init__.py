"""A local emulator of the AvePoint Opus identity service and both connector APIs.

It is the app's demo tenant and the other end of every integration test. It shares no
code with the client (opus/) or core/, so each checks the other: the sandbox makes its
own strict checks of what the documentation allows. Modules:

    server    Sandbox, SandboxConfig: the HTTP server, routing, faults, test inspection
    identity  discovery and the client-credentials token endpoint (private_key_jwt)
    api       the connector API, Graph and legacy; its docstring lists every shape
    values    connections, column value checks and display strings
    dates     the tenant's date pattern (Opus pattern letters)
    tenant    the state in SQLite
    faults    injected latency, 429, 503 and dropped connections
    demo      the demo certificate and records
    command   `describe` and `main` for the command line
    arguments the command line's flags (light: every `opus-desktop` start builds them)

The names below load their module when first asked for, so that importing a light
module of the package (arguments, faults) does not start the server's imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opus_desktop.sandbox.command import describe, main
    from opus_desktop.sandbox.faults import Faults
    from opus_desktop.sandbox.server import Sandbox, SandboxConfig

_HOMES = {
    "Faults": "opus_desktop.sandbox.faults",
    "Sandbox": "opus_desktop.sandbox.server",
    "SandboxConfig": "opus_desktop.sandbox.server",
    "describe": "opus_desktop.sandbox.command",
    "main": "opus_desktop.sandbox.command",
}

__all__ = ["Faults", "Sandbox", "SandboxConfig", "describe", "main"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
