"""Replies that are not the API's, told for what they are (with the first words of the body,
secrets removed), and the retries' limits: a deadline for the whole reply, a size limit,
a Retry-After longer than the patience, failures a run says are hopeless."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from opus_desktop.opus.auth import TokenProvider
from opus_desktop.opus.certificate import Credential, load_certificate
from opus_desktop.opus.client import OpusClient
from opus_desktop.opus.errors import (
    Failure,
    ProtocolError,
    RequestRejected,
    ServerError,
    ServiceUnavailable,
)
from opus_desktop.opus.http import MAX_REPLY_BYTES, make_http_client, snippet, too_large
from opus_desktop.opus.retry import RetryPolicy, span
from tests.helpers.certs import make_certificate
from tests.unit.test_client import API, CONNECTION, IDENTITY, Reply, Service

RECORD = {"rowKey": "A-1", "leafName": "First"}


@pytest.fixture(scope="module")
def credential(tmp_path_factory: pytest.TempPathFactory) -> Credential:
    folder = tmp_path_factory.mktemp("cert")
    pfx = make_certificate("Opus Connector", "Contoso").write_pfx(folder / "app.pfx", "pw")
    return load_certificate(pfx=pfx, password="pw")


@pytest.fixture
def connect(credential: Credential) -> Callable[..., tuple[OpusClient, Service]]:
    """A client over make_http_client (so the deadline and the size limit apply)."""

    def make(*replies: Reply, deadline: float = 30.0) -> tuple[OpusClient, Service]:
        service = Service(*replies)
        http = make_http_client(timeout=deadline, transport=httpx.MockTransport(service))
        retry = RetryPolicy(attempts=2, sleep=service.sleeps.append, rng=lambda: 0.0)
        tokens = TokenProvider(IDENTITY, "client-1", credential, http, retry=retry)
        return OpusClient(API, CONNECTION, tokens, http, retry=retry), service

    return make


def failure(client: OpusClient, kind: type[Exception] = ProtocolError) -> Exception:
    with pytest.raises(kind) as caught:
        client.submit([RECORD])
    return caught.value


def test_an_html_page_is_not_json_with_its_first_words_and_no_password(
    connect: Callable[..., tuple[OpusClient, Service]],
) -> None:
    page = "<html><body><h1>Sign in</h1><form>password=hunter2</form></body></html>"
    client, _ = connect(httpx.Response(200, text=page, headers={"Content-Type": "text/html"}))
    error = failure(client)
    assert str(error) == (
        "The service's reply to submitting 1 record is not JSON: HTTP 200 (text/html), starting "
        '"<html><body><h1>Sign in</h1><form>password=[removed]".'
    )
    assert error.kind is Failure.BAD_REPLY and error.exit_code == 4  # type: ignore[attr-defined]
    assert error.brief == "a reply that is not JSON"  # type: ignore[attr-defined]


def test_truncated_json_and_a_json_list_are_told_apart(
    connect: Callable[..., tuple[OpusClient, Service]],
) -> None:
    client, _ = connect(
        httpx.Response(200, text='{"statusCode": 201, "mess', headers={"Content-Type": "json"})
    )
    assert "is not JSON" in str(failure(client))
    client, _ = connect(httpx.Response(200, json=[{"message": "ok"}]))
    error = failure(client)
    assert "is a JSON list, not an object" in str(error)
    assert error.brief == "a reply that is a JSON list"  # type: ignore[attr-defined]


def test_a_redirect_says_where_it_points_without_its_secrets(
    connect: Callable[..., tuple[OpusClient, Service]],
) -> None:
    moved = httpx.Response(
        302, headers={"Location": "https://login.example.test/sso?token=abc123&next=%2F"}
    )
    client, _ = connect(moved)
    error = failure(client)
    assert str(error).startswith(
        "The service answered submitting 1 record with a redirect, which the Opus API never "
        "gives (HTTP 302 (no content type), a redirect to "
        "https://login.example.test/sso?token=[removed]&next=%2F with an empty body)."
    )
    assert "abc123" not in str(error) and error.kind is Failure.BAD_REPLY  # type: ignore[attr-defined]


def test_a_body_over_the_size_limit_is_cut_there_and_refused(
    connect: Callable[..., tuple[OpusClient, Service]],
) -> None:
    huge = b'{"message": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    client, service = connect(httpx.Response(200, content=huge))
    error = failure(client)
    assert str(error).startswith(
        "The service's reply to submitting 1 record is larger than 8 MB, far more than any "
        "Opus reply, so it was not read: HTTP 200 (no content type), larger than 8 MB, "
        'starting "{"message":…".'  # the cut word is left out: it might hide a secret
    )
    assert len(service.requests) == 1  # not sent again by the client


def test_the_size_limit_is_the_transport_s_and_a_smaller_reply_is_whole() -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"y" * int(request.url.params["size"]))

    with make_http_client(transport=httpx.MockTransport(reply), max_reply=1000) as http:
        whole = http.get("https://x.test/", params={"size": 1000})
        cut = http.get("https://x.test/", params={"size": 1001})
    assert (len(whole.content), too_large(whole)) == (1000, None)
    assert (len(cut.content), too_large(cut)) == (1000, 1000)
    assert MAX_REPLY_BYTES == 8 * 1024 * 1024


def test_a_500_with_a_stack_trace_is_the_service_failing_with_secrets_removed(
    connect: Callable[..., tuple[OpusClient, Service]],
) -> None:
    trace = (
        'Traceback (most recent call last):\n  File "api.py", line 12, in submit\n'
        "    check(headers['Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2ln'])\n"
        "ValueError: password=hunter2"
    )
    client, _ = connect(httpx.Response(500, text=trace))
    error = failure(client, ServerError)
    assert str(error).startswith(
        "The service failed while submitting 1 record (HTTP 500 (text/plain), starting "
        '"Traceback (most recent call last): File'
    )
    assert "hunter2" not in str(error) and "eyJzdWIi" not in str(error)
    assert error.kind is Failure.SERVER  # type: ignore[attr-defined]


def test_a_message_list_is_joined_and_a_nested_error_is_read(
    connect: Callable[..., tuple[OpusClient, Service]],
) -> None:
    client, _ = connect(httpx.Response(400, json={"message": ["Row 1 is bad.", "Row 2 too."]}))
    error = failure(client, RequestRejected)
    assert error.service_message == "Row 1 is bad. Row 2 too."  # type: ignore[attr-defined]

    nested = {"error": {"message": "The connection id is unknown.", "statusCode": 400}}
    client, _ = connect(httpx.Response(200, json=nested))
    error = failure(client, RequestRejected)
    assert error.service_message == "The connection id is unknown."  # type: ignore[attr-defined]

    client, _ = connect(httpx.Response(400, json={"statusCode": 400}))
    error = failure(client, RequestRejected)
    assert error.service_message == ""  # type: ignore[attr-defined]
    assert "it gave no reason" in str(error)


def test_an_answer_dripped_past_the_deadline_is_a_timeout(
    connect: Callable[..., tuple[OpusClient, Service]],
) -> None:
    def drip(request: httpx.Request) -> httpx.Response:
        def slowly() -> Iterator[bytes]:
            for byte in b'{"statusCode": 201, "message": "stored"}':
                time.sleep(0.02)
                yield bytes([byte])

        return httpx.Response(200, content=slowly())

    client, service = connect(drip, deadline=0.2)
    started = time.monotonic()
    error = failure(client, ServiceUnavailable)
    assert time.monotonic() - started < 10  # two tries of a fifth of a second each
    assert error.kind is Failure.TIMEOUT  # type: ignore[attr-defined]
    assert str(error).startswith(
        "graph-us.example.test did not give its whole answer within 0.2 s while submitting 1 "
        "record, 2 times in a row."
    )
    assert len(service.requests) == 2


# -- the retries' limits -------------------------------------------------------------------------

REQUEST = httpx.Request("POST", "https://opus.example.test/records")


def refused() -> httpx.Response:
    raise httpx.ConnectError("refused", request=REQUEST)


def test_a_failure_a_listener_calls_hopeless_is_not_retried() -> None:
    policy = RetryPolicy(attempts=5, sleep=lambda _s: None)
    stop = policy.listen(lambda *event: None, hopeless=lambda kind: kind is Failure.REFUSED)
    calls: list[int] = []

    def send() -> httpx.Response:
        calls.append(1)
        return refused()

    with pytest.raises(ServiceUnavailable) as caught:
        policy.call(send, "testing")
    assert len(calls) == 1 and caught.value.kind is Failure.REFUSED
    assert caught.value.message == (
        "Nothing answers at https://opus.example.test (no connection could be made) while "
        "testing: is the address right, is the service up?"
    )
    assert caught.value.brief == "nothing answers at https://opus.example.test"
    stop()
    calls.clear()
    with pytest.raises(ServiceUnavailable):
        policy.call(send, "testing")
    assert len(calls) == 5


def test_a_retry_after_longer_than_the_patience_gives_up_at_once_saying_the_wait() -> None:
    slept: list[float] = []
    policy = RetryPolicy(attempts=6, sleep=slept.append)
    policy.listen(lambda *event: None, patience=600.0)
    asked = httpx.Response(429, headers={"Retry-After": "100000"}, request=REQUEST)
    with pytest.raises(ServiceUnavailable) as caught:
        policy.call(lambda: asked, "submitting 15 records")
    assert slept == []
    assert caught.value.asked == 100000.0 and caught.value.kind is Failure.THROTTLED
    assert caught.value.message == (
        "The service answered HTTP 429 (too many requests) while submitting 15 records, and "
        "asked to wait 27 h 47 min before trying again (Retry-After), longer than the 10 min "
        "allowed without an answer. Try again after that."
    )
    assert caught.value.brief == "the service is busy (HTTP 429)"


def test_the_time_attempts_take_counts_against_the_patience() -> None:
    now = [0.0]
    slept: list[float] = []

    def slow_timeout() -> httpx.Response:
        now[0] += 5.0  # each attempt hangs until a 5 s deadline
        raise httpx.ReadTimeout("slow", request=REQUEST)

    policy = RetryPolicy(attempts=6, jitter=False, sleep=slept.append, clock=lambda: now[0])
    policy.listen(lambda *event: None, patience=12.0)
    with pytest.raises(ServiceUnavailable) as caught:
        policy.call(slow_timeout, "testing")
    assert slept == [0.5, 1.0]  # 5 + 0.5 + 5 + 1 + 5 s: a third wait would pass 12 s
    assert caught.value.kind is Failure.TIMEOUT
    assert "3 times in 16 s" in caught.value.message


def test_spans_are_short_words() -> None:
    assert [span(s) for s in (0.4, 5.0, 59, 119.6, 600, 7199, 7200, 100000)] == [
        "0.4 s",
        "5 s",
        "59 s",
        "2 min",
        "10 min",
        "2 h",
        "2 h",
        "27 h 47 min",
    ]


def test_a_snippet_of_a_long_text_leaves_out_the_word_the_cut_split() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    text = "ok " + " " * 990 + jwt + " and more"  # the cut falls inside the token
    told = snippet(text)
    assert told == "ok…" and "eyJ" not in told
    assert snippet("a" * 5000).startswith("a" * 200) and snippet("a" * 5000).endswith("…")
    started = time.monotonic()
    snippet("x" * 20_000_000)
    assert time.monotonic() - started < 5  # only the start is redacted (a hang guard)
