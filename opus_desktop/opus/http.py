"""The one httpx.Client the app uses, and words for replies that are not what was promised.

TLS is checked against the operating system's trust store (truststore), so a company's own
root certificate, installed by IT, is trusted as in the browser. Proxies come from the
system (HTTPS_PROXY, NO_PROXY, the Windows and macOS proxy settings) unless a proxy is
named or `system_proxy` is off. Each request is logged at INFO as method, host, path,
status and time: never a query string, header or body.
"""

from __future__ import annotations

import logging
import re
import ssl
import time
from typing import TypeAlias

import httpx
import truststore

from opus_desktop import __version__

log = logging.getLogger(__name__)

USER_AGENT = f"opus-desktop/{__version__}"
# Named here so that layers above (jobs/), which may not import httpx, can type a transport.
Transport: TypeAlias = httpx.BaseTransport
_STARTED = "opus_desktop.started"


def make_http_client(
    verify: bool = True,
    proxy: str | None = None,
    timeout: float = 30.0,
    transport: Transport | None = None,
    connect_timeout: float | None = None,
    system_proxy: bool = True,
) -> httpx.Client:
    """A client for the identity service and the API; close it when done (or use `with`).

    `timeout` bounds each wait for the network; `connect_timeout`, when given, bounds
    opening a connection instead (a host that does not answer at all is found out sooner
    than a slow reply). `verify=False` turns TLS checks off (only ever for a local test
    server). `transport` replaces the network, for tests and for an in-process emulator.
    `proxy` names the proxy to use; without one, `system_proxy` says whether the system's
    proxy settings apply (False: connect directly).
    """
    tls: ssl.SSLContext | bool = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT) if verify else False
    return httpx.Client(
        verify=tls,
        proxy=proxy,
        trust_env=proxy is None and system_proxy,
        timeout=httpx.Timeout(timeout, connect=connect_timeout or timeout),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        transport=transport,
        event_hooks={"request": [_note_start], "response": [_log_response]},
    )


def _note_start(request: httpx.Request) -> None:
    request.extensions[_STARTED] = time.monotonic()


def _log_response(response: httpx.Response) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    request = response.request
    started = request.extensions.get(_STARTED)
    elapsed = f"{(time.monotonic() - started) * 1000:.0f} ms" if isinstance(started, float) else "?"
    log.info(
        "%s %s%s -> %d in %s",
        request.method,
        request.url.host,
        request.url.path,
        response.status_code,
        elapsed,
    )


_REMOVED = "[removed]"
# A value ends at white space, a quote, or what separates fields in a form, JSON or a header.
_VALUE_END = r"\s\"'&,;}\]\\"
# What was already removed stays as it is: redacting twice gives what redacting once gives.
_VALUE = rf"(?:\[removed\]|[^{_VALUE_END}]+)"
_SECRETS = re.compile(
    rf"""(?ix)
    (?P<userinfo>\b[a-z][a-z0-9+.-]*://[^\s/:@'"]+:)[^\s/@'"]+(?=@)   # https://user:SECRET@host
    | (?P<key>[\w-]*(?:authorization|token|assertion|password|passwd|passphrase|pwd|secret))
      (?P<separator>\\?["']?\s*[:=]\s*)                  # password=, "password": , \"password\":
      (?P<value>\\?"[^"]*?\\?"|'[^']*'                   # a quoted value, spaces and all
        |(?:(?:bearer|basic|digest|negotiate|ntlm)\s+)?{_VALUE})
    | bearer\s+{_VALUE}                                    # Bearer TOKEN anywhere
    | eyJ[\w-]+\.[\w-]+\.[\w-]*                             # a JWT (a client assertion)
    """
)


def _removed(match: re.Match[str]) -> str:
    if match.group("userinfo"):
        return match.group("userinfo") + _REMOVED
    if match.group("key"):
        value = match.group("value")
        quote = '\\"' if value.startswith('\\"') else value[0] if value[0] in "\"'" else ""
        return match.group("key") + match.group("separator") + quote + _REMOVED + quote
    if match.group(0).lower().startswith("bearer"):
        return "Bearer " + _REMOVED
    return _REMOVED


def redact(text: str) -> str:
    """Remove what looks like a token, an assertion, a password or an Authorization value.

    `password=...`, `"access_token": "..."`, `Authorization: Bearer ...`, a JWT anywhere,
    and the password in `https://user:password@host`; the names stay, so a log still says
    what was there.
    """
    return _SECRETS.sub(_removed, text)


def snippet(text: str, limit: int = 200) -> str:
    """The first `limit` characters of `text` on one line, secrets removed."""
    flat = " ".join(redact(text).split())
    return flat if len(flat) <= limit else flat[:limit].rstrip() + "…"


def describe_reply(response: httpx.Response, show_body: bool = True) -> str:
    """'HTTP 502 (text/html), starting "<html>…"': what arrived, for error messages."""
    kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
    head = f"HTTP {response.status_code} ({kind})"
    body = response.text if response.content else ""
    if not body.strip():
        return f"{head} with an empty body"
    if not show_body:
        return head
    return f'{head}, starting "{snippet(body)}"'
