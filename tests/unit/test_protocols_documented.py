"""Requests and replies as AvePoint's public pages have them: the conflict option under
both spellings on legacy (the seed's table and its own sample differ), only the documented
one on Graph, no built-in legacy destroy path, and 418 for a destroy that partly failed."""

from __future__ import annotations

import json
import re
from datetime import datetime

import httpx
import pytest

from opus_desktop.opus.errors import ProtocolError, SettingsError
from opus_desktop.opus.protocols import (
    NO_DESTROY_PATH,
    GraphProtocol,
    LegacyProtocol,
    Reply,
)

RECORDS = [{"rowKey": "K1", "leafName": "a.pdf"}, {"rowKey": "K2", "leafName": "b.pdf"}]
FORMAT = "yyyy-MM-dd HH:mm:ss"


@pytest.mark.parametrize("option", ["Overwrite", "Skip"])
def test_legacy_submit_sends_both_spellings_of_the_conflict_option(option: str) -> None:
    call = LegacyProtocol("api/x", FORMAT).submit_call("C-1", RECORDS, option)
    assert call.body == {
        "id": "C-1",
        "conflictOption": option,
        "confilictOption": option,
        "data": RECORDS,
    }
    assert list(call.body) == ["id", "conflictOption", "confilictOption", "data"]
    assert call.body["data"] is not RECORDS  # copies: the caller's records stay its own


@pytest.mark.parametrize("option", ["Overwrite", "Skip"])
def test_graph_submit_sends_only_the_documented_spelling(option: str) -> None:
    call = GraphProtocol().submit_call("C-1", RECORDS, option)
    assert call.body == {"id": "C-1", "conflictOption": option, "data": RECORDS}
    assert "confilictOption" not in json.dumps(call.body)


@pytest.mark.parametrize("path", ["", "  ", "/", " // "])
def test_a_legacy_destroy_without_a_path_is_refused_before_sending(path: str) -> None:
    legacy = LegacyProtocol(path, FORMAT)
    with pytest.raises(SettingsError) as refused:
        legacy.destroy_call(["K1"])
    assert str(refused.value) == NO_DESTROY_PATH
    assert refused.value.exit_code == 2
    # Submitting and due records do not need it.
    assert legacy.submit_call("C", RECORDS, "Skip").path == "api/connector/SubmitRecords"
    due = legacy.due_call("C", datetime(2024, 4, 1, 0, 59, 34), None, 5)
    assert due.path == "api/connector/GetDueRecords"


def test_the_missing_destroy_path_sentence_says_where_to_find_it() -> None:
    assert NO_DESTROY_PATH == (
        "The profile names no destroy path for the legacy API, which no public document "
        "gives: copy the path of the call that marks records destroyed from the tenant's "
        "API page into the profile (profile add --destroy-path PATH)."
    )


def test_a_partly_failed_graph_destroy_answered_418_is_read() -> None:
    body: dict[str, object] = {
        "statusCode": 418,
        "message": "1 of 3 records marked as destroyed.",
        "failedItems": [
            {"item": "K2", "message": "Record 'K2' was not found."},
            {"item": "K3", "message": "Record 'K3' is not due for disposal."},
        ],
    }
    reply = Reply(418, body, httpx.Response(418, json=body))
    result = GraphProtocol().read_destroy(reply, ["K1", "K2", "K3"])
    assert result.destroyed == ["K1"]
    assert result.failed == {
        "K2": "Record 'K2' was not found.",
        "K3": "Record 'K3' is not due for disposal.",
    }
    assert result.certain and result.message == "1 of 3 records marked as destroyed."


def test_a_418_destroy_without_failed_items_is_not_taken_for_success() -> None:
    body: dict[str, object] = {"statusCode": 418, "message": "some failed"}
    reply = Reply(418, body, httpx.Response(418, json=body))
    with pytest.raises(
        ProtocolError, match=re.escape("HTTP 418 (partial failure) without failedItems")
    ):
        GraphProtocol().read_destroy(reply, ["K1"])
