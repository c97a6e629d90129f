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

Every error carries `.message`, a sentence a records officer can act on, `.kind`, the one
classification of failures (Failure) that the client's retries, the runs and both front
ends go by, and `.brief`, a few words for a status line while a run tries again ("" when
the message is all there is). None of them ever holds a token, an assertion or a password.
"""

from __future__ import annotations

from enum import StrEnum

from opus_desktop.errors import AppError


class Failure(StrEnum):
    """What went wrong with a call, whoever made it."""

    REFUSED = "refused"  # nothing accepted the connection at the address
    NAME = "name not found"  # the host name is not known (DNS)
    TLS = "tls"  # the server could not prove its identity
    TIMEOUT = "timeout"
    DROPPED = "dropped"  # the connection broke off during the call
    THROTTLED = "throttled"  # HTTP 429
    UNAVAILABLE = "unavailable"  # HTTP 502, 503, 504, or the identity service's trouble
    SERVER = "server error"  # HTTP 500
    BAD_REPLY = "bad reply"  # an answer that is not the API's
    WRONG_ADDRESS = "wrong address"  # HTTP 404 or 405: nothing there handles the call
    SIGN_IN = "sign-in"  # the identity service or the API refused the app
    REJECTED = "rejected"  # HTTP 400, or refused before sending
    SETTINGS = "settings"  # the profile or its certificate cannot work

    @property
    def passes(self) -> bool:
        """Waiting and trying again may mend it: the service or the network is away or
        busy. Retrying the others changes nothing until someone changes something."""
        return self in _PASSING


_PASSING = frozenset(
    {
        Failure.REFUSED,
        Failure.NAME,
        Failure.TIMEOUT,
        Failure.DROPPED,
        Failure.THROTTLED,
        Failure.UNAVAILABLE,
        Failure.BAD_REPLY,  # a garbled or cut-off reply: a proxy, a dropped connection
    }
)


class OpusError(AppError):
    exit_code = 4
    kind = Failure.BAD_REPLY
    brief = ""


class SettingsError(OpusError):
    exit_code = 2
    kind = Failure.SETTINGS


class CertificateError(OpusError):
    exit_code = 2
    kind = Failure.SETTINGS


class WrongPassword(CertificateError):
    """The password given does not open the certificate or its key."""


class InvalidRequest(OpusError, ValueError):
    exit_code = 2
    kind = Failure.REJECTED


class TooManyRecords(InvalidRequest):
    pass


class RequestRejected(OpusError):
    """HTTP 400: the service refused the request as a whole; `.message` says why."""

    exit_code = 2
    kind = Failure.REJECTED

    def __init__(self, message: str, service_message: str = "") -> None:
        super().__init__(message)
        self.service_message = service_message


class AuthError(OpusError):
    """The sign-in failed. `code` keeps the raw RFC 6749 error code, or a code of our own."""

    exit_code = 3
    kind = Failure.SIGN_IN

    def __init__(self, message: str, code: str = "", description: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.description = description


# Failures to get any reply that say the address is wrong when they come before the
# service ever answered a run (after that, a refused connection is an outage).
FIRST_CONTACT = frozenset({Failure.REFUSED, Failure.NAME, Failure.BAD_REPLY})


class ServiceUnavailable(OpusError):
    """No usable answer: connection failures, timeouts, throttling that did not stop.
    `kind` says which; without one, the status decides (429 throttled, else unavailable).
    `asked` is the wait the service asked for (Retry-After), when that is why it gave up."""

    exit_code = 4

    def __init__(
        self,
        message: str,
        status: int | None = None,
        kind: Failure | None = None,
        *,
        brief: str = "",
        asked: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        if kind is None:
            kind = Failure.THROTTLED if status == 429 else Failure.UNAVAILABLE
        self.kind = kind
        self.brief = brief or status_brief(status)
        self.asked = asked


class ServerError(ServiceUnavailable):
    """HTTP 500: the service failed on this request; `service_message` is what it said."""

    def __init__(self, message: str, status: int | None = 500, service_message: str = "") -> None:
        super().__init__(message, status, Failure.SERVER)
        self.service_message = service_message


class ProtocolError(OpusError):
    """A reply the API does not promise: HTML, invalid JSON, missing or mistyped fields."""

    exit_code = 4

    def __init__(self, message: str, status: int | None = None, *, brief: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.kind = Failure.WRONG_ADDRESS if status in (404, 405) else Failure.BAD_REPLY
        self.brief = brief or "the reply is not the API's"


def status_brief(status: int | None) -> str:
    """'the service is busy (HTTP 429)': what a status that is retried means, in a few words."""
    if status == 429:
        return "the service is busy (HTTP 429)"
    if status == 503:
        return "the service is unavailable (HTTP 503)"
    if status in (502, 504):
        return f"the service's gateway failed (HTTP {status})"
    if status == 500:
        return "the service failed (HTTP 500)"
    return f"the service answered HTTP {status}" if status else ""
