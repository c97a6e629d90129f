"""The two generations of the connector API: how each asks, and how its replies are read.

A protocol only builds requests (`Call`) and reads replies (`Reply`) into results; client.py
sends them, signs them and retries. Both generations answer in nearly the same shapes, so
the readers are shared and forgiving about what varies in practice: the case of keys
(Message/message, FailedItems/failedItems), a failed item named by its row key, by an object
with a rowKey, or by that object as a JSON string, and fields we do not know. What is not
forgiven is a reply that leaves out what the operation needs: that is a ProtocolError
saying what arrived.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from opus_desktop.core.datetimes import format_datetime
from opus_desktop.opus.errors import ProtocolError, SettingsError
from opus_desktop.opus.replies import snippet

if TYPE_CHECKING:  # the replies come from the client; the window imports DuePage at start
    import httpx

NO_REASON = "The service gave no reason."
NO_DESTROY_PATH = (
    "The profile names no destroy path for the legacy API, which no public document gives: "
    "copy the path of the call that marks records destroyed from the tenant's API page into "
    "the profile (profile add --destroy-path PATH)."
)


@dataclass(frozen=True)
class SubmitResult:
    """What became of one submit call.

    `stored` holds the row keys sent that the service did not name as failed. When
    `unmatched` is not empty the service reported failures it did not tie to a row key, so
    `stored` is not certain (see `certain`): resending those records is safe.
    """

    message: str
    stored: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # row key -> the service's message
    unmatched: list[str] = field(default_factory=list)  # failure messages without a known key

    @property
    def certain(self) -> bool:
        return not self.unmatched


@dataclass(frozen=True)
class DuePage:
    items: list[dict[str, str]]  # one display string per column, keys as the service sent them
    next_start: str | None  # echo back to get the next page; None when there is none
    message: str = ""


@dataclass(frozen=True)
class DestroyResult:
    """What became of one destroy call; as with SubmitResult, `unmatched` makes it uncertain.

    `repeated` says the call had to be sent again after an earlier sending got no answer
    (or a gateway error) and may still have done its work. Marking destroyed is not
    idempotent: the service then reports the keys that earlier sending destroyed as failed
    ("already destroyed"), so those failures are `doubtful` and the result not certain.
    """

    destroyed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    message: str = ""
    repeated: bool = False

    @property
    def doubtful(self) -> list[str]:
        """Failed keys that an earlier sending of this call may have destroyed after all."""
        return list(self.failed) if self.repeated else []

    @property
    def certain(self) -> bool:
        return not self.unmatched and not self.doubtful


@dataclass(frozen=True)
class Call:
    """One request, relative to the API URL. `what` names it in messages."""

    method: str
    path: str
    what: str
    params: dict[str, str] | None = None
    body: dict[str, object] | None = None


@dataclass(frozen=True)
class Reply:
    """A reply whose status the client has accepted; `body` is None when it was empty.

    `repeated`: an earlier sending of the same call may have reached the service too.
    """

    status: int
    body: dict[str, object] | None
    response: httpx.Response
    repeated: bool = False


class ConnectorProtocol(ABC):
    name: str

    @abstractmethod
    def submit_call(
        self, connection_id: str, records: Sequence[Mapping[str, object]], conflict: str
    ) -> Call: ...

    @abstractmethod
    def due_call(
        self, connection_id: str, before: datetime, start: str | None, per_page: int
    ) -> Call: ...

    @abstractmethod
    def destroy_call(self, row_keys: Sequence[str]) -> Call: ...

    def read_submit(self, reply: Reply, sent: Sequence[str]) -> SubmitResult:
        body = _require_body(reply, "the submitted records")
        message = _message(reply, body, "the submitted records")
        failed, unmatched = _failures(reply, body, sent, message, "the submitted records")
        return SubmitResult(
            message=message,
            stored=[key for key in sent if key not in failed],
            failed=failed,
            unmatched=unmatched,
        )

    def read_due(self, reply: Reply) -> DuePage:
        if reply.body is None:  # 204: nothing is due
            return DuePage(items=[], next_start=None, message="")
        body = reply.body
        raw = _get(body, "queriedItems")
        if raw is _MISSING:
            raise _protocol_error(reply, "the due records", "no queriedItems")
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise _protocol_error(reply, "the due records", f"queriedItems that is a {_kind(raw)}")
        items: list[dict[str, str]] = []
        for position, entry in enumerate(raw, start=1):
            if not isinstance(entry, dict):
                raise _protocol_error(
                    reply, "the due records", f"item {position} that is a {_kind(entry)}"
                )
            items.append({str(key): display(value) for key, value in entry.items()})
        message = _get(body, "message")
        return DuePage(
            items=items,
            next_start=_next_start(body) if items else None,
            message=message if isinstance(message, str) else "",
        )

    def read_destroy(self, reply: Reply, sent: Sequence[str]) -> DestroyResult:
        if reply.body is None:  # 204: done, nothing to report
            return DestroyResult(destroyed=list(sent), repeated=reply.repeated)
        body = reply.body
        message = _message(reply, body, "the records to destroy")
        failed, unmatched = _failures(reply, body, sent, message, "the records to destroy")
        return DestroyResult(
            destroyed=[key for key in sent if key not in failed],
            failed=failed,
            unmatched=unmatched,
            message=message,
            repeated=reply.repeated,
        )


def _submit_body(
    connection_id: str,
    records: Sequence[Mapping[str, object]],
    conflict: str,
    spellings: tuple[str, ...] = ("conflictOption",),
) -> dict[str, object]:
    body: dict[str, object] = {"id": connection_id}
    body.update(dict.fromkeys(spellings, conflict))
    body["data"] = [dict(r) for r in records]
    return body


def _what_submit(records: Sequence[object]) -> str:
    return f"submitting {_count(len(records))}"


def _what_destroy(row_keys: Sequence[str]) -> str:
    return f"marking {_count(len(row_keys))} destroyed"


class GraphProtocol(ConnectorProtocol):
    """The Graph API: one resource, three verbs, ISO 8601 dates."""

    name = "graph"
    path = "records/connector/records"

    def submit_call(
        self, connection_id: str, records: Sequence[Mapping[str, object]], conflict: str
    ) -> Call:
        return Call(
            "POST",
            self.path,
            _what_submit(records),
            body=_submit_body(connection_id, records, conflict),
        )

    def due_call(
        self, connection_id: str, before: datetime, start: str | None, per_page: int
    ) -> Call:
        params = {
            "id": connection_id,
            "disposalDueDate": _as_sent(before).strftime("%Y-%m-%dT%H:%M:%S"),
            "startIndex": start or "",
            "itemsPerPage": str(per_page),
        }
        return Call("GET", self.path, "asking for the records due for disposal", params=params)

    def destroy_call(self, row_keys: Sequence[str]) -> Call:
        return Call(
            "DELETE", self.path, _what_destroy(row_keys), body={"disposalIds": list(row_keys)}
        )


_LEGACY_SPELLINGS = ("conflictOption", "confilictOption")


class LegacyProtocol(ConnectorProtocol):
    """The "API for Connector" of the seed: POST everywhere, dates in the profile's format.

    No public document names its destroy call, so there is no default path: without one,
    submitting and due records work and marking destroyed is refused before sending.
    """

    name = "legacy"

    def __init__(self, destroy_path: str, date_format: str) -> None:
        self.destroy_path = destroy_path.strip().strip("/")
        self.date_format = date_format

    def submit_call(
        self, connection_id: str, records: Sequence[Mapping[str, object]], conflict: str
    ) -> Call:
        # The seed's table says "conflictOption", its own sample "confilictOption": both are
        # sent, equal, so a service that reads either gets the option.
        body = _submit_body(connection_id, records, conflict, _LEGACY_SPELLINGS)
        return Call("POST", "api/connector/SubmitRecords", _what_submit(records), body=body)

    def due_call(
        self, connection_id: str, before: datetime, start: str | None, per_page: int
    ) -> Call:
        body: dict[str, object] = {
            "id": connection_id,
            "disposalDueDate": format_datetime(_as_sent(before), self.date_format),
            "startIndex": start or "",
            "itemsPerPage": per_page,
        }
        return Call(
            "POST",
            "api/connector/GetDueRecords",
            "asking for the records due for disposal",
            body=body,
        )

    def destroy_call(self, row_keys: Sequence[str]) -> Call:
        if not self.destroy_path:
            raise SettingsError(NO_DESTROY_PATH)
        return Call(
            "POST", self.destroy_path, _what_destroy(row_keys), body={"disposalIds": list(row_keys)}
        )


# -- reading replies ----------------------------------------------------------------------


class _Missing:
    pass


_MISSING = _Missing()


def _get(document: Mapping[str, object], name: str) -> object:
    """`document[name]` ignoring case; _MISSING when there is no such key."""
    if name in document:
        return document[name]
    wanted = name.casefold()
    for key, value in document.items():
        if key.casefold() == wanted:
            return value
    return _MISSING


def _require_body(reply: Reply, what: str) -> dict[str, object]:
    if reply.body is None:
        raise _protocol_error(reply, what, "an empty body")
    return reply.body


def _message(reply: Reply, body: Mapping[str, object], what: str) -> str:
    value = _get(body, "message")
    if value is _MISSING:
        raise _protocol_error(reply, what, "no message")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _protocol_error(reply, what, f"a message that is a {_kind(value)}")
    return value


def _failures(
    reply: Reply, body: Mapping[str, object], sent: Sequence[str], message: str, what: str
) -> tuple[dict[str, str], list[str]]:
    """The failed items of a reply, tied to the row keys sent where that can be done."""
    raw = _get(body, "failedItems")
    if raw is _MISSING or raw is None:
        if reply.status == 418:
            raise _protocol_error(reply, what, "HTTP 418 (partial failure) without failedItems")
        return {}, []
    if not isinstance(raw, list):
        raise _protocol_error(reply, what, f"failedItems that is a {_kind(raw)}")
    known = set(sent)
    failed: dict[str, str] = {}
    unmatched: list[str] = []
    for entry in raw:
        item, reason = _item_and_reason(entry, message)
        key = _row_key(item, known)
        if key is not None:
            failed[key] = f"{failed[key]} {reason}" if key in failed else reason
        elif item is _MISSING or item is None:
            unmatched.append(reason)
        else:
            unmatched.append(f"{_describe_item(item)}: {reason}")
    if reply.status == 418 and not raw:
        unmatched.append(
            "The service reported that some records failed without naming them"
            + (f": {message}" if message else ".")
        )
    return failed, unmatched


def _item_and_reason(entry: object, message: str) -> tuple[object, str]:
    """(the item, why it failed) from a failed-items entry: a bare key or {Item, Message}."""
    if isinstance(entry, dict):
        item = _get(entry, "item")
        if item is _MISSING and _get(entry, "rowKey") is not _MISSING:
            item = entry  # the record itself, with its rowKey
        reason = _get(entry, "message")
        return item, reason.strip() if isinstance(reason, str) and reason.strip() else NO_REASON
    # A bare key: the reply's own message is the only reason there is.
    return entry, message.strip() or NO_REASON


def _row_key(item: object, known: set[str]) -> str | None:
    """The row key an item names, if it is one of those sent."""
    if isinstance(item, int | float) and not isinstance(item, bool):
        item = display(item)
    if isinstance(item, str):
        text = item.strip()
        if text in known:
            return text
        if text.startswith("{"):
            try:
                item = json.loads(text)
            except json.JSONDecodeError:
                return None
    if isinstance(item, dict):
        key = _get(item, "rowKey")
        if isinstance(key, int | float) and not isinstance(key, bool):
            key = display(key)
        if isinstance(key, str) and key.strip() in known:
            return key.strip()
    return None


def _describe_item(item: object) -> str:
    if isinstance(item, dict):
        key = _get(item, "rowKey")
        if key is not _MISSING:
            return f"row key {key!r} (not one of those sent)"
    text = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False, default=str)
    return f"item {snippet(text, 80)!r}"


def _next_start(body: Mapping[str, object]) -> str | None:
    for name in ("pageIndex", "startIndex"):
        value = _get(body, name)
        if isinstance(value, bool) or value is _MISSING or value is None:
            continue
        if isinstance(value, int | float | str):
            text = display(value)
            if text:
                return text
    return None


def display(value: object) -> str:
    """One display string for a value of a due record: trimmed text, numbers as written."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return "; ".join(display(v) for v in value)
    return json.dumps(value, ensure_ascii=False, default=str)


def _protocol_error(reply: Reply, what: str, problem: str) -> ProtocolError:
    from opus_desktop.opus.http import describe_reply  # a reply came, so httpx is loaded

    return ProtocolError(
        f"The service's reply about {what} has {problem}, which the Opus API does not "
        f"promise: {describe_reply(reply.response)}.",
        status=reply.status,
    )


def _kind(value: object) -> str:
    names = {dict: "JSON object", list: "list", str: "text", bool: "true/false"}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "number"
    return names.get(type(value), type(value).__name__)


def _as_sent(moment: datetime) -> datetime:
    """Dates with a time zone go as UTC wall time; naive ones as written."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _count(n: int) -> str:
    return f"{n} record" if n == 1 else f"{n} records"
