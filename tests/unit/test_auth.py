"""Signing in: discovery, the client assertion, token caching and renewal, refusals in words."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime as http_date
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import jwt
import pytest

from opus_desktop.opus.auth import TokenProvider
from opus_desktop.opus.certificate import Credential, load_certificate
from opus_desktop.opus.errors import (
    AuthError,
    CertificateError,
    ProtocolError,
    ServerError,
    ServiceUnavailable,
    SettingsError,
)
from opus_desktop.opus.retry import RetryPolicy
from tests.helpers.certs import SelfSignedCert, expired_certificate, make_certificate, rsa_key

IDENTITY = "https://identity.example.test"
TOKEN_URL = "https://identity.example.test/oauth/v2/token-here"
CLIENT_ID = "4f6b3c1e-0000-4000-8000-00000000c11e"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeClock:
    def __init__(self) -> None:
        self.now = float(int(time.time()))  # near real time, so PyJWT's checks pass

    def __call__(self) -> float:
        return self.now


class FakeIdentity:
    """An identity service on httpx.MockTransport; `token_reply` may be replaced per test."""

    def __init__(self, issuer: str = IDENTITY, token_endpoint: str = TOKEN_URL) -> None:
        self.issuer = issuer
        self.token_endpoint = token_endpoint
        self.discoveries = 0
        self.forms: list[dict[str, str]] = []
        self.issued: list[str] = []
        self.token_reply: Handler = self.good_token

    def good_token(self, request: httpx.Request) -> httpx.Response:
        value = f"token-{len(self.issued) + 1}"
        self.issued.append(value)
        return httpx.Response(
            200, json={"access_token": value, "expires_in": 3600, "token_type": "Bearer"}
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            self.discoveries += 1
            return httpx.Response(
                200,
                json={
                    "issuer": self.issuer,
                    "token_endpoint": self.token_endpoint,
                    "jwks_uri": f"{IDENTITY}/.well-known/jwks",
                    "grant_types_supported": ["client_credentials"],
                },
            )
        if str(request.url) == self.token_endpoint and request.method == "POST":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            self.forms.append(form)
            return self.token_reply(request)
        return httpx.Response(404, text="no such page")


@pytest.fixture(scope="module")
def cert() -> SelfSignedCert:
    return make_certificate("Opus Connector", "Contoso")


@pytest.fixture(scope="module")
def credential(cert: SelfSignedCert, tmp_path_factory: pytest.TempPathFactory) -> Credential:
    folder = tmp_path_factory.mktemp("cert")
    return load_certificate(pfx=cert.write_pfx(folder / "app.pfx", "pw"), password="pw")


@pytest.fixture
def identity() -> FakeIdentity:
    return FakeIdentity()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def no_sleep(seconds: float) -> None:
    pass


def provider(
    credential: Credential,
    handler: Handler,
    clock: Callable[[], float] = time.time,
    identity_url: str = IDENTITY,
) -> TokenProvider:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    retry = RetryPolicy(attempts=3, sleep=no_sleep, rng=lambda: 0.0)
    return TokenProvider(identity_url, CLIENT_ID, credential, http, clock=clock, retry=retry)


# -- the assertion ------------------------------------------------------------------------


def test_assertion_is_signed_by_the_certificate_with_the_right_claims(
    credential: Credential, cert: SelfSignedCert, identity: FakeIdentity, clock: FakeClock
) -> None:
    tokens = provider(credential, identity, clock)
    assert tokens.token() == "token-1"

    form = identity.forms[0]
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "records.readwrite.all"
    assert form["client_assertion_type"] == (
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )
    assertion = form["client_assertion"]

    header = jwt.get_unverified_header(assertion)
    assert header["alg"] == "RS256"
    assert header["kid"] == hashlib.sha1(cert.der).hexdigest().upper()
    expected_x5t = base64.urlsafe_b64encode(hashlib.sha1(cert.der).digest()).rstrip(b"=")
    assert header["x5t"] == expected_x5t.decode()

    claims = jwt.decode(
        assertion,
        cert.certificate.public_key(),  # type: ignore[arg-type]
        algorithms=["RS256"],
        audience=TOKEN_URL,
        issuer=CLIENT_ID,
    )
    assert claims["iss"] == CLIENT_ID
    assert claims["sub"] == CLIENT_ID
    assert claims["aud"] == TOKEN_URL  # exactly the discovered endpoint, not the identity URL
    assert uuid.UUID(claims["jti"]).version == 4
    # Dated a minute back, so a clock a little ahead of the service's is not refused.
    assert claims["iat"] == int(clock.now) - 60
    assert claims["nbf"] == int(clock.now) - 60
    assert 0 < claims["exp"] - claims["iat"] <= 600
    assert claims["exp"] == int(clock.now) + 300


def test_assertion_signed_with_another_key_does_not_verify(
    credential: Credential, identity: FakeIdentity
) -> None:
    provider(credential, identity).token()
    stranger = make_certificate("Stranger", None, key=rsa_key(1))
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            identity.forms[0]["client_assertion"],
            stranger.certificate.public_key(),  # type: ignore[arg-type]
            algorithms=["RS256"],
            audience=TOKEN_URL,
        )


def test_every_assertion_has_a_fresh_jti(
    credential: Credential, identity: FakeIdentity, clock: FakeClock
) -> None:
    tokens = provider(credential, identity, clock)
    for _ in range(3):
        tokens.token()
        clock.now += 4000
    jtis = [
        jwt.decode(f["client_assertion"], options={"verify_signature": False})["jti"]
        for f in identity.forms
    ]
    assert len(jtis) == 3 and len(set(jtis)) == 3


def test_a_retried_token_request_signs_a_new_assertion(
    credential: Credential, identity: FakeIdentity
) -> None:
    answers = iter([httpx.Response(503), None])

    def flaky(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        return answer if answer is not None else identity.good_token(request)

    identity.token_reply = flaky
    assert provider(credential, identity).token() == "token-1"
    assertions = [f["client_assertion"] for f in identity.forms]
    assert len(assertions) == 2 and assertions[0] != assertions[1]


# -- discovery ----------------------------------------------------------------------------


def test_token_endpoint_comes_from_discovery_and_discovery_is_cached(
    credential: Credential, identity: FakeIdentity, clock: FakeClock
) -> None:
    tokens = provider(credential, identity, clock)
    tokens.token()
    clock.now += 7200
    tokens.token()
    assert len(identity.forms) == 2
    assert identity.discoveries == 1
    assert tokens.discover().token_endpoint == TOKEN_URL


def test_issuer_with_a_trailing_slash_matches(credential: Credential) -> None:
    identity = FakeIdentity(issuer=IDENTITY + "/")
    assert provider(credential, identity).token() == "token-1"


def test_issuer_mismatch_is_refused(credential: Credential) -> None:
    identity = FakeIdentity(issuer="https://evil.example.test")
    with pytest.raises(AuthError) as caught:
        provider(credential, identity).token()
    assert caught.value.code == "issuer_mismatch"
    assert "https://evil.example.test" in caught.value.message
    assert identity.forms == []  # no assertion left the building


@pytest.mark.parametrize("url", ["http://identity.example.test", "http://10.0.0.5:8080"])
def test_plain_http_is_refused_for_other_hosts(credential: Credential, url: str) -> None:
    with pytest.raises(SettingsError, match="https"):
        provider(credential, FakeIdentity(), identity_url=url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]:8765"]
)
def test_plain_http_is_allowed_on_this_computer(credential: Credential, url: str) -> None:
    identity = FakeIdentity(issuer=url, token_endpoint=f"{url}/connect/token")
    assert provider(credential, identity, identity_url=url).token() == "token-1"


def test_discovered_token_endpoint_over_plain_http_is_refused(credential: Credential) -> None:
    identity = FakeIdentity(token_endpoint="http://identity.example.test/connect/token")
    with pytest.raises(SettingsError, match="token endpoint"):
        provider(credential, identity).token()
    assert identity.forms == []


def test_discovery_not_found_names_the_address(credential: Credential) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, html="<html><body>Not Found</body></html>")

    with pytest.raises(AuthError) as caught:
        provider(credential, handler).token()
    assert caught.value.code == "discovery_failed"
    assert IDENTITY in caught.value.message and "HTTP 404" in caught.value.message


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("<html>portal login</html>", "not the JSON object"),
        ("[1, 2]", "not the JSON object"),
        (json.dumps({"issuer": IDENTITY}), "no token endpoint"),
    ],
)
def test_unusable_discovery_document(credential: Credential, body: str, problem: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=body)

    with pytest.raises(ProtocolError, match=problem):
        provider(credential, handler).token()


# -- caching and renewal ------------------------------------------------------------------


def test_token_is_cached_and_renewed_five_minutes_before_expiry(
    credential: Credential, identity: FakeIdentity, clock: FakeClock
) -> None:
    tokens = provider(credential, identity, clock)
    start = clock.now
    assert tokens.token() == "token-1"
    assert tokens.expires_at == start + 3600
    assert tokens.seconds_left() == 3600

    clock.now = start + 3600 - 301
    assert tokens.token() == "token-1"
    assert tokens.seconds_left() == 301
    clock.now = start + 3600 - 299
    assert tokens.token() == "token-2"
    assert len(identity.forms) == 2
    assert tokens.expires_at == clock.now + 3600


def test_expires_in_from_the_reply_is_used(
    credential: Credential, identity: FakeIdentity, clock: FakeClock
) -> None:
    identity.token_reply = lambda r: httpx.Response(
        200, json={"access_token": "short", "expires_in": "1200", "token_type": "bearer"}
    )
    tokens = provider(credential, identity, clock)
    start = clock.now
    tokens.token()
    assert tokens.expires_at == start + 1200
    clock.now = start + 899
    tokens.token()
    assert len(identity.forms) == 1
    clock.now = start + 901
    tokens.token()
    assert len(identity.forms) == 2


def test_short_lived_tokens_are_renewed_at_half_life(
    credential: Credential, identity: FakeIdentity, clock: FakeClock
) -> None:
    identity.token_reply = lambda r: httpx.Response(
        200, json={"access_token": "brief", "expires_in": 240, "token_type": "Bearer"}
    )
    tokens = provider(credential, identity, clock)
    start = clock.now
    tokens.token()
    clock.now = start + 119
    tokens.token()
    assert len(identity.forms) == 1
    clock.now = start + 121
    tokens.token()
    assert len(identity.forms) == 2


def test_missing_expires_in_means_an_hour(
    credential: Credential, identity: FakeIdentity, clock: FakeClock
) -> None:
    identity.token_reply = lambda r: httpx.Response(
        200, json={"access_token": "t", "token_type": "Bearer"}
    )
    tokens = provider(credential, identity, clock)
    tokens.token()
    assert tokens.expires_at == clock.now + 3600


def test_nothing_known_before_the_first_token(credential: Credential) -> None:
    tokens = provider(credential, FakeIdentity())
    assert tokens.expires_at is None
    assert tokens.seconds_left() is None


def test_concurrent_callers_share_one_token_request(
    credential: Credential, identity: FakeIdentity
) -> None:
    entered = threading.Event()
    release = threading.Event()

    def slow(request: httpx.Request) -> httpx.Response:
        entered.set()
        release.wait(5)
        return identity.good_token(request)

    identity.token_reply = slow
    tokens = provider(credential, identity)
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        value = tokens.token()
        with lock:
            results.append(value)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    assert entered.wait(5)
    time.sleep(0.05)  # let the other seven pile up on the lock
    release.set()
    for thread in threads:
        thread.join(5)
    assert results == ["token-1"] * 8
    assert len(identity.forms) == 1


def test_invalidate_drops_only_the_current_token(
    credential: Credential, identity: FakeIdentity, clock: FakeClock
) -> None:
    tokens = provider(credential, identity, clock)
    first = tokens.token()
    tokens.invalidate(first)
    second = tokens.token()
    assert second == "token-2"
    tokens.invalidate(first)  # a late 401 for the old token: the new one stays
    assert tokens.token() == "token-2"
    assert len(identity.forms) == 2


def test_failed_early_renewal_keeps_the_valid_token(
    credential: Credential, identity: FakeIdentity, clock: FakeClock
) -> None:
    tokens = provider(credential, identity, clock)
    start = clock.now
    tokens.token()
    identity.token_reply = lambda r: httpx.Response(503)
    clock.now = start + 3600 - 200  # due for renewal, but still valid
    assert tokens.token() == "token-1"
    attempts = len(identity.forms)
    clock.now += 10  # the failure is not retried at every call
    assert tokens.token() == "token-1"
    assert len(identity.forms) == attempts
    clock.now = start + 3600 - 30  # too close to expiry: the failure shows
    with pytest.raises(ServiceUnavailable):
        tokens.token()


def test_expired_certificate_is_refused_before_any_request(tmp_path: Path) -> None:
    old = expired_certificate()
    credential = load_certificate(pfx=old.write_pfx(tmp_path / "old.pfx", "pw"), password="pw")
    identity = FakeIdentity()
    with pytest.raises(CertificateError, match="expired"):
        provider(credential, identity).token()
    assert identity.discoveries == 0 and identity.forms == []


# -- refusals -----------------------------------------------------------------------------


def refusal(error: str, description: str = "", headers: dict[str, str] | None = None) -> Handler:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return lambda request: httpx.Response(400, json=body, headers=headers)


def test_invalid_client_names_the_client_id_and_the_certificate(
    credential: Credential, identity: FakeIdentity
) -> None:
    identity.token_reply = refusal("invalid_client")
    with pytest.raises(AuthError) as caught:
        provider(credential, identity).token()
    error = caught.value
    assert error.code == "invalid_client"
    assert error.exit_code == 3
    assert CLIENT_ID in error.message
    assert credential.thumbprint in error.message
    assert "not registered" in error.message
    assert "App registrations" in error.message


def test_invalid_scope_names_the_permission(credential: Credential, identity: FakeIdentity) -> None:
    identity.token_reply = refusal("invalid_scope", "scope records.readwrite.all not allowed")
    with pytest.raises(AuthError, match=r"not been granted records\.readwrite\.all") as caught:
        provider(credential, identity).token()
    assert caught.value.code == "invalid_scope"
    assert caught.value.description == "scope records.readwrite.all not allowed"


def test_unauthorized_client(credential: Credential, identity: FakeIdentity) -> None:
    identity.token_reply = refusal("unauthorized_client")
    with pytest.raises(AuthError, match="not allowed to sign in with a certificate"):
        provider(credential, identity).token()


def test_validity_complaint_points_at_the_clock(
    credential: Credential, identity: FakeIdentity
) -> None:
    identity.token_reply = refusal("invalid_grant", "The token is not yet valid (nbf)")
    with pytest.raises(AuthError, match="clock is wrong") as caught:
        provider(credential, identity).token()
    assert "not yet valid" in caught.value.message


def test_unrelated_description_gets_no_clock_hint(
    credential: Credential, identity: FakeIdentity
) -> None:
    identity.token_reply = refusal("invalid_grant", "Unexpected expression in assertion")
    with pytest.raises(AuthError) as caught:
        provider(credential, identity).token()
    assert "clock" not in caught.value.message


def test_server_date_far_from_ours_is_named(
    credential: Credential, identity: FakeIdentity, clock: FakeClock
) -> None:
    server_time = http_date(datetime.fromtimestamp(clock.now - 1800, UTC), usegmt=True)
    identity.token_reply = refusal("invalid_client", headers={"Date": server_time})
    with pytest.raises(AuthError, match="about 30 minutes ahead of the identity service"):
        provider(credential, identity, clock).token()


def test_unknown_error_code_keeps_the_code(credential: Credential, identity: FakeIdentity) -> None:
    identity.token_reply = refusal("tenant_suspended", "Tenant is suspended")
    with pytest.raises(AuthError, match="Tenant is suspended") as caught:
        provider(credential, identity).token()
    assert caught.value.code == "tenant_suspended"


def test_temporarily_unavailable_is_a_service_problem(
    credential: Credential, identity: FakeIdentity
) -> None:
    identity.token_reply = refusal("temporarily_unavailable")
    with pytest.raises(ServiceUnavailable):
        provider(credential, identity).token()


def test_html_refusal_is_a_protocol_error(credential: Credential, identity: FakeIdentity) -> None:
    identity.token_reply = lambda r: httpx.Response(400, html="<html><h1>Bad gateway page</h1>")
    with pytest.raises(ProtocolError, match="without saying why") as caught:
        provider(credential, identity).token()
    assert "text/html" in caught.value.message and "Bad gateway page" in caught.value.message


def test_server_failure_at_the_identity_service(
    credential: Credential, identity: FakeIdentity
) -> None:
    identity.token_reply = lambda r: httpx.Response(500, text="boom")
    with pytest.raises(ServerError, match="HTTP 500"):
        provider(credential, identity).token()


def test_throttling_is_retried(credential: Credential, identity: FakeIdentity) -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "1"}), None])

    def busy(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        return answer if answer is not None else identity.good_token(request)

    identity.token_reply = busy
    assert provider(credential, identity).token() == "token-1"


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ({"access_token": "SECRET-TOKEN", "expires_in": 3600}, "token type None"),
        ({"access_token": "SECRET-TOKEN", "token_type": "mac"}, "token type 'mac'"),
        ({"access_token": "", "token_type": "Bearer"}, "no access token"),
        ({"token_type": "Bearer"}, "no access token"),
        (
            {"access_token": "SECRET-TOKEN", "token_type": "Bearer", "expires_in": "soon"},
            "lifetime",
        ),
        ({"access_token": "SECRET-TOKEN", "token_type": "Bearer", "expires_in": -5}, "lifetime"),
    ],
)
def test_unusable_token_reply_never_shows_the_token(
    credential: Credential, identity: FakeIdentity, reply: dict[str, object], problem: str
) -> None:
    identity.token_reply = lambda r: httpx.Response(200, json=reply)
    with pytest.raises(ProtocolError, match=problem) as caught:
        provider(credential, identity).token()
    assert "SECRET-TOKEN" not in caught.value.message


def test_token_reply_that_is_not_json_never_shows_its_body(
    credential: Credential, identity: FakeIdentity
) -> None:
    identity.token_reply = lambda r: httpx.Response(200, text="access_token=SECRET-TOKEN&x=1")
    with pytest.raises(ProtocolError) as caught:
        provider(credential, identity).token()
    assert "SECRET-TOKEN" not in caught.value.message
    assert "HTTP 200" in caught.value.message


def test_empty_client_id_is_refused(credential: Credential) -> None:
    http = httpx.Client(transport=httpx.MockTransport(FakeIdentity()))
    with pytest.raises(SettingsError, match="client id"):
        TokenProvider(IDENTITY, "  ", credential, http)
