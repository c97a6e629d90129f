"""Requests and replies as the sandbox's endpoints see them, apart from the HTTP server."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def media_type(self) -> str:
        return self.header("content-type").split(";")[0].strip().lower()

    def query_params(self) -> dict[str, str]:
        """The query string; ValueError when a parameter is given twice."""
        pairs = parse_qsl(self.query, keep_blank_values=True)
        params = dict(pairs)
        if len(params) != len(pairs):
            raise ValueError("A query parameter is given more than once.")
        return params


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection instead of answering (a fault)

    @classmethod
    def json(cls, status: int, payload: object, headers: dict[str, str] | None = None) -> Reply:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(
            status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        )


class BadJson(ValueError):
    """A body that is not the JSON the endpoint wants; the message says why."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadJson(f"The field {key!r} appears twice in one object.")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise BadJson(f"{name} is not a JSON number.")


def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; BadJson otherwise (wrong type, NaN, repeated keys)."""
    if request.media_type() != "application/json":
        raise BadJson("The request body must be JSON, sent with Content-Type: application/json.")
    try:
        text = request.body.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except BadJson:
        raise
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadJson(f"The request body is not valid JSON ({exc}).") from None
    if not isinstance(value, dict):
        raise BadJson("The request body must be a JSON object.")
    return value


class Stats:
    """Counters shared by the request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def add(self, key: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + amount

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)
