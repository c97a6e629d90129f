"""The connector API, both generations, over the tenant's state.

Where Opus's documentation is silent the sandbox is strict, so that a client that works
here sends exactly what the documentation allows. The shapes it uses:

Every call needs "Authorization: Bearer <live access token>", else 401
    Graph {"statusCode": 401, "message": ...}; legacy {"Message": ...}.
Bodies are JSON objects sent as application/json, UTF-8, without repeated keys, NaN or
Infinity, and without fields other than those listed below; otherwise 400
    Graph {"statusCode": 400, "message": ...}; legacy {"Message": ...}.

Submit    Graph  POST /records/connector/records
          Legacy POST /api/connector/SubmitRecords
    {"id": GUID of a known connection, "conflictOption": "Overwrite"|"Skip", "data": [1..15 items]}
    (legacy also takes the misspelt "confilictOption"; both spellings must then agree).
    The whole request is refused (400) for a bad id or option, `data` not a list of 1..15
    objects, an item without a non-empty string rowKey, a rowKey twice, or a key that is
    not a column of the connection. Each item is then checked on its own; a failing item
    is not stored, the others are. Per item: rowKey, leafName, timeCreated, timeModified
    need a value; null means "no value" for the other columns, and "" is a value only for
    text columns. SingleText is a string of at most 255 characters, MultipleText a string,
    DateTime a string exactly in the tenant's date format, Number a JSON number,
    SingleChoice one option number of that column, MultipleChoice a list of distinct option
    numbers, PeopleOrGroup a list of e-mail addresses, Taxonomy one known term path of that
    column. Skip leaves an existing record unchanged (a success, counted as skipped);
    Overwrite replaces all its values, except that a destroyed record is an item failure.
    Graph: 201 {"statusCode": 201, "message": "<n> records submitted."} when every item
    succeeded, else 418 {"statusCode": 418, "message": ..., "failedItems": [{"item": rowKey,
    "message": why}]}. Legacy: 200 {"Message": ...} plus "FailedItems": [{"Item": <the
    submitted item>, "Message": why}] when some failed.

Due records  Graph  GET  /records/connector/records?id=&disposalDueDate=&startIndex=&itemsPerPage=
             Legacy POST /api/connector/GetDueRecords
                    {"id", "disposalDueDate", "startIndex", "itemsPerPage"}
    disposalDueDate is ISO 8601 on Graph (an offset is turned into UTC; without one the
    time is taken as is) and the tenant's date format on legacy. itemsPerPage is an
    integer 1..100 (a JSON integer on legacy, digits on Graph). startIndex is empty or
    absent for the first page, then the continuation token of the previous reply: a random
    id of a server-side cursor for the same connection and disposalDueDate (anything else
    is 400). Records are due when timeCreated plus the retention years of their
    termFullPath term is on or before disposalDueDate; destroyed records never show;
    order is (due date, rowKey). Each item maps every column's internal name to a display
    string ("" for no value; choice labels; lists joined with "; "; dates in the tenant
    format followed by a space, as the real service writes them) plus "disposalDueDate".
    Graph: 200 {"statusCode": 200, "message", "startIndex": next token or "", "queriedItems"}
    or 204 with an empty body when the page is empty. Legacy: 200 {"message", "pageIndex":
    next token or "", "queriedItems"}.

Destroy   Graph  DELETE /records/connector/records {"disposalIds": [1..15 distinct row keys]}
          Legacy POST   /api/connector/DisposeRecords (same body; no public document names
                        this path, so it is the sandbox's own: LEGACY_DESTROY_PATH)
    A key fails when no record has it, it is already destroyed, its disposal is awaiting
    approval or rejected, or the record is not due yet (as of now); the others are marked
    destroyed. Graph: 200 {"statusCode": 200, "message"} when every key was destroyed, else
    418 {"statusCode": 418, "message", "failedItems": [{"item": key, "message": why}]} (the
    Graph pages' "Exist Failed Data Operation", used for submitting and destroying); legacy:
    200 {"message", "failedItems": ["key", ...]} as the seed shows.

All dates are naive and taken as UTC. Unknown paths are 404, a wrong method 405.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from opus_desktop.sandbox.dates import DatePattern
from opus_desktop.sandbox.tenant import Cursor, Tenant
from opus_desktop.sandbox.values import Connection, check_item, display, is_guid, iso
from opus_desktop.sandbox.wire import BadJson, Reply, Request, Stats, json_object

GRAPH = "graph"
LEGACY = "legacy"
BATCH_LIMIT = 15
LEGACY_DESTROY_PATH = "api/connector/DisposeRecords"
PAGE_LIMIT = 100
CONFLICT_OPTIONS = ("Overwrite", "Skip")


class BadRequest(Exception):
    """The whole request is refused with 400; the message says why."""


def error(
    generation: str, status: int, message: str, headers: dict[str, str] | None = None
) -> Reply:
    if generation == GRAPH:
        return Reply.json(status, {"statusCode": status, "message": message}, headers)
    return Reply.json(status, {"Message": message}, headers)


def _now() -> str:
    return iso(datetime.now(UTC))


class ConnectorApi:
    def __init__(self, tenant: Tenant, pattern: DatePattern, stats: Stats) -> None:
        self.tenant = tenant
        self.pattern = pattern  # the tenant's date format
        self.stats = stats

    def handle(self, generation: str, operation: str, request: Request) -> Reply:
        try:
            if operation == "submit":
                return self.submit(generation, request)
            if operation == "due":
                return self.due(generation, request)
            return self.destroy(generation, request)
        except (BadRequest, BadJson) as exc:
            return error(generation, 400, str(exc))

    # -- submit -----------------------------------------------------------------------------

    def submit(self, generation: str, request: Request) -> Reply:
        body = json_object(request)
        allowed = {"id", "conflictOption", "data"} | (
            {"confilictOption"} if generation == LEGACY else set()
        )
        _only(body, allowed)
        connection = self._connection(body.get("id"))
        overwrite = _conflict_option(body, generation) == "Overwrite"
        items = _items(body.get("data"), connection)
        pattern = self.pattern
        failures: list[tuple[dict[str, Any], str]] = []
        good: list[tuple[str, dict[str, Any], str | None]] = []
        by_key: dict[str, dict[str, Any]] = {}
        for item in items:
            values, why = check_item(connection, item, pattern)
            if why:
                failures.append((item, why))
            else:
                good.append((item["rowKey"], values, connection.due_at(values)))
                by_key[item["rowKey"]] = item
        outcome = self.tenant.write_records(connection.id, good, overwrite, _now())
        for key, result in outcome.items():
            if result == "destroyed":
                failures.append(
                    (by_key[key], f"Record {key!r} has been destroyed and cannot be overwritten.")
                )
        order = {id(item): index for index, item in enumerate(items)}
        failures.sort(key=lambda failure: order[id(failure[0])])
        written = sum(1 for result in outcome.values() if result == "written")
        skipped = sum(1 for result in outcome.values() if result == "skipped")
        self.stats.add("records_written", written)
        self.stats.add("records_skipped", skipped)
        self.stats.add("records_failed", len(failures))
        stored = written + skipped
        message = f"{stored} records submitted." + (
            f" {skipped} skipped: they exist already." if skipped else ""
        )
        if failures:
            message = f"{stored} of {len(items)} records submitted; {len(failures)} failed."
        if generation == GRAPH:
            if not failures:
                return Reply.json(201, {"statusCode": 201, "message": message})
            failed = [{"item": item["rowKey"], "message": why} for item, why in failures]
            return Reply.json(418, {"statusCode": 418, "message": message, "failedItems": failed})
        reply: dict[str, Any] = {"Message": message}
        if failures:
            reply["FailedItems"] = [{"Item": item, "Message": why} for item, why in failures]
        return Reply.json(200, reply)

    # -- due records ---------------------------------------------------------------------------

    def due(self, generation: str, request: Request) -> Reply:
        pattern = self.pattern
        if generation == GRAPH:
            try:
                params: dict[str, Any] = request.query_params()
            except ValueError as exc:
                raise BadRequest(str(exc)) from None
            _only(params, {"id", "disposalDueDate", "startIndex", "itemsPerPage"})
            before = _iso_date(params.get("disposalDueDate"))
            raw = params.get("itemsPerPage")
            per_page = int(raw) if isinstance(raw, str) and re.fullmatch(r"\d{1,3}", raw) else raw
        else:
            params = json_object(request)
            _only(params, {"id", "disposalDueDate", "startIndex", "itemsPerPage"})
            before = _tenant_date(params.get("disposalDueDate"), pattern)
            per_page = params.get("itemsPerPage")
        if type(per_page) is not int or not 1 <= per_page <= PAGE_LIMIT:
            raise BadRequest(
                f"itemsPerPage must be a whole number from 1 to {PAGE_LIMIT}, not {per_page!r}."
            )
        connection = self._connection(params.get("id"))
        after = self._resume(params.get("startIndex"), connection.id, before)
        rows = self.tenant.due_rows(connection.id, before, after, per_page + 1)
        page, more = rows[:per_page], len(rows) > per_page
        token = ""
        if more:
            last = page[-1]
            token = self.tenant.new_cursor(Cursor(connection.id, before, last.due_at, last.row_key))
        items = []
        for row in page:
            shown = display(connection, row.values, pattern)
            shown["disposalDueDate"] = pattern.format(datetime.fromisoformat(row.due_at)) + " "
            items.append(shown)
        message = f"{len(items)} due records."
        if generation == GRAPH:
            if not items:
                return Reply(204)
            return Reply.json(
                200,
                {"statusCode": 200, "message": message, "startIndex": token, "queriedItems": items},
            )
        return Reply.json(200, {"message": message, "pageIndex": token, "queriedItems": items})

    def _resume(self, token: object, connection_id: str, before: str) -> tuple[str, str] | None:
        if token is None or token == "":
            return None
        if not isinstance(token, str):
            raise BadRequest(
                "startIndex must be the continuation token of the previous page, as text."
            )
        cursor = self.tenant.cursor(token)
        if cursor is None:
            raise BadRequest(
                "startIndex is not a continuation token this service gave, or it is too old."
            )
        if cursor.connection_id != connection_id or cursor.before != before:
            raise BadRequest(
                "startIndex belongs to a query for another connection or disposal due date."
            )
        return cursor.after_due, cursor.after_key

    # -- destroy -------------------------------------------------------------------------------

    def destroy(self, generation: str, request: Request) -> Reply:
        body = json_object(request)
        _only(body, {"disposalIds"})
        keys = body.get("disposalIds")
        if not isinstance(keys, list) or not 1 <= len(keys) <= BATCH_LIMIT:
            raise BadRequest(f"disposalIds must be a list of 1 to {BATCH_LIMIT} row keys.")
        if not all(isinstance(key, str) and key for key in keys):
            raise BadRequest("Every row key in disposalIds must be non-empty text.")
        if len(set(keys)) != len(keys):
            raise BadRequest("A row key appears twice in disposalIds.")
        outcome = self.tenant.destroy(keys, _now())
        failed = [(key, why) for key, why in outcome.items() if why]
        destroyed = len(keys) - len(failed)
        self.stats.add("records_destroyed", destroyed)
        message = f"{destroyed} of {len(keys)} records marked as destroyed."
        if generation == GRAPH:
            if not failed:
                return Reply.json(200, {"statusCode": 200, "message": message})
            items = [{"item": key, "message": why} for key, why in failed]
            return Reply.json(418, {"statusCode": 418, "message": message, "failedItems": items})
        return Reply.json(200, {"message": message, "failedItems": [key for key, _ in failed]})

    def _connection(self, connection_id: object) -> Connection:
        if connection_id is None:
            raise BadRequest("The connection id (id) is missing.")
        if not is_guid(connection_id):
            raise BadRequest(f"The connection id {connection_id!r} is not a GUID.")
        connection = self.tenant.connection(str(connection_id))
        if connection is None:
            raise BadRequest(f"There is no connection with the id {connection_id}.")
        return connection


def _only(fields: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise BadRequest(
            f"Unknown field {unknown[0]!r}; expected only {', '.join(sorted(allowed))}."
        )


def _conflict_option(body: dict[str, Any], generation: str) -> str:
    given = [body[key] for key in ("conflictOption", "confilictOption") if key in body]
    if not given:
        raise BadRequest("conflictOption is missing; it must be Overwrite or Skip.")
    if len(given) == 2 and given[0] != given[1]:
        raise BadRequest("conflictOption and confilictOption disagree.")
    if given[0] not in CONFLICT_OPTIONS:
        raise BadRequest(f"conflictOption must be Overwrite or Skip, not {given[0]!r}.")
    return str(given[0])


def _items(data: object, connection: Connection) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not 1 <= len(data) <= BATCH_LIMIT:
        raise BadRequest(f"data must be a list of 1 to {BATCH_LIMIT} records.")
    seen: set[str] = set()
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise BadRequest(f"Record {number} in data is not a JSON object.")
        key = item.get("rowKey")
        if not isinstance(key, str) or not key.strip():
            raise BadRequest(f"Record {number} in data has no rowKey.")
        if key in seen:
            raise BadRequest(f"The rowKey {key!r} appears twice in one request.")
        seen.add(key)
        unknown = [name for name in item if name not in connection.columns]
        if unknown:
            raise BadRequest(
                f"Record {key!r} has the field {unknown[0]!r}, "
                "which is not a column of this connection."
            )
    return data


def _iso_date(text: object) -> str:
    if not isinstance(text, str) or not text:
        raise BadRequest("disposalDueDate is missing; give it in ISO 8601 (2024-04-01T00:59:34).")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"disposalDueDate {text!r} is not an ISO 8601 date and time.") from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return iso(value)


def _tenant_date(text: object, pattern: DatePattern) -> str:
    if not isinstance(text, str) or not text:
        raise BadRequest(f"disposalDueDate is missing; give it in the format {pattern.pattern!r}.")
    try:
        return iso(pattern.parse(text))
    except ValueError as exc:
        raise BadRequest(f"disposalDueDate: {exc}") from None
