"""Backoff, Retry-After and giving up, with a fake sleep: nothing here really waits."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime as http_date

import httpx
import pytest

from opus_desktop.opus.errors import ServiceUnavailable
from opus_desktop.opus.retry import RetryPolicy

NOW = 1_750_000_000.0
REQUEST = httpx.Request("POST", "https://graph-us.avepointonlineservices.com/records")


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.events: list[tuple[str, int | None, float]] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def on_retry(self, reason: str, status: int | None, delay: float) -> None:
        self.events.append((reason, status, delay))


def policy(rec: Recorder, **kwargs: object) -> RetryPolicy:
    options: dict[str, object] = {
        "sleep": rec.sleep,
        "on_retry": rec.on_retry,
        "rng": lambda: 1.0,
        "clock": lambda: NOW,
    }
    options.update(kwargs)
    return RetryPolicy(**options)  # type: ignore[arg-type]


def replies(*items: httpx.Response | Exception) -> tuple[Callable[[], httpx.Response], list[int]]:
    """A send function giving `items` in turn; the list counts the calls."""
    calls: list[int] = []

    def send() -> httpx.Response:
        item = items[len(calls)]
        calls.append(1)
        if isinstance(item, Exception):
            raise item
        return item

    return send, calls


def status(code: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(code, headers=headers, request=REQUEST)


def test_success_first_time_does_not_sleep() -> None:
    rec = Recorder()
    send, calls = replies(status(200))
    assert policy(rec).call(send, "testing").status_code == 200
    assert len(calls) == 1 and rec.sleeps == [] and rec.events == []


def test_backoff_doubles_up_to_the_cap_without_jitter() -> None:
    rec = Recorder()
    retry = policy(rec, jitter=False, base=0.5, cap=3.0)
    assert [retry.backoff(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_full_jitter_scales_the_ceiling() -> None:
    rec = Recorder()
    retry = policy(rec, rng=lambda: 0.25, base=1.0, cap=30.0)
    assert retry.backoff(3) == pytest.approx(2.0)  # 0.25 * 8


@pytest.mark.parametrize("code", [429, 502, 503, 504])
def test_retryable_statuses_are_retried(code: int) -> None:
    rec = Recorder()
    send, calls = replies(status(code), status(code), status(201))
    assert policy(rec).call(send, "testing").status_code == 201
    assert len(calls) == 3
    assert rec.sleeps == [0.5, 1.0]  # rng() = 1.0: the full ceiling each time
    reason = "throttled" if code == 429 else "unavailable"
    assert rec.events == [(reason, code, 0.5), (reason, code, 1.0)]


@pytest.mark.parametrize("code", [400, 401, 404, 418, 500])
def test_other_statuses_are_returned_at_once(code: int) -> None:
    rec = Recorder()
    send, calls = replies(status(code))
    assert policy(rec).call(send, "testing").status_code == code
    assert len(calls) == 1 and rec.sleeps == []


def test_retry_after_seconds_is_honoured() -> None:
    rec = Recorder()
    send, _ = replies(status(429, {"Retry-After": "7"}), status(200))
    policy(rec).call(send, "testing")
    assert rec.sleeps == [7.0]
    assert rec.events == [("throttled", 429, 7.0)]


def test_retry_after_http_date_is_honoured() -> None:
    rec = Recorder()
    when = http_date(datetime.fromtimestamp(NOW + 12, UTC), usegmt=True)
    send, _ = replies(status(503, {"Retry-After": when}), status(200))
    policy(rec).call(send, "testing")
    assert rec.sleeps == [pytest.approx(12.0)]


def test_retry_after_in_the_past_means_now() -> None:
    rec = Recorder()
    when = http_date(datetime.fromtimestamp(NOW - 60, UTC), usegmt=True)
    send, _ = replies(status(503, {"Retry-After": when}), status(200))
    policy(rec).call(send, "testing")
    assert rec.sleeps == [0.0]


def test_retry_after_is_capped() -> None:
    rec = Recorder()
    send, _ = replies(status(429, {"Retry-After": "86400"}), status(200))
    policy(rec, retry_after_cap=90.0).call(send, "testing")
    assert rec.sleeps == [90.0]


def test_unreadable_retry_after_falls_back_to_backoff() -> None:
    rec = Recorder()
    send, _ = replies(status(429, {"Retry-After": "soon-ish"}), status(200))
    policy(rec).call(send, "testing")
    assert rec.sleeps == [0.5]


def test_gives_up_after_the_attempts_with_a_sentence() -> None:
    rec = Recorder()
    send, calls = replies(*[status(503)] * 4)
    with pytest.raises(ServiceUnavailable) as caught:
        policy(rec, attempts=4).call(send, "submitting 3 records")
    assert len(calls) == 4
    assert len(rec.sleeps) == 3  # no wait after the last attempt
    assert caught.value.status == 503
    assert caught.value.exit_code == 4
    assert "HTTP 503" in caught.value.message
    assert "submitting 3 records" in caught.value.message
    assert "4 times" in caught.value.message


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (httpx.ConnectError("refused", request=REQUEST), "refused"),
        (httpx.ReadError("reset", request=REQUEST), "dropped"),
        (httpx.RemoteProtocolError("dropped", request=REQUEST), "dropped"),
        (httpx.ReadTimeout("slow", request=REQUEST), "timeout"),
        (httpx.ConnectTimeout("slow", request=REQUEST), "timeout"),
    ],
)
def test_connection_failures_are_retried(error: Exception, reason: str) -> None:
    rec = Recorder()
    send, calls = replies(error, status(200))
    assert policy(rec).call(send, "testing").status_code == 200
    assert len(calls) == 2
    assert rec.events == [(reason, None, 0.5)]


def test_connection_failures_that_last_become_service_unavailable() -> None:
    rec = Recorder()
    send, calls = replies(*[httpx.ConnectError("refused", request=REQUEST)] * 3)
    with pytest.raises(ServiceUnavailable) as caught:
        policy(rec, attempts=3).call(send, "asking for due records")
    assert len(calls) == 3
    assert caught.value.message == (
        "Nothing answers at https://graph-us.avepointonlineservices.com (no connection could "
        "be made) while asking for due records, 3 times in a row: is the address right, is the "
        "service up?"
    )
    assert caught.value.status is None
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_untrusted_tls_certificate_is_not_retried() -> None:
    rec = Recorder()
    error = httpx.ConnectError("verify failed", request=REQUEST)
    error.__cause__ = ssl.SSLCertVerificationError("self-signed certificate")
    send, calls = replies(error, status(200))
    with pytest.raises(ServiceUnavailable, match="TLS certificate is not trusted"):
        policy(rec).call(send, "signing in")
    assert len(calls) == 1 and rec.sleeps == []


def test_a_bad_scheme_is_not_retried() -> None:
    rec = Recorder()
    send, calls = replies(httpx.UnsupportedProtocol("ftp", request=REQUEST))
    with pytest.raises(ServiceUnavailable):
        policy(rec).call(send, "testing")
    assert len(calls) == 1


def test_a_single_attempt_never_sleeps() -> None:
    rec = Recorder()
    send, _ = replies(status(429, {"Retry-After": "5"}))
    with pytest.raises(ServiceUnavailable):
        policy(rec, attempts=1).call(send, "testing")
    assert rec.sleeps == []


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
