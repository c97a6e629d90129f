"""One classification of failures (errors.Failure): what each error is, what waiting mends,
and the retry policy's listeners and patience that runs use instead of patching it."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable

import httpx
import pytest

from opus_desktop.opus.errors import (
    AuthError,
    CertificateError,
    Failure,
    InvalidRequest,
    ProtocolError,
    RequestRejected,
    ServerError,
    ServiceUnavailable,
    SettingsError,
)
from opus_desktop.opus.retry import RetryPolicy, exponential, transport_failure

REQUEST = httpx.Request("POST", "https://opus.example.org/records")


def caused(error: httpx.TransportError, cause: BaseException) -> httpx.TransportError:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (caused(httpx.ConnectError("x", request=REQUEST), ConnectionRefusedError()), "refused"),
        (httpx.ConnectError("no route", request=REQUEST), "refused"),
        (
            caused(httpx.ConnectError("x", request=REQUEST), socket.gaierror(-2, "?")),
            "name not found",
        ),
        (
            caused(httpx.ConnectError("x", request=REQUEST), ssl.SSLCertVerificationError("self")),
            "tls",
        ),
        (httpx.ReadTimeout("slow", request=REQUEST), "timeout"),
        (httpx.ConnectTimeout("slow", request=REQUEST), "timeout"),
        (httpx.ReadError("reset", request=REQUEST), "dropped"),
        (httpx.RemoteProtocolError("cut", request=REQUEST), "dropped"),
        (httpx.UnsupportedProtocol("ftp", request=REQUEST), "settings"),
    ],
)
def test_each_transport_failure_has_one_kind(error: httpx.TransportError, kind: str) -> None:
    assert transport_failure(error) == kind


def test_the_tls_failure_is_found_deep_in_the_cause_chain() -> None:
    inner = OSError("wrapped")
    inner.__context__ = ssl.SSLCertVerificationError("self-signed")
    assert transport_failure(caused(httpx.ConnectError("x", request=REQUEST), inner)) == "tls"


def test_errors_carry_their_kind() -> None:
    assert AuthError("no").kind is Failure.SIGN_IN
    assert SettingsError("no").kind is Failure.SETTINGS
    assert CertificateError("no").kind is Failure.SETTINGS
    assert InvalidRequest("no").kind is Failure.REJECTED
    assert RequestRejected("no").kind is Failure.REJECTED
    assert ServerError("no").kind is Failure.SERVER
    assert ServiceUnavailable("no", status=429).kind is Failure.THROTTLED
    assert ServiceUnavailable("no", status=503).kind is Failure.UNAVAILABLE
    assert ServiceUnavailable("no", kind=Failure.TLS).kind is Failure.TLS
    assert ProtocolError("no", status=404).kind is Failure.WRONG_ADDRESS
    assert ProtocolError("no", status=405).kind is Failure.WRONG_ADDRESS
    assert ProtocolError("no", status=200).kind is Failure.BAD_REPLY


def test_only_the_service_or_the_network_being_away_passes_with_time() -> None:
    passing = {kind for kind in Failure if kind.passes}
    assert passing == {
        Failure.REFUSED,
        Failure.NAME,
        Failure.TIMEOUT,
        Failure.DROPPED,
        Failure.THROTTLED,
        Failure.UNAVAILABLE,
        Failure.BAD_REPLY,
    }


def test_an_untrusted_server_is_told_at_once_with_its_kind() -> None:
    policy = RetryPolicy(sleep=lambda _s: None)
    error = caused(httpx.ConnectError("x", request=REQUEST), ssl.SSLCertVerificationError("s"))

    def send() -> httpx.Response:
        raise error

    with pytest.raises(ServiceUnavailable) as caught:
        policy.call(send, "submitting 15 records")
    assert caught.value.kind is Failure.TLS
    assert caught.value.message == (
        "The server opus.example.org could not prove its identity (its TLS certificate is "
        "not trusted by this computer) while submitting 15 records."
    )


def test_an_unknown_host_name_is_said_so() -> None:
    policy = RetryPolicy(attempts=2, sleep=lambda _s: None)
    error = caused(httpx.ConnectError("x", request=REQUEST), socket.gaierror(-2, "unknown"))

    def send() -> httpx.Response:
        raise error

    with pytest.raises(ServiceUnavailable) as caught:
        policy.call(send, "testing")
    assert caught.value.kind is Failure.NAME
    assert "The name opus.example.org is not known" in caught.value.message


class Throttling:
    """A service that answers 429 with Retry-After 10 every time."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> httpx.Response:
        self.calls += 1
        return httpx.Response(429, headers={"Retry-After": "10"}, request=REQUEST)


def test_listeners_hear_every_wait_until_they_stop_listening() -> None:
    heard: list[tuple[str, int | None, float]] = []
    policy = RetryPolicy(attempts=3, sleep=lambda _s: None)
    stop = policy.listen(lambda kind, status, delay: heard.append((kind, status, delay)))
    with pytest.raises(ServiceUnavailable):
        policy.call(Throttling(), "testing")
    assert heard == [("throttled", 429, 10.0), ("throttled", 429, 10.0)]
    stop()
    stop()  # twice is harmless
    with pytest.raises(ServiceUnavailable):
        policy.call(Throttling(), "testing")
    assert len(heard) == 2


def test_on_retry_is_heard_before_the_listeners() -> None:
    order: list[str] = []
    policy = RetryPolicy(
        attempts=2, sleep=lambda _s: None, on_retry=lambda *e: order.append("hook")
    )
    policy.listen(lambda *event: order.append("listener"))
    with pytest.raises(ServiceUnavailable):
        policy.call(Throttling(), "testing")
    assert order == ["hook", "listener"]


def test_patience_gives_up_before_the_waits_pass_it() -> None:
    slept: list[float] = []
    policy = RetryPolicy(attempts=6, sleep=slept.append)
    stop = policy.listen(lambda *event: None, patience=25.0)
    service = Throttling()
    with pytest.raises(ServiceUnavailable) as caught:
        policy.call(service, "submitting 15 records")
    assert slept == [10.0, 10.0]  # a third wait would make 30 s, past 25
    assert service.calls == 3
    assert caught.value.kind is Failure.THROTTLED and caught.value.status == 429
    assert "asked for a wait of 10 s" in caught.value.message
    stop()
    assert policy.patience() is None


def test_the_least_patience_of_the_listeners_counts() -> None:
    policy = RetryPolicy()
    policy.listen(lambda *event: None, patience=60.0)
    policy.listen(lambda *event: None, patience=5.0)
    policy.listen(lambda *event: None)
    assert policy.patience() == 5.0


def test_patience_bounds_the_backoff_after_connection_failures() -> None:
    slept: list[float] = []
    policy = RetryPolicy(attempts=10, jitter=False, sleep=slept.append)
    policy.listen(lambda *event: None, patience=3.0)

    def send() -> httpx.Response:
        raise caused(httpx.ConnectError("x", request=REQUEST), ConnectionRefusedError())

    with pytest.raises(ServiceUnavailable) as caught:
        policy.call(send, "testing")
    assert slept == [0.5, 1.0]  # then 2 s more would be 3.5 s in all
    assert caught.value.kind is Failure.REFUSED
    assert caught.value.message.endswith(
        "(the connection was refused) while testing, 3 times in 1.5 s: is the address right, is "
        "the service up?"
    )


def test_a_wait_that_reaches_the_patience_exactly_is_still_waited() -> None:
    slept: list[float] = []
    # A still clock: the attempts take no time, which counts against the patience too.
    policy = RetryPolicy(attempts=3, sleep=slept.append, clock=lambda: 1_750_000_000.0)
    policy.listen(lambda *event: None, patience=20.0)
    with pytest.raises(ServiceUnavailable) as caught:
        policy.call(Throttling(), "testing")
    assert slept == [10.0, 10.0]  # 20 s in all is not past 20
    assert "2 times" not in caught.value.message and "3 times in a row" in caught.value.message


def test_the_backoff_doubles_to_its_cap_and_jitters_above_its_floor() -> None:
    assert [exponential(n, 1.0, 10.0, None) for n in range(5)] == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert exponential(2, 1.0, 10.0, lambda: 0.0, floor=0.25) == 1.0  # a quarter of 4 s
    assert exponential(2, 1.0, 10.0, lambda: 1.0, floor=0.25) == 4.0
    assert exponential(2, 1.0, 10.0, lambda: 0.5, floor=0.25) == 2.5
    assert exponential(2, 1.0, 10.0, lambda: 0.5) == 2.0  # full jitter by default


def test_every_way_a_call_gives_up_keeps_its_kind() -> None:
    refused = caused(httpx.ConnectError("x", request=REQUEST), ConnectionRefusedError())
    untrusted = caused(httpx.ConnectError("x", request=REQUEST), ssl.SSLCertVerificationError())

    def failing(error: httpx.TransportError) -> Callable[[], httpx.Response]:
        def send() -> httpx.Response:
            raise error

        return send

    for error, kind in [(refused, Failure.REFUSED), (untrusted, Failure.TLS)]:
        with pytest.raises(ServiceUnavailable) as caught:
            RetryPolicy(attempts=2, sleep=lambda _s: None).call(failing(error), "testing")
        assert caught.value.kind is kind
        assert "while testing" in caught.value.message
    patient = RetryPolicy(attempts=5, jitter=False, sleep=lambda _s: None)
    patient.listen(lambda *event: None, patience=0.1)
    with pytest.raises(ServiceUnavailable) as caught:
        patient.call(failing(refused), "testing")
    assert caught.value.kind is Failure.REFUSED
    assert caught.value.message == (
        "Nothing answers at https://opus.example.org (the connection was refused) while "
        "testing: is the address right, is the service up?"
    )
