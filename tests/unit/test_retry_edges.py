"""Behaviour of the retry module that the main tests leave open (found by make mutate)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from opus_desktop.opus.errors import ServiceUnavailable
from opus_desktop.opus.retry import RetryPolicy

REQUEST = httpx.Request("POST", "https://opus.example/api")


def quiet(**kwargs: object) -> RetryPolicy:
    return RetryPolicy(jitter=False, sleep=lambda _s: None, **kwargs)  # type: ignore[arg-type]


def test_the_defaults_are_six_attempts_thirty_seconds_apart_at_most() -> None:
    policy = RetryPolicy()
    assert (policy.attempts, policy.base, policy.cap) == (6, 0.5, 30.0)
    assert policy.retry_after_cap == 120.0


def test_fewer_than_one_attempt_is_refused_in_one_sentence() -> None:
    with pytest.raises(ValueError) as caught:
        RetryPolicy(attempts=0)
    assert str(caught.value) == "attempts must be at least 1"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (429, "too many requests"),
        (502, "bad gateway"),
        (503, "service unavailable"),
        (504, "gateway timeout"),
    ],
)
def test_the_last_failure_names_the_status_in_words(code: int, words: str) -> None:
    policy = quiet(attempts=2)
    with pytest.raises(ServiceUnavailable) as caught:
        policy.call(lambda: httpx.Response(code, request=REQUEST), "sending 3 records")
    assert str(caught.value) == (
        f"The service answered HTTP {code} ({words}) while sending 3 records, 2 times in a "
        "row. Try again later."
    )


def test_each_retry_is_logged_with_its_wait_reason_status_and_work(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers = iter([httpx.Response(503, request=REQUEST), httpx.Response(200, request=REQUEST)])
    with caplog.at_level(logging.INFO, logger="opus_desktop.opus.retry"):
        quiet(attempts=3).call(lambda: next(answers), "sending 3 records")

    def broken() -> httpx.Response:
        raise httpx.ConnectError("refused", request=REQUEST)

    with (
        caplog.at_level(logging.INFO, logger="opus_desktop.opus.retry"),
        pytest.raises(ServiceUnavailable) as caught,
    ):
        quiet(attempts=2).call(broken, "signing in")
    assert [r.getMessage() for r in caplog.records] == [
        "Retrying in 0.5 s (unavailable, HTTP 503) while sending 3 records",
        "Retrying in 0.5 s (refused) while signing in",
    ]
    assert str(caught.value) == (
        "Nothing answers at https://opus.example (no connection could be made) while signing "
        "in, 2 times in a row: is the address right, is the service up?"
    )


def test_a_retry_after_date_without_a_zone_is_read_as_utc() -> None:
    now = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
    policy = quiet(clock=now.timestamp)
    header = format_datetime(datetime(2026, 12, 6, 12, 0, 10), usegmt=False)  # "-0000"
    reply = httpx.Response(503, headers={"Retry-After": header}, request=REQUEST)
    assert policy.retry_after(reply) == 10.0
