"""Access tokens from the AvePoint identity service (OAuth 2 client credentials).

The app proves who it is with a short JWT signed by its certificate's private key (RFC 7523
client assertion), sent to the token endpoint that OIDC discovery names. Tokens are cached
and renewed five minutes before they expire; many threads may ask at once and share one
renewal. Errors become sentences: the identity service's RFC 6749 §5.2 codes are explained
in the words of the AvePoint admin pages, with a hint when this computer's clock is off.

AvePoint's pages call the address either the "Identity Service Address" (the seed) or the
"Access Token URL" (`.../connect/token`, the Graph pages): either may be pasted, and the
second is cut back to the first. When discovery is not offered there (HTTP 4xx), the
documented `{identity}/connect/token` is used instead.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import jwt

from opus_desktop.opus.certificate import Credential
from opus_desktop.opus.errors import (
    AuthError,
    OpusError,
    ProtocolError,
    ServerError,
    ServiceUnavailable,
    SettingsError,
)
from opus_desktop.opus.http import describe_reply, snippet
from opus_desktop.opus.retry import RetryPolicy

log = logging.getLogger(__name__)

DEFAULT_SCOPE = "records.readwrite.all"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300  # seconds; the identity service accepts at most ten minutes
BACKDATE = 60  # iat and nbf this far in the past, so a clock a little ahead is not refused
TOKEN_PATH = "/connect/token"  # the documented token endpoint, below the identity address
RENEW_MARGIN = 300  # renew this long before expiry
DEFAULT_EXPIRES_IN = 3600  # what Opus documents, for a reply that leaves expires_in out
RETRY_RENEWAL_AFTER = 30  # after a failed early renewal, keep the old token this long
CLOCK_SKEW_WARNING = 120  # seconds between our clock and the server's worth mentioning
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Discovery:
    issuer: str
    token_endpoint: str
    discovered: bool = True  # False: discovery was not offered, the documented path is used


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float
    renew_at: float


def require_secure_url(url: str, what: str) -> httpx.URL:
    """Parse `url` and insist on https, except for this computer (a local sandbox)."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        raise SettingsError(f"The {what} {url!r} is not a valid URL.") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise SettingsError(f"The {what} {url!r} must be a full address such as https://host.")
    if parsed.scheme == "http" and parsed.host not in LOOPBACK:
        raise SettingsError(
            f"The {what} {url} uses http://, which would send credentials unencrypted: "
            "use https:// (plain http is only allowed for 127.0.0.1 and localhost)."
        )
    return parsed


def identity_address(url: str) -> str:
    """The identity service's address, also when its token URL was pasted instead."""
    address = url.strip().rstrip("/")
    if address.casefold().endswith(TOKEN_PATH):
        address = address[: -len(TOKEN_PATH)].rstrip("/")
    return address


def _same_url(a: str, b: str) -> bool:
    """Whether two addresses name the same place, whatever the case or a trailing slash."""
    try:
        first, second = httpx.URL(a.strip()), httpx.URL(b.strip())
    except httpx.InvalidURL:
        return False
    return (
        first.scheme == second.scheme
        and first.host == second.host
        and first.port == second.port
        and first.path.rstrip("/").casefold() == second.path.rstrip("/").casefold()
    )


class TokenProvider:
    """Access tokens for `client_id`, signed in with `credential`, cached and renewed."""

    def __init__(
        self,
        identity_url: str,
        client_id: str,
        credential: Credential,
        http: httpx.Client,
        scope: str = DEFAULT_SCOPE,
        clock: Callable[[], float] = time.time,
        retry: RetryPolicy | None = None,
    ) -> None:
        require_secure_url(identity_url, "identity service address")
        if not client_id.strip():
            raise SettingsError("The client id is empty: copy it from App registrations.")
        self.identity_url = identity_address(identity_url)
        self.client_id = client_id.strip()
        self.credential = credential
        self.http = http
        self.scope = scope
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self._lock = threading.Lock()
        self._discovery: Discovery | None = None
        self._no_discovery: httpx.Response | None = None  # the 4xx that discovery answered
        self._current: _Token | None = None

    # -- what the GUI and the CLI read -------------------------------------------------

    @property
    def expires_at(self) -> float | None:
        """When the current token expires (seconds since the epoch, by `clock`), if there is one."""
        current = self._current
        return current.expires_at if current else None

    def seconds_left(self) -> float | None:
        """Seconds until the current token expires (0 once it has), None before the first."""
        current = self._current
        return None if current is None else max(0.0, current.expires_at - self.clock())

    # -- tokens ------------------------------------------------------------------------

    def token(self) -> str:
        """A valid access token, fetched only when there is none or it is due for renewal."""
        current = self._current
        if current is not None and self.clock() < current.renew_at:
            return current.value
        with self._lock:
            current = self._current  # another thread may have renewed while we waited
            now = self.clock()
            if current is not None and now < current.renew_at:
                return current.value
            try:
                self._current = self._fetch()
            except ServiceUnavailable:
                # A still-valid token keeps a long run going through a short outage of the
                # identity service; try again a little later.
                if current is None or current.expires_at - now < 2 * RETRY_RENEWAL_AFTER:
                    raise
                log.warning("Token renewal failed; using the current token a little longer")
                self._current = _Token(current.value, current.expires_at, now + RETRY_RENEWAL_AFTER)
            return self._current.value

    def invalidate(self, token: str) -> None:
        """Forget `token` after the API refused it (401), unless it was already replaced."""
        with self._lock:
            if self._current is not None and self._current.value == token:
                self._current = None

    def discover(self) -> Discovery:
        """The identity service's OIDC configuration (fetched once, then cached)."""
        if self._discovery is None:
            self._discovery = self._discover()
        return self._discovery

    def make_assertion(self, audience: str) -> str:
        """A freshly signed client assertion for `audience` (the token endpoint)."""
        now = int(self.clock())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "jti": str(uuid.uuid4()),
            "iat": now - BACKDATE,
            "nbf": now - BACKDATE,
            "exp": now + ASSERTION_LIFETIME,
        }
        headers = {"kid": self.credential.thumbprint, "x5t": self.credential.x5t}
        return jwt.encode(claims, self.credential.private_key, algorithm="RS256", headers=headers)

    # -- the exchanges -----------------------------------------------------------------

    def _discover(self) -> Discovery:
        url = f"{self.identity_url}/.well-known/openid-configuration"
        response = self.retry.call(
            lambda: self.http.get(url, headers={"Accept": "application/json"}),
            "reading the identity service's configuration",
        )
        if 400 <= response.status_code < 500:
            # No discovery offered here: the token endpoint AvePoint documents, whose
            # answer then says whether the address is right (see _fetch).
            log.info("No identity configuration at %s (HTTP %d)", url, response.status_code)
            self._no_discovery = response
            return Discovery(self.identity_url, self.identity_url + TOKEN_PATH, discovered=False)
        if response.status_code != 200:
            raise self._wrong_address(response)
        document = _json_object(response, "the identity service's configuration")
        issuer = document.get("issuer")
        endpoint = document.get("token_endpoint")
        if not isinstance(issuer, str) or not isinstance(endpoint, str) or not endpoint:
            raise ProtocolError(
                f"The identity service's configuration at {url} has no "
                f"{'issuer' if not isinstance(issuer, str) else 'token endpoint'}: "
                f"it holds {_field_names(document)}.",
                status=response.status_code,
            )
        if not _same_url(issuer, self.identity_url):
            raise AuthError(
                f"The identity service at {self.identity_url} says it is {issuer}. Use that "
                "address as the identity service address, or check for a proxy that "
                "redirects the connection.",
                code="issuer_mismatch",
            )
        require_secure_url(endpoint, "token endpoint named by the identity service")
        return Discovery(issuer=issuer, token_endpoint=endpoint)

    def _fetch(self) -> _Token:
        self.credential.check_usable(datetime.fromtimestamp(self.clock(), UTC))
        endpoint = self.discover().token_endpoint

        def send() -> httpx.Response:
            # A fresh assertion (and jti) for every attempt: a jti is never reused.
            form = {
                "grant_type": "client_credentials",
                "scope": self.scope,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self.make_assertion(endpoint),
            }
            return self.http.post(endpoint, data=form, headers={"Accept": "application/json"})

        asked_at = self.clock()
        response = self.retry.call(send, "signing in to the identity service")
        if response.status_code in (404, 405) and self._no_discovery is not None:
            also = f", and its token address {endpoint} answered {describe_reply(response)}"
            raise self._wrong_address(self._no_discovery, also)
        if response.status_code != 200:
            raise self._refusal(response)
        reply = _json_object(response, "the identity service's token reply", show_body=False)
        value = reply.get("access_token")
        if not isinstance(value, str) or not value:
            raise _bad_token_reply("no access token", reply, response)
        token_type = reply.get("token_type")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise _bad_token_reply(f"token type {token_type!r} instead of Bearer", reply, response)
        lifetime = _lifetime(reply.get("expires_in", DEFAULT_EXPIRES_IN))
        if lifetime is None:
            raise _bad_token_reply("no usable lifetime (expires_in)", reply, response)
        margin = RENEW_MARGIN if lifetime >= 2 * RENEW_MARGIN else lifetime / 2
        log.info("Signed in as app %s; token valid for %d s", self.client_id, lifetime)
        return _Token(value, asked_at + lifetime, asked_at + lifetime - margin)

    def _wrong_address(self, response: httpx.Response, also: str = "") -> AuthError:
        """The identity address is wrong: `response` is what its configuration page
        answered; `also`, what else was tried."""
        return AuthError(
            f"The identity service address {self.identity_url} does not look right: its "
            f"configuration page answered {describe_reply(response)}{also}. Check the identity "
            "service address in the profile.",
            code="discovery_failed",
        )

    def _refusal(self, response: httpx.Response) -> OpusError:
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        code = body.get("error") if isinstance(body, dict) else None
        if not isinstance(code, str) and response.status_code >= 500:
            return ServerError(
                "The identity service failed while signing the app in: "
                f"{describe_reply(response)}. Try again later.",
                status=response.status_code,
            )
        if not isinstance(code, str):
            return ProtocolError(
                "The identity service refused the sign-in without saying why: "
                f"{describe_reply(response)}.",
                status=response.status_code,
            )
        raw_description = body.get("error_description") if isinstance(body, dict) else None
        description = raw_description if isinstance(raw_description, str) else ""
        if code in ("server_error", "temporarily_unavailable"):
            return ServiceUnavailable(
                "The identity service is having trouble and could not sign the app in "
                f"({code}). Try again later.",
                status=response.status_code,
            )
        sentence = self._explain(code)
        hint = self._clock_hint(response, description)
        skew = _server_skew(response, self.clock())
        if _ABOUT_TIME.search(description) or (skew is not None and abs(skew) > ASSERTION_LIFETIME):
            # The identity service says invalid_client whatever is wrong with the assertion
            # (RFC 6749 §5.2). When the clock is the cause, "the client id is not known"
            # would send the user to App registrations for nothing: name the clock alone.
            sentence = f"The identity service refused to sign in the app {self.client_id}."
        said = f" (identity service: {code}"
        said += f", {snippet(description)})" if description else ")"
        return AuthError(f"{sentence}{hint}{said}", code=code, description=description)

    def _explain(self, code: str) -> str:
        app = f"the app {self.client_id}"
        cert = f"{self.credential.subject}, thumbprint {self.credential.thumbprint}"
        return {
            "invalid_client": (
                f"The identity service does not accept {app}: the client id is not known, or "
                f"the certificate ({cert}) is not registered for it in AvePoint Online "
                "Services > App registrations."
            ),
            "invalid_scope": (
                f"{app[0].upper()}{app[1:]} has not been granted {self.scope}: add the "
                "permission in App registrations and grant it."
            ),
            "unauthorized_client": (
                f"{app[0].upper()}{app[1:]} is not allowed to sign in with a certificate "
                "(client credentials): check its settings in App registrations."
            ),
            "invalid_grant": (f"The identity service refused the signed sign-in request of {app}."),
            "invalid_request": (
                f"The identity service found the sign-in request of {app} malformed."
            ),
            "unsupported_grant_type": (
                "The identity service does not offer sign-in by client credentials at this address."
            ),
            "access_denied": f"The identity service denied access to {app}.",
        }.get(code, f"The identity service refused to sign in {app}.")

    def _clock_hint(self, response: httpx.Response, description: str) -> str:
        skew = _server_skew(response, self.clock())
        if skew is not None and abs(skew) > CLOCK_SKEW_WARNING:
            direction = "ahead of" if skew > 0 else "behind"
            return (
                f" This computer's clock is {_duration(abs(skew))} {direction} the identity "
                "service's: set the correct date, time and time zone and try again."
            )
        if _ABOUT_TIME.search(description):
            return (
                " The reason given concerns the request's validity period, which usually means "
                "this computer's clock is wrong: check its date, time and time zone."
            )
        return ""


_ABOUT_TIME = re.compile(
    r"(?i)\b(nbf|exp|iat|expired|not yet valid|lifetime|clock|skew|not before|issued at)\b"
)


def _json_object(response: httpx.Response, what: str, show_body: bool = True) -> dict[str, object]:
    try:
        value = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        value = None
    if not isinstance(value, dict):
        raise ProtocolError(
            f"The reply with {what} is not the JSON object it should be: "
            f"{describe_reply(response, show_body)}.",
            status=response.status_code,
        )
    return value


def _bad_token_reply(
    problem: str, reply: dict[str, object], response: httpx.Response
) -> ProtocolError:
    # The reply may hold a token: name its fields, never its values.
    return ProtocolError(
        f"The identity service's token reply has {problem}; it holds {_field_names(reply)}.",
        status=response.status_code,
    )


def _field_names(document: dict[str, object]) -> str:
    names = sorted(document)
    return "the fields " + ", ".join(names[:12]) if names else "no fields"


def _lifetime(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int | float) and 0 < value < 10 * 365 * 86400:
        return float(value)
    return None


def _server_skew(response: httpx.Response, now: float) -> float | None:
    """Our clock minus the server's, from its Date header; None if it sent none."""
    header = response.headers.get("Date")
    if not header:
        return None
    try:
        server = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    if server.tzinfo is None:
        server = server.replace(tzinfo=UTC)
    return now - server.timestamp()


def _duration(seconds: float) -> str:
    if seconds >= 5400:
        return f"about {seconds / 3600:.0f} hours"
    return f"about {max(1, round(seconds / 60))} minutes"
