"""The retries' sentences and counts at their edges: how often and how long, what is said
without a request or a deadline, and waits at exactly the patience (found by make mutate)."""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from opus_desktop.opus.errors import Failure, ServiceUnavailable
from opus_desktop.opus.http import DEADLINE
from opus_desktop.opus.retry import RetryPolicy, span, told

REQUEST = httpx.Request("POST", "https://opus.example.test:8443/records")
NOW = 1_750_000_000.0


def still(**options: object) -> RetryPolicy:
    """A policy whose clock stands still and whose sleeps do not wait."""
    options.setdefault("sleep", lambda _s: None)
    return RetryPolicy(clock=lambda: NOW, **options)  # type: ignore[arg-type]


def refused() -> httpx.Response:
    raise httpx.ConnectError("refused", request=REQUEST)


def test_the_address_keeps_its_port_and_a_request_less_error_still_reads() -> None:
    with pytest.raises(ServiceUnavailable) as caught:
        still(attempts=1).call(refused, "testing")
    assert caught.value.message.startswith("Nothing answers at https://opus.example.test:8443 ")
    assert caught.value.brief == "nothing answers at https://opus.example.test:8443"
    bare = httpx.ConnectError("refused")  # raised without a request
    assert told(bare, "testing") == (
        "Nothing answers at the service's address (no connection could be made) while "
        "testing: is the address right, is the service up?"
    )
    assert told(httpx.ReadTimeout("slow"), "testing") == (
        "the service took too long to answer while testing."
    )
    hostless = httpx.Request("GET", "/records")
    assert told(httpx.ReadTimeout("slow", request=hostless), "testing") == (
        "the service took too long to answer while testing."
    )


def test_a_timeout_names_the_deadline_when_the_call_had_one() -> None:
    timed = httpx.Request("GET", "https://opus.example.test/")
    timed.extensions[DEADLINE] = 30.0
    assert told(httpx.ConnectTimeout("x", request=timed), "testing") == (
        "Connecting to opus.example.test took too long (over 30 s) while testing."
    )
    assert told(httpx.ConnectTimeout("x", request=REQUEST), "testing") == (
        "Connecting to opus.example.test took too long while testing."
    )
    assert told(httpx.ReadTimeout("x", request=REQUEST), "testing", ", 3 times in a row") == (
        "opus.example.test took too long to answer while testing, 3 times in a row. Check the "
        "network connection and try again later."
    )


def test_an_unknown_name_and_an_untrusted_server_are_whole_sentences() -> None:
    import socket

    unknown = httpx.ConnectError("x", request=REQUEST)
    unknown.__cause__ = socket.gaierror(-2, "unknown")
    assert told(unknown, "testing", ", 2 times in a row") == (
        "The name opus.example.test is not known to this computer's network (DNS) while "
        "testing, 2 times in a row: is the address right, and is this computer on the network?"
    )
    untrusted = httpx.ConnectError("x", request=REQUEST)
    untrusted.__cause__ = ssl.SSLCertVerificationError()
    assert told(untrusted, "testing", ", 2 times in a row") == (
        "The server opus.example.test could not prove its identity (its TLS certificate is not "
        "trusted by this computer) while testing, 2 times in a row."
    )


def test_how_often_says_the_time_from_one_second_and_the_tries_below() -> None:
    policy = still(attempts=5, base=1.0, jitter=False)
    policy.listen(lambda *event: None, patience=2.5)
    with pytest.raises(ServiceUnavailable) as caught:
        policy.call(refused, "testing")
    assert ", 2 times in 1 s: " in caught.value.message
    assert caught.value.brief == "nothing answers at https://opus.example.test:8443"

    policy = still(attempts=5, base=0.5, jitter=False)
    policy.listen(lambda *event: None, patience=0.6)
    with pytest.raises(ServiceUnavailable) as caught:
        policy.call(refused, "testing")
    assert ", 2 times in a row: " in caught.value.message

    with pytest.raises(ServiceUnavailable) as caught:
        still(attempts=2).call(refused, "testing")
    assert caught.value.brief == "nothing answers at https://opus.example.test:8443"


def test_a_retry_after_exactly_the_patience_is_waited() -> None:
    slept: list[float] = []
    policy = still(attempts=2, sleep=slept.append)
    policy.listen(lambda *event: None, patience=30.0)
    replies = iter([httpx.Response(429, headers={"Retry-After": "30"}), httpx.Response(200)])
    assert policy.call(lambda: next(replies), "testing").status_code == 200
    assert slept == [30.0]


def test_the_time_throttled_attempts_take_counts_against_the_patience() -> None:
    now = [NOW]
    calls: list[int] = []

    def slow_429() -> httpx.Response:
        calls.append(1)
        now[0] += 3.0
        return httpx.Response(429, headers={"Retry-After": "1"}, request=REQUEST)

    policy = RetryPolicy(attempts=10, sleep=lambda _s: None, clock=lambda: now[0])
    policy.listen(lambda *event: None, patience=5.0)
    with pytest.raises(ServiceUnavailable):
        policy.call(slow_429, "testing")
    assert len(calls) == 2  # 3 s + 1 s waited + 3 s: a second wait would pass 5 s


def test_a_reply_without_retry_after_asks_for_no_wait() -> None:
    assert still().retry_after(httpx.Response(503)) is None
    assert (
        still(retry_after_cap=5.0).retry_after(httpx.Response(503, headers={"Retry-After": "60"}))
        == 5.0
    )


@pytest.fixture
def new_york() -> Iterator[None]:
    """A local time zone other than UTC for the test's length."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.mark.skipif(not hasattr(time, "tzset"), reason="time.tzset is POSIX")
def test_a_retry_after_date_without_a_zone_is_utc_whatever_the_local_zone(new_york: None) -> None:
    now = datetime(2026, 12, 6, 17, 0, 0, tzinfo=UTC).timestamp()
    header = format_datetime(datetime(2026, 12, 6, 17, 0, 10), usegmt=False)  # "-0000"
    policy = RetryPolicy(clock=lambda: now)
    asked = policy.retry_after(httpx.Response(503, headers={"Retry-After": header}))
    assert asked == 10.0  # read as New York time it would be five hours away


def test_spans_keep_a_decimal_below_ten_seconds_only() -> None:
    assert [span(s) for s in (9.5, 10.0, 10.5)] == ["9.5 s", "10 s", "10 s"]
    assert Failure.TIMEOUT.passes
