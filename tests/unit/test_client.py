"""OpusClient against httpx.MockTransport: every request shape, reply shape and status."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
import truststore

from opus_desktop import __version__
from opus_desktop.opus.auth import TokenProvider
from opus_desktop.opus.certificate import Credential, load_certificate
from opus_desktop.opus.client import OpusClient
from opus_desktop.opus.errors import (
    AuthError,
    InvalidRequest,
    ProtocolError,
    RequestRejected,
    ServerError,
    ServiceUnavailable,
    SettingsError,
    TooManyRecords,
)
from opus_desktop.opus.http import describe_reply, make_http_client, redact
from opus_desktop.opus.retry import RetryPolicy
from tests.helpers.certs import make_certificate

IDENTITY = "https://identity.example.test"
API = "https://graph-us.example.test"
CONNECTION = "7d3f7a52-9c59-4b8e-9d0b-3e0f4a2b1c6d"
DUE = datetime(2024, 4, 1, 0, 59, 34)

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Service:
    """The identity service and the API behind one MockTransport.

    The API answers with `replies` in turn (the last one repeats); each may be a response,
    an exception to raise, or a function of the request.
    """

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0
        self.sleeps: list[float] = []
        self.retries: list[tuple[str, int | None, float]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "identity.example.test":
            return self.identity(request)
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return reply(request)

    def identity(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("openid-configuration"):
            return httpx.Response(
                200, json={"issuer": IDENTITY, "token_endpoint": f"{IDENTITY}/connect/token"}
            )
        self.tokens_issued += 1
        return httpx.Response(
            200,
            json={
                "access_token": f"token-{self.tokens_issued}",
                "expires_in": 3600,
                "token_type": "Bearer",
            },
        )

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> object:
        return json.loads(self.requests[index].content)


@pytest.fixture(scope="module")
def credential(tmp_path_factory: pytest.TempPathFactory) -> Credential:
    folder = tmp_path_factory.mktemp("cert")
    pfx = make_certificate("Opus Connector", "Contoso").write_pfx(folder / "app.pfx", "pw")
    return load_certificate(pfx=pfx, password="pw")


@pytest.fixture
def connect(credential: Credential) -> Callable[..., tuple[OpusClient, Service]]:
    def make(
        *replies: Reply, protocol: str = "graph", **options: object
    ) -> tuple[OpusClient, Service]:
        service = Service(*replies)
        http = httpx.Client(transport=httpx.MockTransport(service))
        retry = RetryPolicy(
            attempts=3,
            sleep=service.sleeps.append,
            rng=lambda: 0.0,
            on_retry=lambda *event: service.retries.append(event),
        )
        tokens = TokenProvider(IDENTITY, "client-1", credential, http, retry=retry)
        client = OpusClient(
            options.pop("api_url", API),  # type: ignore[arg-type]
            CONNECTION,
            tokens,
            http,
            protocol=protocol,
            retry=retry,
            **options,  # type: ignore[arg-type]
        )
        return client, service

    return make


Connect = Callable[..., tuple[OpusClient, Service]]


def records(*keys: str) -> list[dict[str, object]]:
    return [
        {
            "rowKey": key,
            "leafName": f"Record {key}",
            "timeCreated": "2024-01-02 03:04:05",
            "timeModified": "2024-01-02 03:04:05",
            "Number%20_Column": 3.5,
            "Multiple%20_Choice_%20_Column": [1, 3],
        }
        for key in keys
    ]


def graph(status: int, message: str = "OK", **extra: object) -> httpx.Response:
    return httpx.Response(status, json={"statusCode": status, "message": message, **extra})


# -- submit, Graph ------------------------------------------------------------------------


def test_submit_sends_the_documented_request(connect: Connect) -> None:
    client, service = connect(graph(201, "Records submitted."))
    result = client.submit(records("R1", "R2"))

    request = service.last
    assert request.method == "POST"
    assert str(request.url) == f"{API}/records/connector/records"
    assert request.headers["Authorization"] == "Bearer token-1"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.headers["User-Agent"] != ""
    assert service.body() == {
        "id": CONNECTION,
        "conflictOption": "Overwrite",
        "data": records("R1", "R2"),
    }
    assert result.message == "Records submitted."
    assert result.stored == ["R1", "R2"]
    assert result.failed == {} and result.unmatched == [] and result.certain


def test_conflict_option_is_normalised(connect: Connect) -> None:
    client, service = connect(graph(201))
    client.submit(records("R1"), conflict="skip")
    assert service.body()["conflictOption"] == "Skip"  # type: ignore[index]


def test_unknown_conflict_option_is_refused_before_sending(connect: Connect) -> None:
    client, service = connect(graph(201))
    with pytest.raises(InvalidRequest, match="Overwrite or Skip"):
        client.submit(records("R1"), conflict="Merge")
    assert service.requests == [] and service.tokens_issued == 0


def test_partial_failure_418_ties_each_failed_item_to_its_row_key(connect: Connect) -> None:
    failed_items = [
        "R1",
        {"Item": "R2", "Message": "Invalid value for Number Column."},
        {"item": {"rowKey": "R3", "leafName": "x"}, "message": "Term not found."},
        {"Item": json.dumps({"RowKey": "R4"}), "Message": "Name is required."},
        {"rowKey": "R5", "message": "Bad date."},
        {"Item": "not-a-key", "Message": "Something else."},
        {"Message": "No item at all."},
    ]
    reply = graph(418, "Some records failed.", failedItems=failed_items, extra={"ignored": 1})
    client, _ = connect(reply)
    keys = ("R1", "R2", "R3", "R4", "R5", "R6", "R7")
    result = client.submit(records(*keys))

    assert result.failed == {
        "R1": "Some records failed.",
        "R2": "Invalid value for Number Column.",
        "R3": "Term not found.",
        "R4": "Name is required.",
        "R5": "Bad date.",
    }
    assert result.stored == ["R6", "R7"]
    assert len(result.unmatched) == 2
    assert "not-a-key" in result.unmatched[0] and "Something else." in result.unmatched[0]
    assert result.unmatched[1] == "No item at all."
    assert not result.certain


def test_legacy_style_keys_are_read_in_any_case(connect: Connect) -> None:
    reply = httpx.Response(
        200, json={"Message": "Done", "FailedItems": [{"ITEM": "R2", "MESSAGE": "Nope"}]}
    )
    client, _ = connect(reply)
    result = client.submit(records("R1", "R2"))
    assert result.message == "Done"
    assert result.failed == {"R2": "Nope"}
    assert result.stored == ["R1"]


def test_418_without_failed_items_is_a_protocol_error(connect: Connect) -> None:
    client, _ = connect(graph(418, "Partially failed"))
    with pytest.raises(ProtocolError, match="418"):
        client.submit(records("R1"))


def test_418_with_an_empty_list_leaves_the_outcome_uncertain(connect: Connect) -> None:
    client, _ = connect(graph(418, "Partially failed", failedItems=[]))
    result = client.submit(records("R1", "R2"))
    assert not result.certain
    assert "Partially failed" in result.unmatched[0]


def test_failed_item_without_a_message_gets_a_sentence(connect: Connect) -> None:
    client, _ = connect(graph(418, "", failedItems=[{"Item": "R1"}]))
    result = client.submit(records("R1"))
    assert result.failed == {"R1": "The service gave no reason."}


def test_400_rejects_the_whole_request_with_the_services_message(connect: Connect) -> None:
    client, service = connect(graph(400, "The connection ID is invalid."))
    with pytest.raises(RequestRejected) as caught:
        client.submit(records("R1"))
    assert caught.value.service_message == "The connection ID is invalid."
    assert "The connection ID is invalid." in caught.value.message
    assert "submitting 1 record" in caught.value.message
    assert len(service.requests) == 1  # not retried


def test_400_without_a_message_describes_the_reply(connect: Connect) -> None:
    client, _ = connect(httpx.Response(400, html="<html><title>Bad Request</title></html>"))
    with pytest.raises(RequestRejected, match="gave no reason") as caught:
        client.submit(records("R1"))
    assert "text/html" in caught.value.message


def test_status_code_in_the_body_overrides_a_2xx(connect: Connect) -> None:
    reply = httpx.Response(200, json={"statusCode": 400, "message": "conflictOption is invalid"})
    client, _ = connect(reply)
    with pytest.raises(RequestRejected, match="conflictOption is invalid"):
        client.submit(records("R1"))


def test_500_is_not_retried(connect: Connect) -> None:
    client, service = connect(graph(500, "Object reference not set to an instance of an object."))
    with pytest.raises(ServerError) as caught:
        client.submit(records("R1"))
    assert len(service.requests) == 1 and service.sleeps == []
    assert isinstance(caught.value, ServiceUnavailable) and caught.value.exit_code == 4
    assert "Object reference" in caught.value.message


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried(connect: Connect, status: int) -> None:
    client, service = connect(httpx.Response(status, text="upstream"), graph(201))
    assert client.submit(records("R1")).stored == ["R1"]
    assert len(service.requests) == 2
    assert service.retries == [("unavailable", status, 0.0)]
    assert service.body(0) == service.body(1)  # the same payload again


def test_throttling_honours_retry_after_seconds(connect: Connect) -> None:
    client, service = connect(httpx.Response(429, headers={"Retry-After": "3"}), graph(201))
    client.submit(records("R1"))
    assert service.sleeps == [3.0]
    assert service.retries == [("throttled", 429, 3.0)]


def test_throttling_honours_retry_after_date(connect: Connect) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=20)
    header = soon.strftime("%a, %d %b %Y %H:%M:%S GMT")
    client, service = connect(httpx.Response(429, headers={"Retry-After": header}), graph(201))
    client.submit(records("R1"))
    assert len(service.sleeps) == 1 and 15 <= service.sleeps[0] <= 21


def test_throttling_that_does_not_stop_becomes_service_unavailable(connect: Connect) -> None:
    client, service = connect(httpx.Response(429))
    with pytest.raises(ServiceUnavailable, match="HTTP 429") as caught:
        client.submit(records("R1"))
    assert len(service.requests) == 3
    assert caught.value.status == 429


def test_dropped_connections_are_retried_then_reported(connect: Connect) -> None:
    client, service = connect(httpx.RemoteProtocolError("Server disconnected"))
    with pytest.raises(ServiceUnavailable, match="broke off") as caught:
        client.submit(records("R1"))
    assert len(service.requests) == 3
    assert "graph-us.example.test" in caught.value.message


def test_a_401_renews_the_token_once_and_retries(connect: Connect) -> None:
    client, service = connect(httpx.Response(401), graph(201))
    assert client.submit(records("R1")).stored == ["R1"]
    assert [r.headers["Authorization"] for r in service.requests] == [
        "Bearer token-1",
        "Bearer token-2",
    ]
    assert service.tokens_issued == 2


def test_a_second_401_is_an_auth_error(connect: Connect) -> None:
    refused = httpx.Response(
        401,
        headers={
            "WWW-Authenticate": 'Bearer error="invalid_token", '
            "error_description=\"The audience 'x' is invalid\""
        },
    )
    client, service = connect(refused)
    with pytest.raises(AuthError) as caught:
        client.submit(records("R1"))
    assert len(service.requests) == 2 and service.tokens_issued == 2
    assert caught.value.code == "token_refused" and caught.value.exit_code == 3
    assert "audience 'x' is invalid" in caught.value.message


def test_403_is_an_auth_error(connect: Connect) -> None:
    client, _ = connect(httpx.Response(403, json={"message": "Forbidden"}))
    with pytest.raises(AuthError, match=r"records\.readwrite\.all") as caught:
        client.submit(records("R1"))
    assert caught.value.code == "forbidden"


@pytest.mark.parametrize("status", [404, 405])
def test_wrong_address_points_at_the_settings(connect: Connect, status: int) -> None:
    client, _ = connect(httpx.Response(status, html="<h1>Not Found</h1>"))
    with pytest.raises(ProtocolError, match="Check the API URL") as caught:
        client.submit(records("R1"))
    assert f"{API}/records/connector/records" in caught.value.message


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            httpx.Response(200, html="<!DOCTYPE html><html><body>Sign in to continue"),
            "text/html",
        ),
        (
            httpx.Response(200, content=b"{not json", headers={"Content-Type": "application/json"}),
            "is not JSON",
        ),
        (httpx.Response(200, json=[{"message": "ok"}]), "JSON list, not an object"),
        (httpx.Response(201, json={"statusCode": 201}), "no message"),
        (httpx.Response(201, json={"message": 42}), "message that is a number"),
        (httpx.Response(418, json={"message": "x", "failedItems": "R1"}), "failedItems that is"),
        (httpx.Response(204), "is empty"),
        (httpx.Response(302, headers={"Location": "https://login.example.test"}), "HTTP 302"),
        (httpx.Response(409, text="conflict"), "HTTP 409"),
    ],
)
def test_garbage_replies_are_protocol_errors(
    connect: Connect, reply: httpx.Response, expected: str
) -> None:
    client, _ = connect(reply)
    with pytest.raises(ProtocolError, match=expected) as caught:
        client.submit(records("R1"))
    assert caught.value.exit_code == 4


def test_protocol_error_quotes_the_start_of_the_reply(connect: Connect) -> None:
    page = "<html><body>" + "Maintenance tonight. " * 40 + "</body></html>"
    client, _ = connect(httpx.Response(200, html=page))
    with pytest.raises(ProtocolError) as caught:
        client.submit(records("R1"))
    message = caught.value.message
    assert "HTTP 200 (text/html)" in message
    assert "<html><body>Maintenance tonight." in message
    assert len(message) < 500


def test_more_than_fifteen_records_are_refused_without_any_request(connect: Connect) -> None:
    client, service = connect(graph(201))
    with pytest.raises(TooManyRecords, match="at most 15") as caught:
        client.submit(records(*[f"R{n}" for n in range(16)]))
    assert isinstance(caught.value, ValueError)
    assert service.requests == [] and service.tokens_issued == 0
    client.submit(records(*[f"R{n}" for n in range(15)]))
    assert len(service.requests) == 1


@pytest.mark.parametrize(
    ("batch", "expected"),
    [
        ([], "no records"),
        ([{"leafName": "no key"}], "no row key"),
        ([{"rowKey": "   "}], "no row key"),
        ([{"rowKey": 5}], "no row key"),
        ([{"rowKey": "A"}, {"rowKey": "A"}], "appears twice"),
        ([{"rowKey": "A", "timeCreated": datetime(2024, 1, 1)}], "column timeCreated"),
        ([{"rowKey": "A", "Number": float("nan")}], "column Number"),
    ],
)
def test_bad_batches_are_refused_before_sending(
    connect: Connect, batch: list[dict[str, object]], expected: str
) -> None:
    client, service = connect(graph(201))
    with pytest.raises(InvalidRequest, match=expected):
        client.submit(batch)
    assert service.requests == []


def test_text_is_sent_as_utf8(connect: Connect) -> None:
    client, service = connect(graph(201))
    client.submit([{"rowKey": "Ä-1", "leafName": "Café – 東京"}])
    assert "Café – 東京".encode() in service.last.content


# -- due records, Graph -------------------------------------------------------------------


def test_due_page_sends_the_documented_query(connect: Connect) -> None:
    reply = httpx.Response(
        200,
        json={
            "statusCode": 200,
            "message": "Found 2",
            "startIndex": "cursor-2",
            "queriedItems": [
                {"rowKey": "R1", "leafName": " Letter ", "timeCreated": "2020-01-01 10:00:00 "},
                {
                    "rowKey": "R2",
                    "Count": 3,
                    "Ratio": 2.5,
                    "Whole": 4.0,
                    "People": ["a@x", "b@x"],
                    "Empty": None,
                    "Flag": True,
                },
            ],
        },
    )
    client, service = connect(reply)
    page = client.due_page(DUE)

    request = service.last
    assert request.method == "GET"
    assert request.url.path == "/records/connector/records"
    assert dict(request.url.params) == {
        "id": CONNECTION,
        "disposalDueDate": "2024-04-01T00:59:34",
        "startIndex": "",
        "itemsPerPage": "100",
    }
    assert request.content == b""
    assert page.message == "Found 2"
    assert page.next_start == "cursor-2"
    assert page.items == [
        {"rowKey": "R1", "leafName": "Letter", "timeCreated": "2020-01-01 10:00:00"},
        {
            "rowKey": "R2",
            "Count": "3",
            "Ratio": "2.5",
            "Whole": "4",
            "People": "a@x; b@x",
            "Empty": "",
            "Flag": "true",
        },
    ]


def test_due_page_passes_the_continuation_token_and_page_size(connect: Connect) -> None:
    client, service = connect(httpx.Response(200, json={"message": "", "queriedItems": []}))
    client.due_page(DUE, start="cursor-2", per_page=15)
    assert service.last.url.params["startIndex"] == "cursor-2"
    assert service.last.url.params["itemsPerPage"] == "15"


def test_due_date_with_a_time_zone_is_sent_in_utc(connect: Connect) -> None:
    client, service = connect(httpx.Response(204))
    client.due_page(datetime(2024, 4, 1, 10, 0, 0, tzinfo=timezone(timedelta(hours=10))))
    assert service.last.url.params["disposalDueDate"] == "2024-04-01T00:00:00"


def test_nothing_due_is_a_204(connect: Connect) -> None:
    client, _ = connect(httpx.Response(204))
    page = client.due_page(DUE)
    assert page.items == [] and page.next_start is None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"startIndex": ""}, None),
        ({"startIndex": None}, None),
        ({}, None),
        ({"pageIndex": 2}, "2"),
        ({"PageIndex": "p3"}, "p3"),
        ({"pageIndex": "", "startIndex": "s9"}, "s9"),
    ],
)
def test_next_page_token(connect: Connect, fields: dict[str, object], expected: str | None) -> None:
    body = {"message": "m", "queriedItems": [{"rowKey": "R1"}], **fields}
    client, _ = connect(httpx.Response(200, json=body))
    assert client.due_page(DUE).next_start == expected


def test_an_empty_page_ends_the_paging(connect: Connect) -> None:
    body = {"message": "m", "queriedItems": [], "startIndex": "again"}
    client, _ = connect(httpx.Response(200, json=body))
    assert client.due_page(DUE).next_start is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"message": "ok"}, "no queriedItems"),
        ({"message": "ok", "queriedItems": {"rowKey": "R1"}}, "queriedItems that is a JSON object"),
        ({"message": "ok", "queriedItems": ["R1"]}, "item 1 that is a text"),
    ],
)
def test_unusable_due_replies(connect: Connect, body: dict[str, object], expected: str) -> None:
    client, _ = connect(httpx.Response(200, json=body))
    with pytest.raises(ProtocolError, match=expected):
        client.due_page(DUE)


@pytest.mark.parametrize("per_page", [0, 101, -1, True, 2.5])
def test_page_size_must_be_1_to_100(connect: Connect, per_page: object) -> None:
    client, service = connect(httpx.Response(204))
    with pytest.raises(InvalidRequest, match="1 to 100"):
        client.due_page(DUE, per_page=per_page)  # type: ignore[arg-type]
    assert service.requests == []


# -- destroy, Graph -----------------------------------------------------------------------


def test_destroy_sends_delete_with_the_row_keys(connect: Connect) -> None:
    client, service = connect(graph(200, "Records destroyed."))
    result = client.destroy(["R1", "R2"])
    assert service.last.method == "DELETE"
    assert str(service.last.url) == f"{API}/records/connector/records"
    assert service.body() == {"disposalIds": ["R1", "R2"]}
    assert result.destroyed == ["R1", "R2"] and result.failed == {} and result.certain
    assert result.message == "Records destroyed."


def test_destroy_failures_as_bare_row_keys(connect: Connect) -> None:
    client, _ = connect(graph(418, "Records are on hold.", failedItems=["R2"]))
    result = client.destroy(["R1", "R2", "R3"])
    assert result.destroyed == ["R1", "R3"]
    assert result.failed == {"R2": "Records are on hold."}


def test_destroy_failures_as_objects(connect: Connect) -> None:
    body = {"message": "Done", "failedItems": [{"Item": "R1", "Message": "Not due yet."}]}
    client, _ = connect(httpx.Response(200, json=body))
    result = client.destroy(["R1", "R2"])
    assert result.failed == {"R1": "Not due yet."} and result.destroyed == ["R2"]


def test_destroy_failure_naming_an_unknown_key_is_unmatched(connect: Connect) -> None:
    client, _ = connect(graph(418, "Failed", failedItems=["R9"]))
    result = client.destroy(["R1"])
    assert result.destroyed == ["R1"] and not result.certain
    assert "R9" in result.unmatched[0]


def test_destroy_204_means_all_destroyed(connect: Connect) -> None:
    client, _ = connect(httpx.Response(204))
    assert client.destroy(["R1"]).destroyed == ["R1"]


@pytest.mark.parametrize(
    ("keys", "error", "expected"),
    [
        ([f"R{n}" for n in range(16)], TooManyRecords, "at most 15"),
        ([], InvalidRequest, "no records"),
        (["R1", "R1"], InvalidRequest, "twice"),
        (["R1", ""], InvalidRequest, "not a row key"),
    ],
)
def test_bad_destroy_calls_are_refused_before_sending(
    connect: Connect, keys: list[str], error: type[Exception], expected: str
) -> None:
    client, service = connect(graph(200))
    with pytest.raises(error, match=expected):
        client.destroy(keys)
    assert service.requests == []


def test_a_single_string_is_one_row_key(connect: Connect) -> None:
    client, service = connect(graph(200))
    client.destroy("R1")  # type: ignore[arg-type]
    assert service.body() == {"disposalIds": ["R1"]}


# -- legacy -------------------------------------------------------------------------------


def test_legacy_submit(connect: Connect) -> None:
    reply = httpx.Response(
        200,
        json={
            "Message": "2 records submitted, 1 failed.",
            "FailedItems": [{"Item": "R3", "Message": "Invalid term."}],
        },
    )
    client, service = connect(reply, protocol="legacy")
    result = client.submit(records("R1", "R2", "R3"), conflict="Skip")
    assert service.last.method == "POST"
    assert str(service.last.url) == f"{API}/api/connector/SubmitRecords"
    assert service.body() == {
        "id": CONNECTION,
        "conflictOption": "Skip",
        "confilictOption": "Skip",  # the spelling of the seed's own sample, too
        "data": records("R1", "R2", "R3"),
    }
    assert result.stored == ["R1", "R2"]
    assert result.failed == {"R3": "Invalid term."}


def test_legacy_due_records_use_the_profile_date_format(connect: Connect) -> None:
    reply = httpx.Response(
        200,
        json={"message": "ok", "pageIndex": "1", "queriedItems": [{"RowKey": "R1", "Name": "A "}]},
    )
    client, service = connect(reply, protocol="legacy")
    page = client.due_page(DUE, per_page=15)
    assert service.last.method == "POST"
    assert str(service.last.url) == f"{API}/api/connector/GetDueRecords"
    assert service.body() == {
        "id": CONNECTION,
        "disposalDueDate": "2024-04-01 00:59:34",
        "startIndex": "",
        "itemsPerPage": 15,
    }
    assert page.items == [{"RowKey": "R1", "Name": "A"}]
    assert page.next_start == "1"


def test_legacy_due_records_in_another_format(connect: Connect) -> None:
    client, service = connect(
        httpx.Response(200, json={"message": "", "queriedItems": []}),
        protocol="legacy",
        date_format="M-d-yyyy h:mm:ss tt",
    )
    client.due_page(DUE, start="7")
    body = service.body()
    assert body["disposalDueDate"] == "4-1-2024 12:59:34 AM"  # type: ignore[index]
    assert body["startIndex"] == "7"  # type: ignore[index]


def test_legacy_destroy_has_no_default_path(connect: Connect) -> None:
    client, service = connect(httpx.Response(200, json={"message": "done"}), protocol="legacy")
    with pytest.raises(SettingsError, match="destroy path"):
        client.destroy(["R1", "R2"])
    assert service.requests == []  # no public document names the path: nothing is guessed


def test_legacy_destroy_path_is_a_setting(connect: Connect) -> None:
    client, service = connect(
        httpx.Response(200, json={"message": "done", "failedItems": ["R2"]}),
        protocol="legacy",
        destroy_path="/api/connector/UpdateRecordsStatus/",
    )
    result = client.destroy(["R1", "R2"])
    assert str(service.last.url) == f"{API}/api/connector/UpdateRecordsStatus"
    assert service.last.method == "POST"
    assert service.body() == {"disposalIds": ["R1", "R2"]}
    assert result.destroyed == ["R1"] and result.failed == {"R2": "done"}


def test_legacy_garbage_is_a_protocol_error(connect: Connect) -> None:
    client, _ = connect(httpx.Response(200, text="OK"), protocol="legacy")
    with pytest.raises(ProtocolError, match="is not JSON"):
        client.submit(records("R1"))


def test_an_api_url_with_a_path_keeps_it(connect: Connect) -> None:
    client, service = connect(graph(201), api_url="https://proxy.example.test/opus/")
    client.submit(records("R1"))
    assert str(service.last.url) == "https://proxy.example.test/opus/records/connector/records"


# -- settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"protocol": "soap"}, "protocol 'soap' is unknown"),
        ({"protocol": "legacy", "date_format": "dd.MM.yyyy"}, "not one of Opus's date formats"),
        ({"protocol": "legacy", "destroy_path": "https://elsewhere/x"}, "destroy path"),
        ({"api_url": "http://graph-us.example.test"}, "https://"),
        ({"api_url": "graph-us.example.test"}, "full address"),
    ],
)
def test_unusable_settings_are_refused_up_front(
    connect: Connect, options: dict[str, object], expected: str
) -> None:
    with pytest.raises(SettingsError, match=expected):
        connect(graph(201), **options)


def test_loopback_api_may_use_plain_http(connect: Connect) -> None:
    client, service = connect(graph(201), api_url="http://127.0.0.1:8765")
    client.submit(records("R1"))
    assert str(service.last.url) == "http://127.0.0.1:8765/records/connector/records"


# -- the HTTP client ----------------------------------------------------------------------


def test_http_client_identifies_itself_and_logs_no_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"message": "ok"})

    caplog.set_level(logging.DEBUG, logger="opus_desktop.opus.http")
    with make_http_client(transport=httpx.MockTransport(handler)) as http:
        http.post(
            "https://graph-us.example.test/records/connector/records?id=SECRET-QUERY",
            json={"rowKey": "SECRET-BODY"},
            headers={"Authorization": "Bearer SECRET-TOKEN"},
        )
    assert seen[0].headers["User-Agent"] == f"opus-desktop/{__version__}"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "POST graph-us.example.test/records/connector/records -> 201 in" in logged
    for secret in ("SECRET-QUERY", "SECRET-BODY", "SECRET-TOKEN"):
        assert secret not in logged


def test_http_client_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []
    real = truststore.SSLContext

    def recording(*args: object) -> truststore.SSLContext:
        context = real(*args)  # type: ignore[arg-type]
        made.append(context)
        return context

    monkeypatch.setattr(truststore, "SSLContext", recording)
    with make_http_client(timeout=12) as http:
        assert http.timeout.read == 12
        assert http.trust_env
        assert not http.follow_redirects
    assert len(made) == 1  # TLS goes through the system trust store
    with make_http_client(proxy="http://proxy.example.test:3128") as http:
        assert not http.trust_env  # the named proxy wins over the environment
    with make_http_client(verify=False):
        pass
    assert len(made) == 2


def test_redact_and_describe_remove_secrets() -> None:
    jwt_like = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    text = f'Authorization: Bearer abc.def and {jwt_like} and "access_token": "t0k3n"'
    cleaned = redact(text)
    for secret in ("abc.def", jwt_like, "t0k3n"):
        assert secret not in cleaned
    reply = httpx.Response(500, text=f"error for client_assertion={jwt_like}")
    described = describe_reply(reply)
    assert jwt_like not in described and "HTTP 500" in described
