"""Signing in as AvePoint's public pages describe it (AvePoint/cloud-api, register-app.md):
the "Access Token URL" pasted as the identity address, the documented token endpoint when
discovery is not offered, an issuer written with another case or a trailing slash, and an
assertion dated a minute back against clock skew."""

from __future__ import annotations

import time
from urllib.parse import parse_qs

import httpx
import jwt
import pytest

from opus_desktop.opus.auth import TokenProvider, identity_address
from opus_desktop.opus.certificate import Credential, load_certificate
from opus_desktop.opus.errors import AuthError, ProtocolError
from opus_desktop.opus.retry import RetryPolicy
from tests.helpers.certs import make_certificate
from tests.unit.test_auth import CLIENT_ID, IDENTITY, FakeIdentity, Handler

DOCUMENTED = f"{IDENTITY}/connect/token"


@pytest.fixture(scope="module")
def credential(tmp_path_factory: pytest.TempPathFactory) -> Credential:
    folder = tmp_path_factory.mktemp("cert")
    pem, key = make_certificate().write_pem(folder / "app.crt", folder / "app.key")
    return load_certificate(cert_pem=pem, key_pem=key)


def provider(
    credential: Credential, handler: Handler, identity_url: str = IDENTITY
) -> TokenProvider:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    retry = RetryPolicy(attempts=2, sleep=lambda seconds: None, rng=lambda: 0.0)
    return TokenProvider(identity_url, CLIENT_ID, credential, http, retry=retry)


class NoDiscovery:
    """An identity service that offers no discovery document, only its token endpoint."""

    def __init__(self, status: int = 404, token_status: int = 200) -> None:
        self.status = status
        self.token_status = token_status
        self.seen: list[tuple[str, str]] = []
        self.forms: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, str(request.url)))
        if request.method == "POST" and str(request.url) == DOCUMENTED:
            self.forms.append({k: v[0] for k, v in parse_qs(request.content.decode()).items()})
            if self.token_status != 200:
                return httpx.Response(
                    self.token_status,
                    json={"error": "invalid_client", "error_description": "unknown app"},
                )
            return httpx.Response(
                200, json={"access_token": "t1", "expires_in": 3600, "token_type": "Bearer"}
            )
        return httpx.Response(self.status, text="not here")


@pytest.mark.parametrize(
    "pasted",
    [
        DOCUMENTED,
        DOCUMENTED + "/",
        f"{IDENTITY}/Connect/Token",
        f"  {IDENTITY}/connect/token  ",
        IDENTITY + "/",
        IDENTITY,
    ],
)
def test_the_access_token_url_pasted_as_the_identity_address_is_cut_back(
    credential: Credential, pasted: str
) -> None:
    assert identity_address(pasted) == IDENTITY
    identity = FakeIdentity()
    tokens = provider(credential, identity, identity_url=pasted)
    assert tokens.identity_url == IDENTITY
    assert tokens.token() == "token-1"
    assert identity.discoveries == 1  # asked at {identity}/.well-known/..., not below the token URL


@pytest.mark.parametrize(
    ("pasted", "address"),
    [
        ("https://id.example.test/tenantX/connect/token", "https://id.example.test/tenantX"),
        ("https://id.example.test/tenantX/", "https://id.example.test/tenantX"),
        ("https://id.example.test//connect/token", "https://id.example.test"),
        ("https://id.example.test/a /connect/token", "https://id.example.test/a "),
    ],
)
def test_only_slashes_are_cut_from_the_end(pasted: str, address: str) -> None:
    assert identity_address(pasted) == address


def test_an_address_that_only_contains_connect_token_is_kept() -> None:
    assert identity_address("https://id.example.test/connect/tokens") == (
        "https://id.example.test/connect/tokens"
    )
    assert identity_address("https://id.example.test/connect/token/x") == (
        "https://id.example.test/connect/token/x"
    )


@pytest.mark.parametrize("status", [400, 404, 405, 410])
def test_without_discovery_the_documented_token_endpoint_is_used(
    credential: Credential, status: int
) -> None:
    service = NoDiscovery(status)
    tokens = provider(credential, service)
    assert tokens.token() == "t1"
    found = tokens.discover()
    assert (found.token_endpoint, found.issuer, found.discovered) == (DOCUMENTED, IDENTITY, False)
    assert service.seen == [
        ("GET", f"{IDENTITY}/.well-known/openid-configuration"),
        ("POST", DOCUMENTED),
    ]
    claims = jwt.decode(service.forms[0]["client_assertion"], options={"verify_signature": False})
    assert claims["aud"] == DOCUMENTED  # the audience is the endpoint actually used


def test_a_discovered_endpoint_is_marked_discovered(credential: Credential) -> None:
    tokens = provider(credential, FakeIdentity(issuer=IDENTITY + "/"))
    found = tokens.discover()
    assert (found.issuer, found.discovered) == (IDENTITY + "/", True)


def test_a_missing_discovery_is_logged(
    credential: Credential, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="opus_desktop.opus.auth"):
        provider(credential, NoDiscovery(405)).token()
    assert (
        f"No identity configuration at {IDENTITY}/.well-known/openid-configuration (HTTP 405)"
        in caplog.messages
    )


def test_a_discovered_token_endpoint_that_is_missing_is_no_wrong_identity_address(
    credential: Credential,
) -> None:
    # Discovery worked, so a 404 from its token endpoint is the service's odd answer,
    # not a wrong identity address.
    identity = FakeIdentity()
    identity.token_reply = lambda request: httpx.Response(404, text="gone")
    with pytest.raises(ProtocolError) as odd:
        provider(credential, identity).token()
    assert str(odd.value).startswith("The identity service refused the sign-in without saying")


def test_without_discovery_a_refusal_is_still_explained(credential: Credential) -> None:
    with pytest.raises(AuthError) as refused:
        provider(credential, NoDiscovery(token_status=400)).token()
    assert refused.value.code == "invalid_client"
    assert "does not accept the app" in refused.value.message


@pytest.mark.parametrize("token_status", [404, 405])
def test_without_discovery_or_a_token_endpoint_the_address_is_wrong(
    credential: Credential, token_status: int
) -> None:
    with pytest.raises(AuthError) as wrong:
        provider(credential, NoDiscovery(token_status=token_status)).token()
    assert wrong.value.code == "discovery_failed"
    assert wrong.value.message.startswith(
        f"The identity service address {IDENTITY} does not look right: its configuration page "
        'answered HTTP 404 (text/plain), starting "not here", and its token address '
        f"{DOCUMENTED} answered HTTP {token_status} (application/json)"
    )


@pytest.mark.parametrize(
    "issuer",
    [
        IDENTITY + "/",
        IDENTITY.upper(),
        "HTTPS://Identity.Example.Test/",
    ],
)
def test_an_issuer_differing_only_by_case_or_a_slash_is_accepted(
    credential: Credential, issuer: str
) -> None:
    assert provider(credential, FakeIdentity(issuer=issuer)).token() == "token-1"


@pytest.mark.parametrize(
    ("base", "issuer"),
    [
        ("https://id.example.test/Identity", "https://id.example.test/identity/"),
        ("https://id.example.test/IdX", "https://id.example.test/IdX/"),  # only / is cut
    ],
)
def test_an_issuer_path_differing_only_by_case_or_a_slash_is_accepted(
    credential: Credential, base: str, issuer: str
) -> None:
    identity = FakeIdentity(issuer=issuer, token_endpoint=f"{base}/connect/token")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/.well-known/openid-configuration"):
            request.url = request.url.copy_with(path="/.well-known/openid-configuration")
        return identity(request)

    assert provider(credential, handler, identity_url=base).token() == "token-1"


@pytest.mark.parametrize(
    "issuer",
    [
        "https://identity.example.test/other",
        "https://identity.example.test:8443",
        "http://identity.example.test",
        "https://identity-gov.example.test",
        "https://identity.example.test:port",  # not a URL at all
    ],
)
def test_an_issuer_differing_otherwise_is_refused(credential: Credential, issuer: str) -> None:
    identity = FakeIdentity(issuer=issuer)
    with pytest.raises(AuthError) as refused:
        provider(credential, identity).token()
    assert refused.value.code == "issuer_mismatch"
    assert identity.forms == []


def test_the_assertion_is_dated_a_minute_back(credential: Credential) -> None:
    identity = FakeIdentity()
    before = int(time.time())
    provider(credential, identity).token()
    after = int(time.time())
    claims = jwt.decode(identity.forms[0]["client_assertion"], options={"verify_signature": False})
    assert before - 60 <= claims["iat"] <= after - 60
    assert claims["nbf"] == claims["iat"]
    assert claims["exp"] - claims["iat"] == 360  # five minutes ahead, a minute back
