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
"""

from opus_desktop.sandbox.command import describe, main
from opus_desktop.sandbox.faults import Faults
from opus_desktop.sandbox.server import Sandbox, SandboxConfig

__all__ = ["Faults", "Sandbox", "SandboxConfig", "describe", "main"]
