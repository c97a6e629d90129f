"""The service layer: the app certificate, sign-in, and the connector API (Graph and legacy).

The only package that talks HTTP (httpx). No Qt here: the GUI and the CLI both use it
through jobs/.

The names below are loaded when first asked for (PEP 562), not when a submodule is: the
window imports opus.certificate or opus.errors at start and must not pay for httpx and
jwt, which only sign-in and the client need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opus_desktop.opus.auth import DEFAULT_SCOPE, Discovery, TokenProvider
    from opus_desktop.opus.certificate import (
        CertificateInfo,
        Credential,
        describe_certificate,
        load_certificate,
    )
    from opus_desktop.opus.client import MAX_PER_CALL, MAX_PER_PAGE, OpusClient
    from opus_desktop.opus.errors import (
        AuthError,
        CertificateError,
        InvalidRequest,
        OpusError,
        ProtocolError,
        RequestRejected,
        ServerError,
        ServiceUnavailable,
        SettingsError,
        TooManyRecords,
    )
    from opus_desktop.opus.http import make_http_client
    from opus_desktop.opus.protocols import DestroyResult, DuePage, SubmitResult
    from opus_desktop.opus.retry import RetryPolicy

_HOMES = {
    "auth": ("DEFAULT_SCOPE", "Discovery", "TokenProvider"),
    "certificate": ("CertificateInfo", "Credential", "describe_certificate", "load_certificate"),
    "client": ("MAX_PER_CALL", "MAX_PER_PAGE", "OpusClient"),
    "errors": (
        "AuthError",
        "CertificateError",
        "InvalidRequest",
        "OpusError",
        "ProtocolError",
        "RequestRejected",
        "ServerError",
        "ServiceUnavailable",
        "SettingsError",
        "TooManyRecords",
    ),
    "http": ("make_http_client",),
    "protocols": ("DestroyResult", "DuePage", "SubmitResult"),
    "retry": ("RetryPolicy",),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "DEFAULT_SCOPE",
    "MAX_PER_CALL",
    "MAX_PER_PAGE",
    "AuthError",
    "CertificateError",
    "CertificateInfo",
    "Credential",
    "DestroyResult",
    "Discovery",
    "DuePage",
    "InvalidRequest",
    "OpusClient",
    "OpusError",
    "ProtocolError",
    "RequestRejected",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailable",
    "SettingsError",
    "SubmitResult",
    "TokenProvider",
    "TooManyRecords",
    "describe_certificate",
    "load_certificate",
    "make_http_client",
]


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # asked once
    return value
