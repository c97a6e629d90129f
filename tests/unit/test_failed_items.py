"""Every shape of a failed item in a submit or destroy reply, read straight off the protocol."""

from __future__ import annotations

import httpx
import pytest

from opus_desktop.opus.errors import ProtocolError
from opus_desktop.opus.protocols import NO_REASON, GraphProtocol, LegacyProtocol, Reply

SENT = ("K1", "K2", "12", "K3")


def reply(status: int = 418, **body: object) -> Reply:
    return Reply(status=status, body=dict(body), response=httpx.Response(status, json=body))


def failures(entries: object, message: str = "Some failed.", status: int = 418) -> tuple:
    result = GraphProtocol().read_submit(
        reply(status, message=message, failedItems=entries), SENT
    )
    return result.failed, result.unmatched, result.stored


@pytest.mark.parametrize(
    ("entry", "key", "reason"),
    [
        ("K1", "K1", "Some failed."),
        ("  K1 ", "K1", "Some failed."),
        (12, "12", "Some failed."),
        (12.0, "12", "Some failed."),
        ({"item": "K1", "message": "Bad date."}, "K1", "Bad date."),
        ({"ITEM": "K1", "Message": "  Bad date.  "}, "K1", "Bad date."),
        ({"item": {"rowKey": "K1"}, "message": "x"}, "K1", "x"),
        ({"item": {"RowKey": " K1 "}, "message": "x"}, "K1", "x"),
        ({"item": {"rowKey": 12}, "message": "x"}, "12", "x"),
        ({"item": {"rowKey": 12.0}, "message": "x"}, "12", "x"),
        ({"item": '{"rowKey": "K1"}', "message": "x"}, "K1", "x"),
        ({"item": ' {"RowKey": "K1"}', "message": "x"}, "K1", "x"),
        ({"rowKey": "K1", "message": "x"}, "K1", "x"),
        ({"item": "K1"}, "K1", NO_REASON),
        ({"item": "K1", "message": "   "}, "K1", NO_REASON),
        ({"item": "K1", "message": 7}, "K1", NO_REASON),
    ],
)
def test_each_shape_of_a_failed_item_names_its_row_key_and_reason(
    entry: object, key: str, reason: str
) -> None:
    failed, unmatched, stored = failures([entry])
    assert failed == {key: reason}
    assert unmatched == []
    assert stored == [k for k in SENT if k != key]


def test_a_bare_key_without_a_reply_message_gets_the_no_reason_sentence() -> None:
    failed, _, _ = failures(["K1"], message="   ")
    assert failed == {"K1": NO_REASON}


@pytest.mark.parametrize(
    ("entry", "described"),
    [
        ("ZZ", "item 'ZZ': Some failed."),
        (True, "item 'true': Some failed."),
        (99, "item '99': Some failed."),
        ({"item": "{not json", "message": "x"}, "item '{not json': x"),
        ({"item": '{"rowKey": "ZZ"}', "message": "x"}, "item '{\"rowKey\": \"ZZ\"}': x"),
        ({"item": {"rowKey": "ZZ"}, "message": "x"}, "row key 'ZZ' (not one of those sent): x"),
        ({"item": {"rowKey": True}, "message": "x"}, "row key True (not one of those sent): x"),
        ({"rowKey": "ZZ", "message": "x"}, "row key 'ZZ' (not one of those sent): x"),
        ({"item": {"name": "a"}, "message": "x"}, "item '{\"name\": \"a\"}': x"),
        ({"item": ["K1"], "message": "x"}, "item '[\"K1\"]': x"),
        ({"message": "No item at all."}, "No item at all."),
        ({"item": None, "message": "Null item."}, "Null item."),
    ],
)
def test_a_failed_item_that_names_no_key_sent_is_unmatched_and_described(
    entry: object, described: str
) -> None:
    failed, unmatched, stored = failures([entry])
    assert failed == {}
    assert unmatched == [described]
    assert stored == list(SENT)


def test_a_key_named_twice_keeps_both_reasons_in_order() -> None:
    failed, _, _ = failures([{"item": "K2", "message": "One."}, {"item": "K2", "message": "Two."}])
    assert failed == {"K2": "One. Two."}


def test_a_418_with_an_empty_list_is_a_failure_nobody_is_named_for() -> None:
    _, unmatched, _ = failures([], message="Two records failed.")
    assert unmatched == [
        "The service reported that some records failed without naming them: Two records failed."
    ]
    _, unmatched, _ = failures([], message="")
    assert unmatched == ["The service reported that some records failed without naming them."]


def test_a_200_with_an_empty_or_null_list_stored_everything() -> None:
    assert failures([], status=200) == ({}, [], list(SENT))
    assert failures(None, status=200) == ({}, [], list(SENT))
    result = GraphProtocol().read_submit(reply(200, message="Done"), SENT)
    assert (result.failed, result.unmatched, result.stored) == ({}, [], list(SENT))
    assert result.certain


@pytest.mark.parametrize("entries", [None, "missing"])
def test_a_418_without_failed_items_is_a_protocol_error(entries: object) -> None:
    body: dict[str, object] = {"message": "Some failed."}
    if entries != "missing":
        body["failedItems"] = entries
    with pytest.raises(ProtocolError, match="HTTP 418 \\(partial failure\\) without failedItems"):
        GraphProtocol().read_submit(reply(418, **body), SENT)


@pytest.mark.parametrize(
    ("entries", "kind"), [({"K1": "x"}, "JSON object"), ("K1", "text"), (3, "number")]
)
def test_failed_items_that_are_not_a_list_are_a_protocol_error(entries: object, kind: str) -> None:
    with pytest.raises(ProtocolError, match=f"failedItems that is a {kind}") as raised:
        failures(entries)
    assert raised.value.status == 418


def test_destroy_reads_the_same_shapes_and_says_the_call_was_repeated() -> None:
    protocol = LegacyProtocol("records/destroy", "yyyy-MM-dd HH:mm:ss")
    answer = Reply(
        status=200,
        body={"Message": "Done.", "FailedItems": ["K1", {"Item": "ZZ", "Message": "Unknown."}]},
        response=httpx.Response(200),
        repeated=True,
    )
    result = protocol.read_destroy(answer, SENT)
    assert result.failed == {"K1": "Done."}
    assert result.unmatched == ["item 'ZZ': Unknown."]
    assert result.destroyed == ["K2", "12", "K3"]
    assert result.repeated
    assert result.message == "Done."
    nothing = protocol.read_destroy(Reply(204, None, httpx.Response(204)), SENT)
    assert nothing.destroyed == list(SENT) and not nothing.repeated
