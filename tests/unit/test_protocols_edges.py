"""Behaviour of the protocols module that the main tests leave open (found by make mutate)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from opus_desktop.opus.errors import ProtocolError
from opus_desktop.opus.protocols import (
    Call,
    GraphProtocol,
    LegacyProtocol,
    Reply,
    display,
)

SENT = ("K1", "K2", "K3")
DUE_WHAT = "asking for the records due for disposal"


def answer(status: int = 200, body: dict[str, object] | None = None, **flags: bool) -> Reply:
    """A reply whose raw response is empty, so error messages end in a short, known way."""
    return Reply(status=status, body=body, response=httpx.Response(status), **flags)


def problem(what: str, has: str, status: int = 200) -> str:
    return (
        f"The service's reply about {what} has {has}, which the Opus API does not promise: "
        f"HTTP {status} (no content type) with an empty body."
    )


# -- the calls ------------------------------------------------------------------------------


def test_graph_calls_name_their_verb_path_and_count_of_records() -> None:
    graph = GraphProtocol()
    one = graph.submit_call("C", [{"rowKey": "K1"}], "replace")
    assert (one.method, one.path, one.what) == (
        "POST",
        "records/connector/records",
        "submitting 1 record",
    )
    two = graph.submit_call("C", [{"rowKey": "K1"}, {"rowKey": "K2"}], "replace")
    assert two.what == "submitting 2 records"
    gone = graph.destroy_call(["K1"])
    assert gone == Call(
        "DELETE",
        "records/connector/records",
        "marking 1 record destroyed",
        body={"disposalIds": ["K1"]},
    )
    assert graph.destroy_call(["K1", "K2"]).what == "marking 2 records destroyed"
    assert graph.destroy_call([]).what == "marking 0 records destroyed"
    due = graph.due_call("C", datetime(2024, 4, 1, 0, 59, 34), None, 50)
    assert (due.method, due.path, due.what) == ("GET", "records/connector/records", DUE_WHAT)


def test_legacy_calls_post_everywhere_with_the_trimmed_destroy_path() -> None:
    legacy = LegacyProtocol(" /api/connector/X/ ", "yyyy-MM-dd HH:mm:ss")
    assert legacy.destroy_path == "api/connector/X"
    submit = legacy.submit_call("C", [{"rowKey": "K1"}, {"rowKey": "K2"}], "skip")
    assert (submit.method, submit.path, submit.what) == (
        "POST",
        "api/connector/SubmitRecords",
        "submitting 2 records",
    )
    due = legacy.due_call("C", datetime(2024, 4, 1, 0, 59, 34), "7", 15)
    assert (due.method, due.path, due.what) == ("POST", "api/connector/GetDueRecords", DUE_WHAT)
    gone = legacy.destroy_call(["K1"])
    assert gone == Call(
        "POST", "api/connector/X", "marking 1 record destroyed", body={"disposalIds": ["K1"]}
    )


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local time zone is far from UTC for the length of a test."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("new_york")
def test_an_aware_date_goes_as_utc_wall_time_whatever_the_local_zone() -> None:
    before = datetime(2024, 4, 1, 9, 30, 0, tzinfo=timezone(timedelta(hours=2)))
    graph = GraphProtocol().due_call("C", before, None, 10)
    assert graph.params is not None and graph.params["disposalDueDate"] == "2024-04-01T07:30:00"
    legacy = LegacyProtocol("x", "yyyy-MM-dd HH:mm:ss").due_call("C", before, None, 10)
    assert legacy.body is not None and legacy.body["disposalDueDate"] == "2024-04-01 07:30:00"
    naive = GraphProtocol().due_call("C", datetime(2024, 4, 1, 9, 30), None, 10)
    assert naive.params is not None and naive.params["disposalDueDate"] == "2024-04-01T09:30:00"
    assert datetime(2024, 4, 1, 7, 30, tzinfo=UTC) == before


# -- what a reply that breaks the promise is told as ------------------------------------------


def test_a_submit_reply_without_a_body_says_so_about_the_submitted_records() -> None:
    with pytest.raises(ProtocolError) as raised:
        GraphProtocol().read_submit(answer(200, None), SENT)
    assert raised.value.message == problem("the submitted records", "an empty body")
    assert raised.value.status == 200


@pytest.mark.parametrize(
    ("body", "has"),
    [
        ({}, "no message"),
        ({"message": 5}, "a message that is a number"),
        ({"message": True}, "a message that is a true/false"),
        ({"message": ["a"]}, "a message that is a list"),
        ({"message": {"a": 1}}, "a message that is a JSON object"),
        ({"message": ("a",)}, "a message that is a tuple"),
        ({"message": "x", "failedItems": "K1"}, "failedItems that is a text"),
    ],
)
def test_a_submit_or_destroy_reply_with_a_bad_message_or_failed_items_says_what_came(
    body: dict[str, object], has: str
) -> None:
    with pytest.raises(ProtocolError) as raised:
        GraphProtocol().read_submit(answer(200, body), SENT)
    assert raised.value.message == problem("the submitted records", has)
    with pytest.raises(ProtocolError) as raised:
        GraphProtocol().read_destroy(answer(200, body), SENT)
    assert raised.value.message == problem("the records to destroy", has)


def test_a_418_without_failed_items_names_the_call_it_was_about() -> None:
    body: dict[str, object] = {"message": "Some failed."}
    has = "HTTP 418 (partial failure) without failedItems"
    with pytest.raises(ProtocolError) as raised:
        GraphProtocol().read_submit(answer(418, body), SENT)
    assert raised.value.message == problem("the submitted records", has, 418)
    with pytest.raises(ProtocolError) as raised:
        LegacyProtocol("d", "yyyy-MM-dd HH:mm:ss").read_destroy(answer(418, body), SENT)
    assert raised.value.message == problem("the records to destroy", has, 418)


@pytest.mark.parametrize(
    ("body", "has"),
    [
        ({"message": "x"}, "no queriedItems"),
        ({"queriedItems": {"a": 1}}, "queriedItems that is a JSON object"),
        ({"queriedItems": "a"}, "queriedItems that is a text"),
        ({"queriedItems": [{"a": 1}, ["b"]]}, "item 2 that is a list"),
        ({"queriedItems": [False]}, "item 1 that is a true/false"),
    ],
)
def test_a_due_reply_that_breaks_the_promise_says_what_came(
    body: dict[str, object], has: str
) -> None:
    with pytest.raises(ProtocolError) as raised:
        GraphProtocol().read_due(answer(200, body))
    assert raised.value.message == problem("the due records", has)


# -- due pages -------------------------------------------------------------------------------


def test_nothing_due_is_an_empty_page_with_an_empty_message() -> None:
    page = GraphProtocol().read_due(answer(204, None))
    assert (page.items, page.next_start, page.message) == ([], None, "")
    page = GraphProtocol().read_due(answer(200, {"queriedItems": None, "message": "None due."}))
    assert (page.items, page.next_start, page.message) == ([], None, "None due.")


@pytest.mark.parametrize("message", [5, None, ["a"], {"a": "b"}])
def test_a_due_message_that_is_not_text_is_left_out(message: object) -> None:
    page = GraphProtocol().read_due(answer(200, {"queriedItems": [{"a": 1}], "message": message}))
    assert page.items == [{"a": "1"}]
    assert page.message == ""


def test_a_true_or_false_page_index_is_passed_over_for_the_start_index() -> None:
    body = {"queriedItems": [{"a": 1}], "pageIndex": True, "startIndex": "5"}
    assert GraphProtocol().read_due(answer(200, body)).next_start == "5"
    body = {"queriedItems": [{"a": 1}], "pageIndex": None, "startIndex": False}
    assert GraphProtocol().read_due(answer(200, body)).next_start is None


def test_a_field_spelled_exactly_as_documented_wins_over_a_case_variant() -> None:
    body: dict[str, object] = {
        "QueriedItems": [{"x": "wrong"}],
        "queriedItems": [{"x": "right"}],
        "Message": "wrong",
        "message": "right",
        "PageIndex": "wrong",
        "pageIndex": "right",
    }
    page = GraphProtocol().read_due(answer(200, body))
    assert (page.items, page.next_start, page.message) == ([{"x": "right"}], "right", "right")
    body = {"queriedItems": [{"x": 1}], "StartIndex": "wrong", "startIndex": "right"}
    assert GraphProtocol().read_due(answer(200, body)).next_start == "right"


def test_exact_spellings_win_in_submit_replies_and_their_failed_items() -> None:
    body: dict[str, object] = {
        "Message": "wrong",
        "message": "Right.",
        "FailedItems": [{"item": "K3", "message": "wrong"}],
        "failedItems": [
            {"Item": "K3", "item": "K1", "Message": "wrong", "message": "One."},
            {"item": {"RowKey": "K3", "rowKey": "K2"}, "message": "Two."},
            {"item": {"RowKey": "K1", "rowKey": "ZZ"}, "message": "Three."},
        ],
    }
    result = GraphProtocol().read_submit(answer(418, body), SENT)
    assert result.message == "Right."
    assert result.failed == {"K1": "One.", "K2": "Two."}
    assert result.unmatched == ["row key 'ZZ' (not one of those sent): Three."]
    assert result.stored == ["K3"]


def test_a_null_message_is_empty_and_bare_keys_then_get_no_reason() -> None:
    result = GraphProtocol().read_submit(
        answer(418, {"message": None, "failedItems": ["K1"]}), SENT
    )
    assert result.message == ""
    assert result.failed == {"K1": "The service gave no reason."}


# -- failed items that name no key sent ---------------------------------------------------------


def test_a_row_key_that_is_a_list_names_no_record() -> None:
    body = {"message": "x", "failedItems": [{"item": {"rowKey": ["K1"]}, "message": "Bad."}]}
    result = GraphProtocol().read_submit(answer(418, body), SENT)
    assert result.failed == {}
    assert result.unmatched == ["row key ['K1'] (not one of those sent): Bad."]


def test_an_unknown_item_is_described_in_readable_text_cut_at_80_characters() -> None:
    item = {"name": "Café", "when": datetime(2024, 4, 1, 9, 30)}
    long = "a" * 100
    body = {
        "message": "x",
        "failedItems": [{"item": item, "message": "One."}, {"item": long, "message": "Two."}],
    }
    result = GraphProtocol().read_submit(answer(418, body), SENT)
    assert result.unmatched == [
        'item \'{"name": "Café", "when": "2024-04-01 09:30:00"}\': One.',
        f"item '{'a' * 80}…': Two.",
    ]


# -- destroy ---------------------------------------------------------------------------------


def test_an_empty_destroy_reply_to_a_repeated_call_says_it_was_repeated() -> None:
    result = GraphProtocol().read_destroy(answer(204, None, repeated=True), SENT)
    assert result.destroyed == list(SENT)
    assert result.repeated is True
    assert result.doubtful == []
    assert result.certain


# -- display ---------------------------------------------------------------------------------


def test_display_writes_each_kind_of_value_as_text() -> None:
    assert display(False) == "false"
    assert display(True) == "true"
    assert display({"name": "Café"}) == '{"name": "Café"}'
    assert display({"when": datetime(2024, 4, 1, 9, 30)}) == '{"when": "2024-04-01 09:30:00"}'
    assert display(["a", 1.5, None]) == "a; 1.5; "
