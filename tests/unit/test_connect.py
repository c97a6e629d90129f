"""jobs.connect: a profile's connection and the step-by-step connection test, over MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from opus_desktop.jobs.connect import (
    STEPS,
    TEST_CONNECT_TIMEOUT,
    TEST_TIMEOUT,
    Step,
    certificate_warning,
    connect,
    password_needed,
    quick_retry,
    test_connection,
)
from opus_desktop.opus import (
    AuthError,
    CertificateError,
    Credential,
    ProtocolError,
    RetryPolicy,
    ServiceUnavailable,
    SettingsError,
    load_certificate,
)
from opus_desktop.profiles import Profile, ProfileError, save_profile
from tests.helpers.certs import expired_certificate, expiring_certificate, make_certificate

IDENTITY = "https://identity.example.com"
API = "https://graph-au.example.com"
CLIENT_ID = "3c9a1f6e-52d4-4b8e-a7c1-0e6f2d9b8a34"
CONNECTION_ID = "6f1c2a4e-3b7d-4e21-9a5c-0d8e7f6a1b2c"
TEMPLATE = Path(__file__).resolve().parents[2] / "opus_desktop/resources/demo/template.json"
Handler = Callable[[httpx.Request], httpx.Response]


def reply(status: int = 200, body: object = None, **headers: str) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


class FakeOpus:
    """The identity service and the connector API, answering from settable replies."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.token: Handler = lambda request: reply(
            200, {"access_token": "token-1", "expires_in": 3600, "token_type": "Bearer"}
        )
        self.due: Handler = lambda request: reply(
            200, {"message": "1 due records.", "startIndex": "", "queriedItems": [{"rowKey": "A"}]}
        )
        self.destroy: Handler = lambda request: reply(200, {"message": "ok", "failedItems": []})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return reply(200, {"issuer": IDENTITY, "token_endpoint": f"{IDENTITY}/connect/token"})
        if path == "/connect/token":
            return self.token(request)
        if path in ("/records/connector/records", "/api/connector/GetDueRecords"):
            if request.method == "DELETE":
                return self.destroy(request)
            return self.due(request)
        if path in ("/api/connector/DisposeRecords", "/api/custom/MarkDestroyed"):
            return self.destroy(request)
        return reply(404, {"message": "no such path"})

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    @property
    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]


@pytest.fixture
def fake() -> FakeOpus:
    return FakeOpus()


def pem_files(tmp_path: Path, days: float = 365, key_password: str | None = None) -> dict[str, Any]:
    cert, key = make_certificate(days=days).write_pem(
        tmp_path / "app.pem", tmp_path / "app.key", key_password=key_password
    )
    return {"cert_pem": str(cert), "key_pem": str(key)}


def saved_profile(tmp_path: Path, **changes: Any) -> Profile:
    settings: dict[str, Any] = {
        "name": "Test",
        "client_id": CLIENT_ID,
        "api_url": API,
        "identity_url": IDENTITY,
    }
    if "cert_pem" not in changes and "cert_pfx" not in changes:
        settings.update(pem_files(tmp_path))
    settings.update(changes)
    return save_profile(Profile(**settings), TEMPLATE)


def no_wait_retry(attempts: int = 4) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, sleep=lambda seconds: None)


def run_test(profile: Profile, fake: FakeOpus, password: str | None = None) -> list[Step]:
    return list(test_connection(profile, password, retry=no_wait_retry(), transport=fake.transport))


# -- the connection test ---------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["graph", "legacy"])
def test_every_step_passes_in_order(tmp_path: Path, fake: FakeOpus, protocol: str) -> None:
    path = "api/connector/DisposeRecords" if protocol == "legacy" else ""
    profile = saved_profile(tmp_path, protocol=protocol, destroy_path=path)

    steps = run_test(profile, fake)

    assert [step.name for step in steps] == list(STEPS)
    assert all(step.ok and not step.warning and step.error is None for step in steps)
    details = {step.name: step.detail for step in steps}
    assert details["Profile"] == f"{protocol} API at {API}, connection {CONNECTION_ID}"
    assert details["Certificate"].startswith("Opus Desktop Test (Contoso Records), valid until ")
    assert "(364 days left)" in details["Certificate"]
    assert details["Discovery"] == f"token endpoint {IDENTITY}/connect/token"
    assert details["Token"] == f"signed in as app {CLIENT_ID}; the token is valid for 60 minutes"
    assert details["Due records"] == "the service answered; 1 record on the first page"
    due = fake.requests[-1]
    if protocol == "graph":
        assert due.method == "GET" and due.url.params["itemsPerPage"] == "1"
        sent = datetime.fromisoformat(due.url.params["disposalDueDate"]).replace(tzinfo=UTC)
    else:
        body = json.loads(due.content)
        assert due.method == "POST" and body["itemsPerPage"] == 1
        sent = datetime.strptime(body["disposalDueDate"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - sent).total_seconds()) < 5  # before = now, as UTC


def test_steps_are_yielded_as_soon_as_they_are_known(tmp_path: Path, fake: FakeOpus) -> None:
    steps = test_connection(saved_profile(tmp_path), None, transport=fake.transport)
    seen: list[tuple[str, int]] = []
    for step in steps:
        seen.append((step.name, len(fake.requests)))
    # No request before the certificate is known good; then one request per step.
    assert seen == [
        ("Profile", 0),
        ("Certificate", 0),
        ("Discovery", 1),
        ("Token", 2),
        ("Due records", 3),
    ]


def test_the_test_uses_short_timeouts_and_a_quick_retry(tmp_path: Path, fake: FakeOpus) -> None:
    list(test_connection(saved_profile(tmp_path), None, transport=fake.transport))
    timeouts = fake.requests[0].extensions["timeout"]
    assert timeouts["connect"] == TEST_CONNECT_TIMEOUT == 2.0
    assert timeouts["read"] == TEST_TIMEOUT
    policy = quick_retry()
    waits = sum(min(policy.cap, policy.base * 2**n) for n in range(policy.attempts - 1))
    # An unreachable host: every attempt times out connecting, with the backoff between.
    assert policy.attempts * TEST_CONNECT_TIMEOUT + waits <= 10
    assert policy.retry_after_cap <= 2


def test_an_unreachable_service_stops_at_discovery(tmp_path: Path, fake: FakeOpus) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        fake.requests.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    steps = list(
        test_connection(
            saved_profile(tmp_path),
            None,
            retry=no_wait_retry(),
            transport=httpx.MockTransport(refuse),
        )
    )

    assert [(s.name, s.ok) for s in steps][-1] == ("Discovery", False)
    error = steps[-1].error
    assert isinstance(error, ServiceUnavailable) and error.exit_code == 4
    assert steps[-1].detail == error.message
    assert "Nothing answers at https://identity.example.com (no connection" in error.message
    assert len(fake.requests) == 4


def test_a_refused_sign_in_stops_at_the_token_step(tmp_path: Path, fake: FakeOpus) -> None:
    fake.token = lambda request: reply(
        400, {"error": "invalid_client", "error_description": "Unknown client."}
    )

    steps = run_test(saved_profile(tmp_path), fake)

    assert [(s.name, s.ok) for s in steps] == [
        ("Profile", True),
        ("Certificate", True),
        ("Discovery", True),
        ("Token", False),
    ]
    error = steps[-1].error
    assert isinstance(error, AuthError) and error.exit_code == 3
    assert steps[-1].detail.startswith(f"The identity service does not accept the app {CLIENT_ID}")
    assert fake.paths == ["/.well-known/openid-configuration", "/connect/token"]


def test_a_garbage_due_reply_fails_the_last_step(tmp_path: Path, fake: FakeOpus) -> None:
    fake.due = lambda request: httpx.Response(
        200, text="<html>Sign in</html>", headers={"Content-Type": "text/html"}
    )
    steps = run_test(saved_profile(tmp_path), fake)
    assert steps[-1].name == "Due records" and not steps[-1].ok
    assert isinstance(steps[-1].error, ProtocolError) and steps[-1].error.exit_code == 4
    assert "text/html" in steps[-1].detail


def test_nothing_due_still_passes(tmp_path: Path, fake: FakeOpus) -> None:
    fake.due = lambda request: httpx.Response(204)
    steps = run_test(saved_profile(tmp_path), fake)
    assert steps[-1].ok
    assert steps[-1].detail.startswith("the service answered; no record is due before ")


def test_a_full_first_page_says_more_follow(tmp_path: Path, fake: FakeOpus) -> None:
    fake.due = lambda request: reply(
        200, {"message": "", "startIndex": "c2", "queriedItems": [{"rowKey": "A"}]}
    )
    steps = run_test(saved_profile(tmp_path), fake)
    assert steps[-1].detail == "the service answered; 1 record on the first page (more follow)"


@pytest.mark.parametrize(
    ("expires_in", "words"),
    [(2, "2 seconds"), (1, "1 second"), (7200, "120 minutes"), (36000, "10 hours")],
)
def test_the_token_lifetime_in_words(
    tmp_path: Path, fake: FakeOpus, expires_in: int, words: str
) -> None:
    fake.token = lambda request: reply(
        200, {"access_token": "t", "expires_in": expires_in, "token_type": "Bearer"}
    )
    steps = run_test(saved_profile(tmp_path), fake)
    assert steps[3].detail.endswith(f"the token is valid for {words}")


def test_an_expired_certificate_is_refused_before_any_request(
    tmp_path: Path, fake: FakeOpus
) -> None:
    cert, key = expired_certificate(days_ago=3).write_pem(
        tmp_path / "old.pem", tmp_path / "old.key"
    )
    profile = saved_profile(tmp_path, cert_pem=str(cert), key_pem=str(key))

    steps = run_test(profile, fake)

    assert [(s.name, s.ok) for s in steps] == [("Profile", True), ("Certificate", False)]
    assert isinstance(steps[-1].error, CertificateError) and steps[-1].error.exit_code == 2
    assert "in old.pem expired on" in steps[-1].detail
    with pytest.raises(CertificateError, match="expired"):
        connect(profile, None, transport=fake.transport)
    assert fake.requests == []


def test_a_certificate_expiring_soon_warns(tmp_path: Path, fake: FakeOpus) -> None:
    profile = saved_profile(tmp_path, **pem_files(tmp_path, days=10.5))

    steps = run_test(profile, fake)

    assert steps[1].ok and steps[1].warning
    assert "expires in 10 days, on " in steps[1].detail
    assert "register it for the app" in steps[1].detail
    assert steps[-1].ok  # a warning does not stop the test
    with connect(profile, None, transport=fake.transport) as connection:
        assert connection.certificate_warning is not None
        assert "expires in 10 days" in connection.certificate_warning


def test_certificate_warning_only_within_thirty_days(tmp_path: Path) -> None:
    def loaded(days: float, name: str) -> Credential:
        pem, key = expiring_certificate(days=days).write_pem(
            tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
        )
        return load_certificate(cert_pem=pem, key_pem=key)

    now = datetime.now(UTC)
    assert certificate_warning(loaded(31, "far"), now) is None
    assert "expires in 29 days" in (certificate_warning(loaded(29.5, "near"), now) or "")
    assert "expires today" in (certificate_warning(loaded(0.5, "today"), now) or "")


def test_a_profile_without_its_template_fails_the_first_step(
    tmp_path: Path, fake: FakeOpus
) -> None:
    unsaved = Profile(
        name="Unsaved",
        client_id=CLIENT_ID,
        api_url=API,
        identity_url=IDENTITY,
        **pem_files(tmp_path),
    )
    steps = run_test(unsaved, fake)
    assert [(s.name, s.ok) for s in steps] == [("Profile", False)]
    assert isinstance(steps[0].error, ProfileError) and steps[0].error.exit_code == 2
    assert "has no connection template" in steps[0].detail
    assert fake.requests == []


def test_plain_http_to_another_host_is_a_profile_problem(tmp_path: Path, fake: FakeOpus) -> None:
    profile = saved_profile(tmp_path, api_url="http://graph-au.example.com")
    steps = run_test(profile, fake)
    assert [(s.name, s.ok) for s in steps] == [("Profile", False)]
    assert isinstance(steps[0].error, SettingsError)
    assert "uses http://" in steps[0].detail
    assert fake.requests == []


def test_tls_checks_turned_off_are_a_warning(tmp_path: Path, fake: FakeOpus) -> None:
    steps = run_test(saved_profile(tmp_path, verify_tls=False), fake)
    assert steps[0].ok and steps[0].warning
    assert "TLS certificate checks are turned off" in steps[0].detail


def test_a_step_hides_its_error_from_repr_and_equality() -> None:
    error = AuthError("no")
    step = Step("Token", False, "no", error=error)
    assert step == Step("Token", False, "no")
    assert "error" not in repr(step)
    with pytest.raises(AttributeError):
        step.ok = True  # type: ignore[misc]


# -- connect() -------------------------------------------------------------------------------------


def test_connect_wires_the_profile_into_the_client(tmp_path: Path, fake: FakeOpus) -> None:
    profile = saved_profile(
        tmp_path,
        protocol="legacy",
        destroy_path="api/custom/MarkDestroyed",
        date_format="dd-MM-yyyy h:mm:ss tt",
        proxy="",
    )
    with connect(profile, None, transport=fake.transport) as connection:
        client = connection.client
        assert connection.profile is profile
        assert client.connection_id == CONNECTION_ID
        assert client.api_url == API
        assert client.protocol.name == "legacy"
        assert connection.tokens.client_id == CLIENT_ID
        assert connection.tokens.identity_url == IDENTITY
        assert connection.credential.subject == "Opus Desktop Test (Contoso Records)"
        assert fake.requests == []  # nothing is sent until the first call
        client.due_page(datetime(2024, 4, 1, 13, 5, 9), per_page=5)
        assert json.loads(fake.requests[-1].content)["disposalDueDate"] == "01-04-2024 1:05:09 PM"
        client.destroy(["R1"])
        assert fake.requests[-1].url.path == "/api/custom/MarkDestroyed"
        assert connection.certificate_warning is None
    assert client.http.is_closed


def test_connect_refuses_a_wrong_password(tmp_path: Path, fake: FakeOpus) -> None:
    files = pem_files(tmp_path, key_password="right")
    profile = saved_profile(tmp_path, **files)
    with pytest.raises(
        CertificateError, match=r"password for the private key in app\.key is wrong"
    ):
        connect(profile, "wrong", transport=fake.transport)
    with connect(profile, "right", transport=fake.transport) as connection:
        assert connection.credential.path.name == "app.pem"


def test_password_needed(tmp_path: Path) -> None:
    plain = saved_profile(tmp_path)
    assert not password_needed(plain)
    encrypted = replace(plain, **pem_files(tmp_path, key_password="pw"))
    assert password_needed(encrypted)
    cert = make_certificate()
    protected = replace(
        plain, cert_pfx=str(cert.write_pfx(tmp_path / "p.pfx", "pw")), cert_pem=None, key_pem=None
    )
    assert password_needed(protected)
    open_pfx = replace(protected, cert_pfx=str(cert.write_pfx(tmp_path / "o.pfx", None)))
    assert not password_needed(open_pfx)
    missing = replace(plain, key_pem=str(tmp_path / "gone.key"))
    assert not password_needed(missing)  # the Certificate step says what is wrong instead


# -- a destroy call sent twice --------------------------------------------------------------------


def _flaky_destroy(fake: FakeOpus, first: Callable[[httpx.Request], httpx.Response]) -> None:
    calls: list[int] = []

    def destroy(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return first(request)
        return reply(
            200,
            {
                "statusCode": 200,
                "message": "1 of 2 records marked as destroyed.",
                "failedItems": [{"item": "R1", "message": "Record 'R1' is already destroyed."}],
            },
        )

    fake.destroy = destroy


def _lost(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.")


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize(
    ("first", "repeated"),
    [
        (_lost, True),  # the answer was lost: the first sending may have done the work
        (lambda request: reply(504, {"message": "gateway timeout"}), True),
        (_refused, False),  # never reached the service
        (lambda request: reply(429, {"message": "slow down"}, **{"Retry-After": "0"}), False),
    ],
)
def test_a_destroy_sent_again_marks_its_failures_doubtful(
    tmp_path: Path, fake: FakeOpus, first: Callable[[httpx.Request], httpx.Response], repeated: bool
) -> None:
    _flaky_destroy(fake, first)
    with connect(
        saved_profile(tmp_path), None, retry=no_wait_retry(), transport=fake.transport
    ) as c:
        result = c.client.destroy(["R1", "R2"])
    assert result.destroyed == ["R2"]
    assert list(result.failed) == ["R1"]
    assert result.repeated is repeated
    assert result.doubtful == (["R1"] if repeated else [])
    assert result.certain is not repeated
