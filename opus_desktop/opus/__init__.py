"""The service layer: the app certificate, sign-in, and the connector API (Graph and legacy).

The only package that talks HTTP (httpx). No Qt here: the GUI and the CLI both use it
through jobs/.
"""

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
