"""The identity service: OIDC discovery and the client-credentials token endpoint.

A client proves itself with a private_key_jwt assertion (RFC 7523) signed by a
certificate registered for its client id. Every check the real service makes is made
here, strictly, and a refusal follows RFC 6749 §5.2: HTTP 400 with
{"error": ..., "error_description": ...}. Access tokens are opaque random strings; the
tenant keeps only their SHA-256 digest and expiry.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from opus_desktop.sandbox.tenant import Tenant
from opus_desktop.sandbox.wire import Reply, Request

log = logging.getLogger(__name__)

SCOPE = "records.readwrite.all"
GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOCK_SKEW = 60
# AvePoint's own certificate sample signs assertions valid for an hour (register-app.md in
# AvePoint/cloud-api), so an hour is what the sandbox accepts.
MAX_ASSERTION_LIFETIME = 3600
_FORM_FIELDS = {"grant_type", "scope", "client_assertion_type", "client_assertion", "client_id"}


class Refusal(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def thumbprints(certificate: x509.Certificate) -> tuple[str, str]:
    """(SHA-1 thumbprint in upper-case hex, the same digest as base64url for x5t)."""
    digest = certificate.fingerprint(hashes.SHA1())  # the thumbprint Opus uses
    return digest.hex().upper(), base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Identity:
    """Discovery and token issuing for one sandbox; remembers what it issued for tests."""

    def __init__(self, tenant: Tenant, base_url: str, token_ttl: int) -> None:
        self.tenant = tenant
        self.issuer = f"{base_url}/identity"
        self.token_endpoint = f"{self.issuer}/connect/token"
        self.token_ttl = token_ttl
        self._lock = threading.Lock()
        self.issued_tokens: list[str] = []
        self.issued_assertions: list[str] = []  # accepted client assertions (whole JWTs)
        self.seen_jtis: list[str] = []

    def discovery(self, request: Request) -> Reply:
        return Reply.json(
            200,
            {
                "issuer": self.issuer,
                "token_endpoint": self.token_endpoint,
                "jwks_uri": f"{self.issuer}/.well-known/openid-configuration/jwks",
                "grant_types_supported": [GRANT_TYPE],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
                "scopes_supported": [SCOPE],
                "response_types_supported": ["token"],
            },
        )

    def jwks(self, request: Request) -> Reply:
        # Access tokens are opaque, so there is no signing key to publish.
        return Reply.json(200, {"keys": []})

    def token(self, request: Request) -> Reply:
        try:
            form = self._form(request)
            client_id = self._authenticate(form)
            if form.get("scope") != SCOPE:
                raise Refusal(
                    "invalid_scope", f"The scope must be {SCOPE!r}, not {form.get('scope', '')!r}."
                )
        except Refusal as refusal:
            log.debug("token refused: %s", refusal.description)
            return Reply.json(
                400,
                {"error": refusal.error, "error_description": refusal.description},
                {"Cache-Control": "no-store"},
            )
        access_token = secrets.token_urlsafe(32)
        self.tenant.add_token(token_digest(access_token), client_id, time.time() + self.token_ttl)
        with self._lock:
            self.issued_tokens.append(access_token)
        return Reply.json(
            200,
            {
                "access_token": access_token,
                "expires_in": self.token_ttl,
                "token_type": "Bearer",
                "scope": SCOPE,
            },
            {"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def check_bearer(self, authorization: str) -> str:
        """ "" when the Authorization header carries a live token, else why not."""
        scheme, _, token = authorization.partition(" ")
        if not authorization:
            return "The request has no access token (Authorization: Bearer ...)."
        if scheme.lower() != "bearer" or not token.strip():
            return "The Authorization header must be 'Bearer <access token>'."
        expires = self.tenant.token_expiry(token_digest(token.strip()))
        if expires is None:
            return "The access token is not valid."
        if expires <= time.time():
            return "The access token has expired."
        return ""

    # -- checks ---------------------------------------------------------------------------------

    def _form(self, request: Request) -> dict[str, str]:
        if request.media_type() != "application/x-www-form-urlencoded":
            raise Refusal(
                "invalid_request",
                "The token request must be form-encoded (application/x-www-form-urlencoded).",
            )
        try:
            pairs = parse_qsl(
                request.body.decode("utf-8"),
                keep_blank_values=True,
                strict_parsing=bool(request.body),
            )
        except ValueError:
            raise Refusal("invalid_request", "The token request's form cannot be read.") from None
        form = dict(pairs)
        if len(form) != len(pairs):
            raise Refusal(
                "invalid_request", "A parameter of the token request is given more than once."
            )
        unknown = sorted(set(form) - _FORM_FIELDS)
        if unknown:
            raise Refusal(
                "invalid_request",
                f"The token request has unknown parameters: {', '.join(unknown)}.",
            )
        if "grant_type" not in form:
            raise Refusal("invalid_request", "The token request has no grant_type.")
        if form["grant_type"] != GRANT_TYPE:
            raise Refusal("unsupported_grant_type", f"Only the {GRANT_TYPE} grant is supported.")
        return form

    def _authenticate(self, form: dict[str, str]) -> str:
        """The client id proven by the request's assertion, or a Refusal saying why not."""
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise Refusal("invalid_client", f"client_assertion_type must be {ASSERTION_TYPE!r}.")
        assertion = form.get("client_assertion", "")
        if not assertion:
            raise Refusal("invalid_client", "The token request has no client_assertion.")
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Refusal(
                "invalid_client", f"The client assertion is not a readable JWT ({exc})."
            ) from None
        if header.get("alg") != "RS256":
            raise Refusal(
                "invalid_client",
                f"The client assertion must be signed with RS256, not {header.get('alg')!r}.",
            )
        client_id = unverified.get("iss")
        if not isinstance(client_id, str) or not client_id:
            raise Refusal("invalid_client", "The client assertion has no issuer (iss).")
        if "client_id" in form and form["client_id"] != client_id:
            raise Refusal("invalid_client", "client_id differs from the assertion's issuer.")
        certificate = self._certificate(client_id, header)
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key=certificate.public_key(),  # type: ignore[arg-type]
                algorithms=["RS256"],
                options={
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise Refusal(
                "invalid_client",
                "The client assertion's signature does not match the registered certificate.",
            ) from None
        except jwt.PyJWTError as exc:
            raise Refusal("invalid_client", f"The client assertion is not valid ({exc}).") from None
        self._check_claims(client_id, claims)
        if not self.tenant.use_jti(claims["jti"], client_id):
            raise Refusal(
                "invalid_client",
                "The client assertion's id (jti) was used before; assertions cannot be replayed.",
            )
        with self._lock:
            self.issued_assertions.append(assertion)
            self.seen_jtis.append(claims["jti"])
        return client_id

    def _certificate(self, client_id: str, header: dict[str, Any]) -> x509.Certificate:
        registered = self.tenant.client_certificates(client_id)
        if not registered:
            raise Refusal(
                "invalid_client", f"No app is registered with the client id {client_id!r}."
            )
        kid, x5t = header.get("kid"), header.get("x5t")
        if kid is None and x5t is None:
            raise Refusal(
                "invalid_client", "The client assertion names no certificate (kid or x5t header)."
            )
        for pem in registered:
            certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
            hex_upper, b64 = thumbprints(certificate)
            if (kid is None or kid == hex_upper) and (x5t is None or x5t == b64):
                now = datetime.now(UTC)
                if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
                    raise Refusal(
                        "invalid_client",
                        "The registered certificate is not valid at this time (expired?).",
                    )
                return certificate
        raise Refusal(
            "invalid_client",
            f"The certificate in the assertion (kid {kid!r}) is not registered for this app.",
        )

    def _check_claims(self, client_id: str, claims: dict[str, Any]) -> None:
        now = time.time()
        if claims.get("sub") != client_id:
            raise Refusal(
                "invalid_client",
                "The client assertion's subject (sub) must equal its issuer (iss).",
            )
        if claims.get("aud") != self.token_endpoint:
            raise Refusal(
                "invalid_client",
                f"The client assertion's audience (aud) must be {self.token_endpoint!r}.",
            )
        times: dict[str, float] = {}
        for name in ("exp", "iat", "nbf"):
            value = claims.get(name)
            if value is None and name == "nbf":
                continue
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise Refusal(
                    "invalid_client", f"The client assertion needs a numeric {name} claim."
                )
            times[name] = float(value)
        if times["exp"] + CLOCK_SKEW < now:
            raise Refusal(
                "invalid_client", "The client assertion has expired (check the computer's clock)."
            )
        if times["iat"] - CLOCK_SKEW > now or times.get("nbf", now) - CLOCK_SKEW > now:
            raise Refusal(
                "invalid_client",
                "The client assertion is dated in the future (check the computer's clock).",
            )
        if not 0 < times["exp"] - times["iat"] <= MAX_ASSERTION_LIFETIME:
            raise Refusal(
                "invalid_client",
                "The client assertion must expire within 1 hour of being issued.",
            )
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise Refusal("invalid_client", "The client assertion has no id (jti).")
