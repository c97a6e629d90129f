"""OpusClient: submit records, page through due records, mark records destroyed.

The client checks a call before sending it (1..15 records, each with a row key; 1..100 per
page), sends it with a bearer token, retries what is temporary (retry.py), signs in again
once when the API refuses the token (401), and turns each status into a result or an error:

    200/201, and 418 (some items failed)  -> read by the protocol into a result
    204                                   -> nothing due / all destroyed (not for submit)
    400                                   -> RequestRejected with the service's message
    401 twice, 403                        -> AuthError
    404, 405                              -> ProtocolError hinting at the URL or protocol
    429, 502, 503, 504, network failures  -> retried, then ServiceUnavailable
    500                                   -> ServerError (not retried: see errors.py)
    anything else                         -> ProtocolError saying what arrived

A Graph reply may carry its own statusCode; when HTTP says 2xx but the body says 400 or
500, the body wins, so a refusal is never taken for success.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from opus_desktop.core.datetimes import DEFAULT_FORMAT, check_format
from opus_desktop.opus.errors import (
    AuthError,
    InvalidRequest,
    OpusError,
    ProtocolError,
    RequestRejected,
    ServerError,
    SettingsError,
    TooManyRecords,
)
from opus_desktop.opus.protocols import (
    Call,
    ConnectorProtocol,
    DestroyResult,
    DuePage,
    GraphProtocol,
    LegacyProtocol,
    Reply,
    SubmitResult,
)
from opus_desktop.opus.replies import describe_reply, snippet, too_large
from opus_desktop.opus.retry import RetryPolicy

# The HTTP stack comes with the http client a connection hands in: the constants here are
# imported at start by jobs/ and the window, which must not load httpx and jwt for them.
if TYPE_CHECKING:
    import httpx

    from opus_desktop.opus.auth import TokenProvider

log = logging.getLogger(__name__)

MAX_PER_CALL = 15
MAX_PER_PAGE = 100
CONFLICT_OPTIONS = ("Overwrite", "Skip")
_READABLE = frozenset({200, 201, 202, 204, 418})


class OpusClient:
    """The connector API of one connection, over `http`, with tokens from `tokens`."""

    def __init__(
        self,
        api_url: str,
        connection_id: str,
        tokens: TokenProvider,
        http: httpx.Client,
        protocol: str = "graph",
        destroy_path: str = "",  # legacy only; no public document names it
        date_format: str = DEFAULT_FORMAT,
        retry: RetryPolicy | None = None,
    ) -> None:
        from opus_desktop.opus.auth import require_secure_url

        require_secure_url(api_url, "API URL")
        if not connection_id.strip():
            raise SettingsError("The connection id is empty: load the connection's template.")
        self.api_url = api_url.strip().rstrip("/")
        self.connection_id = connection_id.strip()
        self.tokens = tokens
        self.http = http
        self.retry = retry or RetryPolicy()
        self.protocol = _make_protocol(protocol, destroy_path, date_format)

    # -- operations ----------------------------------------------------------------------

    def submit(
        self, records: Sequence[Mapping[str, object]], conflict: str = "Overwrite"
    ) -> SubmitResult:
        """Send up to 15 records; the result says which were stored and which failed."""
        option = _conflict_option(conflict)
        keys = _record_keys(records)
        call = self.protocol.submit_call(self.connection_id, records, option)
        reply = self._send(call, allow_empty=False)
        result = self.protocol.read_submit(reply, keys)
        log.info(
            "Submitted %d records: %d stored, %d failed, %d unmatched failures",
            len(keys),
            len(result.stored),
            len(result.failed),
            len(result.unmatched),
        )
        return result

    def due_page(
        self, before: datetime, start: str | None = None, per_page: int = MAX_PER_PAGE
    ) -> DuePage:
        """One page of the records whose disposal is due before `before`.

        Pass the previous page's `next_start` as `start` for the next page.
        """
        whole = isinstance(per_page, int) and not isinstance(per_page, bool)
        if not whole or not 1 <= per_page <= MAX_PER_PAGE:
            raise InvalidRequest(
                f"Records per page must be a whole number from 1 to {MAX_PER_PAGE}, "
                f"not {per_page!r}."
            )
        if not isinstance(before, datetime):
            raise InvalidRequest(f"The disposal due date must be a date and time, not {before!r}.")
        call = self.protocol.due_call(self.connection_id, before, start, per_page)
        return self.protocol.read_due(self._send(call, allow_empty=True))

    def destroy(self, row_keys: Sequence[str]) -> DestroyResult:
        """Mark up to 15 records destroyed; the result says which were and which were not."""
        keys = _checked_keys(row_keys)
        call = self.protocol.destroy_call(keys)
        result = self.protocol.read_destroy(self._send(call, allow_empty=True), keys)
        log.info(
            "Destroy call for %d records: %d destroyed, %d failed, %d unmatched failures",
            len(keys),
            len(result.destroyed),
            len(result.failed),
            len(result.unmatched),
        )
        return result

    # -- one exchange --------------------------------------------------------------------

    def _send(self, call: Call, allow_empty: bool) -> Reply:
        arrived: list[bool] = []  # per sending: may it have reached the service?
        response = self._exchange(call, arrived)
        body = _json_body(response, call)
        status = _effective_status(response.status_code, body)
        if status in _READABLE:
            if body is None and not allow_empty:
                raise ProtocolError(
                    f"The service's reply to {call.what} is empty, which the Opus API does not "
                    f"promise: {describe_reply(response)}.",
                    status=status,
                )
            return Reply(status, body, response, repeated=any(arrived[:-1]))
        raise self._failure(call, response, status, body)

    def _exchange(self, call: Call, arrived: list[bool]) -> httpx.Response:
        url = f"{self.api_url}/{call.path}"
        content = None if call.body is None else _encode(call.body)
        headers = {"Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        for second_try in (False, True):
            response, token = self._attempt(call, url, content, headers, arrived)
            if response.status_code != 401:
                return response
            self.tokens.invalidate(token)
            if not second_try:
                log.info("The API refused the access token; signing in again")
        raise AuthError(
            f"The Opus API refused the app's access token while {call.what}, even after "
            "signing in again. Check that the app has been granted records.readwrite.all "
            "and that the identity service address belongs to the same region as the API URL."
            + _bearer_hint(response),
            code="token_refused",
        )

    def _attempt(
        self,
        call: Call,
        url: str,
        content: bytes | None,
        headers: dict[str, str],
        arrived: list[bool],
    ) -> tuple[httpx.Response, str]:
        """One request, retried while the trouble is temporary; returns the token it used.

        Appends to `arrived`, for each sending, whether the service may have acted on it.
        """
        import httpx

        used: list[str] = []

        def send() -> httpx.Response:
            token = self.tokens.token()  # cached; renewed here if a long retry outlived it
            used.append(token)
            try:
                response = self.http.request(
                    call.method,
                    url,
                    params=call.params,
                    content=content,
                    headers={**headers, "Authorization": f"Bearer {token}"},
                )
            except httpx.TransportError as exc:
                arrived.append(_may_have_arrived(exc))
                raise
            # 401 and 429 refuse before doing anything; a gateway error may hide work done.
            arrived.append(response.status_code not in (401, 429))
            return response

        response = self.retry.call(send, call.what)
        return response, used[-1]

    def _failure(
        self, call: Call, response: httpx.Response, status: int, body: dict[str, object] | None
    ) -> OpusError:
        said = _service_message(body)
        if status == 400:
            return RequestRejected(
                f"The service refused the request while {call.what}: "
                + (said or f"it gave no reason ({describe_reply(response)})."),
                service_message=said,
            )
        if status == 403:
            return AuthError(
                f"The Opus API did not allow {call.what}: the app may lack the "
                "records.readwrite.all permission, or the connection "
                f"{self.connection_id} belongs to another tenant."
                + (f" The service said: {said}" if said else ""),
                code="forbidden",
            )
        if status in (404, 405):
            return ProtocolError(
                f"Nothing at {self.api_url}/{call.path} handles {call.what} "
                f"({describe_reply(response)}). Check the API URL, the protocol "
                f"(now {self.protocol.name})"
                + (" and the destroy path" if "destroyed" in call.what else "")
                + " in the profile.",
                status=status,
            )
        if status == 500:
            return ServerError(
                f"The service failed while {call.what}"
                + (f": {said}" if said else f" ({describe_reply(response)}).")
                + " Try again later; if it keeps failing, tell the Opus administrator.",
                status=status,
                service_message=said,
            )
        if 300 <= status < 400:
            return ProtocolError(
                f"The service answered {call.what} with a redirect, which the Opus API never "
                f"gives ({describe_reply(response)}). Check the API URL in the profile (https, "
                "the exact host), or ask IT about a proxy or sign-in page in between.",
                status=status,
                brief="a redirect instead of the API's reply",
            )
        return ProtocolError(
            f"The service's reply to {call.what} is not one the Opus API promises: "
            f"{describe_reply(response)}.",
            status=status,
        )


def _may_have_arrived(exc: httpx.TransportError) -> bool:
    """False only when the request certainly never reached the service."""
    import httpx

    never_sent = (
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.PoolTimeout,
        httpx.ProxyError,
        httpx.UnsupportedProtocol,
    )
    return not isinstance(exc, never_sent)


def _make_protocol(name: str, destroy_path: str, date_format: str) -> ConnectorProtocol:
    if name == "graph":
        return GraphProtocol()
    if name != "legacy":
        raise SettingsError(f"The protocol {name!r} is unknown: use graph or legacy.")
    # An empty path is allowed: submit and due work, and the protocol refuses a destroy.
    path = destroy_path.strip().strip("/")
    if path and ("://" in path or any(c in path for c in "?# ")):
        raise SettingsError(
            f"The destroy path {destroy_path!r} must be a path on the API URL such as "
            "api/connector/DisposeRecords."
        )
    try:
        check_format(date_format)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    return LegacyProtocol(path, date_format)


def _conflict_option(conflict: str) -> str:
    for option in CONFLICT_OPTIONS:
        if conflict.strip().casefold() == option.casefold():
            return option
    raise InvalidRequest(f"The conflict option {conflict!r} is unknown: use Overwrite or Skip.")


def _record_keys(records: Sequence[Mapping[str, object]]) -> list[str]:
    if not records:
        raise InvalidRequest("There are no records to submit.")
    if len(records) > MAX_PER_CALL:
        raise TooManyRecords(
            f"Opus takes at most {MAX_PER_CALL} records per call; {len(records)} were given."
        )
    keys: list[str] = []
    for position, record in enumerate(records, start=1):
        key = record.get("rowKey") if isinstance(record, Mapping) else None
        if not isinstance(key, str) or not key.strip():
            raise InvalidRequest(f"Record {position} of this call has no row key (rowKey).")
        if key in keys:
            raise InvalidRequest(f"The row key {key!r} appears twice in this call.")
        for column, value in record.items():
            try:
                _encode(value)
            except (TypeError, ValueError):
                raise InvalidRequest(
                    f"The value {value!r} in column {column} of record {key!r} cannot be sent "
                    "(it is not text, a number, true/false or a list of these)."
                ) from None
        keys.append(key)
    return keys


def _checked_keys(row_keys: Sequence[str]) -> list[str]:
    if isinstance(row_keys, str):
        row_keys = [row_keys]
    if not row_keys:
        raise InvalidRequest("There are no records to mark destroyed.")
    if len(row_keys) > MAX_PER_CALL:
        raise TooManyRecords(
            f"Opus takes at most {MAX_PER_CALL} records per call; {len(row_keys)} were given."
        )
    keys: list[str] = []
    for key in row_keys:
        if not isinstance(key, str) or not key.strip():
            raise InvalidRequest(f"{key!r} is not a row key.")
        if key in keys:
            raise InvalidRequest(f"The row key {key!r} appears twice in this call.")
        keys.append(key)
    return keys


def _encode(value: object) -> bytes:
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")


def _json_body(response: httpx.Response, call: Call) -> dict[str, object] | None:
    """The reply's JSON object, None for an empty body; non-JSON is an error only if read.
    A body cut at the size limit is an error whatever its status."""
    limit = too_large(response)
    if limit is not None:
        raise ProtocolError(
            f"The service's reply to {call.what} is larger than {limit // (1024 * 1024)} MB, "
            f"far more than any Opus reply, so it was not read: {describe_reply(response)}.",
            status=response.status_code,
            brief="a reply far too large to be the API's",
        )
    if not response.content.strip():
        return None
    try:
        value = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        value = _NOT_JSON
    if isinstance(value, dict):
        return value
    if response.status_code in _READABLE:
        what = (
            "is not JSON" if value is _NOT_JSON else f"is a JSON {_json_kind(value)}, not an object"
        )
        raise ProtocolError(
            f"The service's reply to {call.what} {what}: {describe_reply(response)}.",
            status=response.status_code,
            brief=f"a reply that {what.split(',')[0]}",
        )
    return None  # an error page: the status says enough


_NOT_JSON = object()


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "null"
    return "number"


def _effective_status(status: int, body: dict[str, object] | None) -> int:
    """The status the body gives, when HTTP says 2xx and the body (or its nested "error"
    object) says 400 or more; else the HTTP status."""
    if body is None or not 200 <= status < 300:
        return status
    for document in (body, _field(body, "error")):
        if not isinstance(document, dict):
            continue
        value = _field(document, "statuscode")
        if isinstance(value, int) and not isinstance(value, bool) and value >= 400:
            return value
    return status


def _field(body: dict[str, object], name: str) -> object:
    """The value of `name` in `body`, the key's case ignored; None when missing."""
    for key, value in body.items():
        if key.casefold() == name:
            return value
    return None


def _service_message(body: dict[str, object] | None) -> str:
    """What the service said: its message (a list of them joined), the description or the
    title of an error, or the message of an error nested as {"error": {"message": ...}};
    "" when it said nothing."""
    if body is None:
        return ""
    nested = _field(body, "error")
    for document in (body, nested if isinstance(nested, dict) else None):
        if document is None:
            continue
        for key in ("message", "error_description", "error", "title", "detail"):
            text = _text(_field(document, key))
            if text:
                return snippet(text, 300)
    return ""


def _text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return " ".join(part.strip() for part in value if isinstance(part, str) and part.strip())
    return ""


def _bearer_hint(response: httpx.Response) -> str:
    header = response.headers.get("WWW-Authenticate", "")
    marker = 'error_description="'
    if marker not in header:
        return ""
    said = header.split(marker, 1)[1].split('"', 1)[0]
    return f" (the API said: {snippet(said, 200)})" if said else ""
