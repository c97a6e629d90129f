"""Behaviour of the auth module that the main tests leave open (found by make mutate)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime as http_date

import httpx
import pytest

from opus_desktop.opus.auth import TokenProvider, _field_names, _lifetime, require_secure_url
from opus_desktop.opus.certificate import Credential, load_certificate
from opus_desktop.opus.errors import (
    AuthError,
    ProtocolError,
    ServerError,
    ServiceUnavailable,
    SettingsError,
)
from tests.helpers.certs import SelfSignedCert, make_certificate
from tests.unit.test_auth import (
    CLIENT_ID,
    IDENTITY,
    TOKEN_URL,
    FakeClock,
    FakeIdentity,
    provider,
    refusal,
)


@pytest.fixture(scope="module")
def credential(tmp_path_factory: pytest.TempPathFactory) -> Credential:
    cert: SelfSignedCert = make_certificate("Opus Connector", "Contoso")
    folder = tmp_path_factory.mktemp("cert")
    return load_certificate(pfx=cert.write_pfx(folder / "app.pfx", "pw"), password="pw")


@pytest.fixture
def identity() -> FakeIdentity:
    return FakeIdentity()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_discovery_and_token_requests_ask_for_json(credential: Credential) -> None:
    inner = FakeIdentity()
    accepts: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        accepts.append((request.url.path, request.headers.get("Accept")))
        return inner(request)

    assert provider(credential, handler).token() == "token-1"
    assert accepts == [
        ("/.well-known/openid-configuration", "application/json"),
        ("/oauth/v2/token-here", "application/json"),
    ]


def test_signing_in_logs_the_client_id_and_the_lifetime(
    credential: Credential, identity: FakeIdentity, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="opus_desktop.opus.auth"):
        provider(credential, identity).token()
    messages = [r.getMessage() for r in caplog.records if r.name == "opus_desktop.opus.auth"]
    assert messages == [f"Signed in as app {CLIENT_ID}; token valid for 3600 s"]


def test_a_failed_early_renewal_is_logged_as_a_warning(
    credential: Credential,
    identity: FakeIdentity,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tokens = provider(credential, identity, clock)
    tokens.token()
    clock.now += 3600 - 200
    identity.token_reply = refusal("temporarily_unavailable")
    with caplog.at_level(logging.WARNING, logger="opus_desktop.opus.auth"):
        assert tokens.token() == "token-1"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["Token renewal failed; using the current token a little longer"]


def test_an_unavailable_identity_service_is_explained(
    credential: Credential, identity: FakeIdentity
) -> None:
    identity.token_reply = refusal("server_error")
    with pytest.raises(ServiceUnavailable) as caught:
        provider(credential, identity).token()
    assert str(caught.value) == (
        "The identity service is having trouble and could not sign the app in "
        "(server_error). Try again later."
    )


def test_a_token_reply_that_is_not_json_is_named_without_its_body(
    credential: Credential, identity: FakeIdentity
) -> None:
    identity.token_reply = lambda request: httpx.Response(200, text="secret-token-text")
    with pytest.raises(ProtocolError) as caught:
        provider(credential, identity).token()
    message = str(caught.value)
    assert message.startswith(
        "The reply with the identity service's token reply is not the JSON object it should be: "
    )
    assert "secret-token-text" not in message


def test_field_names_lists_at_most_twelve_sorted_fields() -> None:
    assert _field_names({}) == "no fields"
    assert _field_names({"b": 1, "a": 2}) == "the fields a, b"
    many = {f"f{i:02d}": i for i in range(14)}
    assert _field_names(many) == "the fields " + ", ".join(f"f{i:02d}" for i in range(12))


def test_a_lifetime_must_be_positive_and_below_ten_years() -> None:
    ten_years = 10 * 365 * 86400
    assert _lifetime(0) is None
    assert _lifetime(0.0) is None
    assert _lifetime(ten_years) is None
    assert _lifetime(ten_years - 1) == float(ten_years - 1)
    assert _lifetime(ten_years + 86400) is None
    assert _lifetime(10 * 366 * 86400 - 1) is None
    assert _lifetime(" 60 ") == 60.0
    assert _lifetime(True) is None
    assert _lifetime("soon") is None


APP = f"the app {CLIENT_ID}"


@pytest.mark.parametrize(
    ("code", "sentence"),
    [
        (
            "invalid_scope",
            f"The app {CLIENT_ID} has not been granted records.readwrite.all: add the "
            "permission in App registrations and grant it.",
        ),
        (
            "unauthorized_client",
            f"The app {CLIENT_ID} is not allowed to sign in with a certificate "
            "(client credentials): check its settings in App registrations.",
        ),
        ("invalid_grant", f"The identity service refused the signed sign-in request of {APP}."),
        ("invalid_request", f"The identity service found the sign-in request of {APP} malformed."),
        (
            "unsupported_grant_type",
            "The identity service does not offer sign-in by client credentials at this address.",
        ),
        ("access_denied", f"The identity service denied access to {APP}."),
        ("something_new", f"The identity service refused to sign in {APP}."),
    ],
)
def test_each_refusal_code_is_explained_in_one_exact_sentence(
    credential: Credential, identity: FakeIdentity, code: str, sentence: str
) -> None:
    identity.token_reply = refusal(code)
    with pytest.raises(AuthError) as caught:
        provider(credential, identity).token()
    assert str(caught.value) == f"{sentence} (identity service: {code})"
    assert caught.value.code == code
    assert caught.value.description == ""


def test_a_clock_ninety_minutes_ahead_is_named_in_hours(
    credential: Credential, identity: FakeIdentity, clock: FakeClock
) -> None:
    date = http_date(datetime.fromtimestamp(clock.now - 5400, UTC), usegmt=True)
    identity.token_reply = refusal("invalid_grant", headers={"Date": date})
    with pytest.raises(AuthError) as caught:
        provider(credential, identity, clock).token()
    assert str(caught.value) == (
        f"The identity service refused to sign in the app {CLIENT_ID}. This computer's clock is "
        "about 2 hours ahead of the identity service's: set the correct date, time and time "
        "zone and try again. (identity service: invalid_grant)"
    )


def test_a_clock_exactly_two_or_five_minutes_off_changes_nothing_or_only_the_hint(
    credential: Credential, identity: FakeIdentity, clock: FakeClock
) -> None:
    date = http_date(datetime.fromtimestamp(clock.now + 120, UTC), usegmt=True)
    identity.token_reply = refusal("invalid_grant", headers={"date": date})
    with pytest.raises(AuthError) as caught:
        provider(credential, identity, clock).token()
    assert str(caught.value) == (
        f"The identity service refused the signed sign-in request of {APP}. "
        "(identity service: invalid_grant)"
    )
    date = http_date(datetime.fromtimestamp(clock.now + 300, UTC), usegmt=True)
    identity.token_reply = refusal("invalid_grant", headers={"Date": date})
    with pytest.raises(AuthError) as caught:
        provider(credential, identity, clock).token()
    assert str(caught.value) == (
        f"The identity service refused the signed sign-in request of {APP}. This computer's "
        "clock is about 5 minutes behind the identity service's: set the correct date, time "
        "and time zone and try again. (identity service: invalid_grant)"
    )


def test_a_clock_fifty_minutes_ahead_is_named_in_minutes(
    credential: Credential, identity: FakeIdentity, clock: FakeClock
) -> None:
    date = http_date(datetime.fromtimestamp(clock.now - 3000, UTC), usegmt=True)
    identity.token_reply = refusal("invalid_grant", headers={"Date": date})
    with pytest.raises(AuthError) as caught:
        provider(credential, identity, clock).token()
    assert "This computer's clock is about 50 minutes ahead of" in str(caught.value)


def test_a_date_without_a_time_zone_counts_as_utc(
    credential: Credential, identity: FakeIdentity, clock: FakeClock
) -> None:
    naive = datetime.fromtimestamp(clock.now - 5400, UTC).strftime("%a, %d %b %Y %H:%M:%S -0000")
    identity.token_reply = refusal("invalid_grant", headers={"Date": naive})
    with pytest.raises(AuthError) as caught:
        provider(credential, identity, clock).token()
    assert "This computer's clock is about 2 hours ahead of" in str(caught.value)


def test_a_validity_complaint_gets_the_clock_hint_and_the_description(
    credential: Credential, identity: FakeIdentity
) -> None:
    identity.token_reply = refusal("invalid_client", "The token has expired.")
    with pytest.raises(AuthError) as caught:
        provider(credential, identity).token()
    assert str(caught.value) == (
        f"The identity service refused to sign in the app {CLIENT_ID}. The reason given "
        "concerns the request's validity period, which usually means this computer's clock "
        "is wrong: check its date, time and time zone. (identity service: invalid_client, "
        "The token has expired.)"
    )
    assert caught.value.description == "The token has expired."


def test_a_server_failure_and_a_silent_refusal_are_sentences_with_the_status(
    credential: Credential, identity: FakeIdentity
) -> None:
    identity.token_reply = lambda request: httpx.Response(503, text="down")
    with pytest.raises(ServiceUnavailable) as busy:
        provider(credential, identity).token()
    assert str(busy.value) == (
        "The service answered HTTP 503 (service unavailable) while signing in to the identity "
        "service, 3 times in a row. Try again later."
    )
    identity.token_reply = lambda request: httpx.Response(500, text="down")
    with pytest.raises(ServerError) as failed:
        provider(credential, identity).token()
    assert str(failed.value) == (
        "The identity service failed while signing the app in: "
        'HTTP 500 (text/plain), starting "down". Try again later.'
    )
    assert failed.value.status == 500
    identity.token_reply = lambda request: httpx.Response(403, json=["no"])
    with pytest.raises(ProtocolError) as silent:
        provider(credential, identity).token()
    assert str(silent.value) == (
        "The identity service refused the sign-in without saying why: "
        'HTTP 403 (application/json), starting "["no"]".'
    )
    assert silent.value.status == 403


def test_discovery_problems_are_full_sentences(credential: Credential) -> None:
    def document(body: str, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
        return lambda request: httpx.Response(status, text=body)

    with pytest.raises(AuthError) as wrong:
        provider(credential, document("nope", 404)).token()
    assert str(wrong.value) == (
        f"The identity service address {IDENTITY} does not look right: its configuration page "
        'answered HTTP 404 (text/plain), starting "nope", and its token address '
        f'{IDENTITY}/connect/token answered HTTP 404 (text/plain), starting "nope". Check the '
        "identity service address in the profile."
    )
    assert wrong.value.code == "discovery_failed"
    with pytest.raises(AuthError) as failing:
        provider(credential, document("broken", 500)).token()
    assert str(failing.value) == (
        f"The identity service address {IDENTITY} does not look right: its configuration page "
        'answered HTTP 500 (text/plain), starting "broken". Check the identity service address '
        "in the profile."
    )
    with pytest.raises(ProtocolError) as not_json:
        provider(credential, document("[]")).token()
    assert str(not_json.value).startswith(
        "The reply with the identity service's configuration is not the JSON object it should "
        'be: HTTP 200 (text/plain), starting "[]"'
    )
    assert not_json.value.status == 200
    with pytest.raises(ProtocolError) as no_issuer:
        provider(credential, document('{"token_endpoint": "x"}')).token()
    assert str(no_issuer.value) == (
        f"The identity service's configuration at {IDENTITY}/.well-known/openid-configuration "
        "has no issuer: it holds the fields token_endpoint."
    )
    assert no_issuer.value.status == 200
    with pytest.raises(ServiceUnavailable) as busy:
        provider(credential, document("busy", 503)).token()
    assert "while reading the identity service's configuration, 3 times" in str(busy.value)
    body = json.dumps({"issuer": IDENTITY, "token_endpoint": ""})
    with pytest.raises(ProtocolError, match="has no token endpoint: it holds the fields issuer, "):
        provider(credential, document(body)).token()
    body = json.dumps({"issuer": "https://other.example.test", "token_endpoint": TOKEN_URL})
    with pytest.raises(AuthError) as mismatch:
        provider(credential, document(body)).token()
    assert str(mismatch.value) == (
        f"The identity service at {IDENTITY} says it is https://other.example.test. Use that "
        "address as the identity service address, or check for a proxy that redirects the "
        "connection."
    )


def test_an_800_second_token_is_renewed_five_minutes_early_and_reports_zero_once_expired(
    credential: Credential, identity: FakeIdentity, clock: FakeClock
) -> None:
    identity.token_reply = lambda request: httpx.Response(
        200,
        json={"access_token": f"t{len(identity.forms)}", "expires_in": 800, "token_type": "bearer"},
    )
    tokens = provider(credential, identity, clock)
    assert tokens.token() == "t1"
    clock.now += 499
    assert tokens.token() == "t1"
    clock.now += 1
    assert tokens.token() == "t2"
    clock.now += 900
    assert tokens.seconds_left() == 0.0


def test_a_failed_renewal_with_exactly_a_minute_left_keeps_the_token(
    credential: Credential, identity: FakeIdentity, clock: FakeClock
) -> None:
    tokens = provider(credential, identity, clock)
    tokens.token()
    clock.now += 3600 - 60
    identity.token_reply = refusal("temporarily_unavailable")
    assert tokens.token() == "token-1"


def test_settings_problems_are_exact_sentences(credential: Credential) -> None:
    with pytest.raises(SettingsError) as empty:
        provider_for(credential, IDENTITY, " ")
    assert str(empty.value) == "The client id is empty: copy it from App registrations."
    with pytest.raises(SettingsError) as plain:
        provider_for(credential, "http://identity.example.test", CLIENT_ID)
    assert str(plain.value) == (
        "The identity service address http://identity.example.test uses http://, which would "
        "send credentials unencrypted: use https:// (plain http is only allowed for 127.0.0.1 "
        "and localhost)."
    )
    tokens = provider_for(credential, f" {IDENTITY}/ ", CLIENT_ID)
    assert tokens.identity_url == IDENTITY


def provider_for(credential: Credential, url: str, client_id: str) -> TokenProvider:
    http = httpx.Client(transport=httpx.MockTransport(FakeIdentity()))
    return TokenProvider(url, client_id, credential, http)


@pytest.mark.parametrize(
    "url", ["graph-us.example.test", "ftp://graph-us.example.test", "https://"]
)
def test_an_address_without_a_scheme_or_host_is_refused_naming_what_it_is(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        require_secure_url(url, "API URL")
    assert caught.value.message == (
        f"The API URL {url!r} must be a full address such as https://host."
    )
