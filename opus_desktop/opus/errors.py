"""Errors of the opus layer: the certificate, signing in, and the service's replies.

OpusError (AppError)
 +-- SettingsError          a URL or option in the profile that cannot work        (exit 2)
 +-- CertificateError       the certificate or its key cannot be used              (exit 2)
 +-- InvalidRequest         refused before sending: no records, no row key, ...    (exit 2)
 |    +-- TooManyRecords    more than 15 records or row keys in one call            (exit 2)
 +-- RequestRejected        the service refused the whole request (HTTP 400)       (exit 2)
 +-- AuthError              the identity service or the API refused the app        (exit 3)
 +-- ServiceUnavailable     no usable answer after bounded retries                 (exit 4)
 |    +-- ServerError       the service failed on the request (HTTP 500)           (exit 4)
 +-- ProtocolError          a reply that is not what the API promises              (exit 4)

InvalidRequest is also a ValueError: it is the caller's mistake, found before anything is sent.
RequestRejected is exit 2 when it ends a command; a submit run catches it and marks that
batch's records failed with the service's message instead.

HTTP 500 is not retried: the same payload is likely to fail the same way, and the submit
run's journal sends it again on resume anyway. Throttling (429) and gateway errors
(502, 503, 504) are retried; see retry.py.

Every error carries `.message`, a sentence a records officer can act on. None of them ever
holds a token, an assertion or a password.
"""

from __future__ import annotations

from opus_desktop.errors import AppError


class OpusError(AppError):
    exit_code = 4


class SettingsError(OpusError):
    exit_code = 2


class CertificateError(OpusError):
    exit_code = 2


class InvalidRequest(OpusError, ValueError):
    exit_code = 2


class TooManyRecords(InvalidRequest):
    pass


class RequestRejected(OpusError):
    """HTTP 400: the service refused the request as a whole; `.message` says why."""

    exit_code = 2

    def __init__(self, message: str, service_message: str = "") -> None:
        super().__init__(message)
        self.service_message = service_message


class AuthError(OpusError):
    """The sign-in failed. `code` keeps the raw RFC 6749 error code, or a code of our own."""

    exit_code = 3

    def __init__(self, message: str, code: str = "", description: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.description = description


class ServiceUnavailable(OpusError):
    """No usable answer: connection failures, timeouts, throttling that did not stop."""

    exit_code = 4

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ServerError(ServiceUnavailable):
    """HTTP 500: the service failed on this request; `service_message` is what it said."""

    def __init__(self, message: str, status: int | None = 500, service_message: str = "") -> None:
        super().__init__(message, status)
        self.service_message = service_message


class ProtocolError(OpusError):
    """A reply the API does not promise: HTML, invalid JSON, missing or mistyped fields."""

    exit_code = 4

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
