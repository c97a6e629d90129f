"""Words for what came back and secrets taken out of text, without the HTTP stack.

Apart from opus/http.py so that the log, the window's error text and the modules whose
constants the window needs at start can use them without loading httpx: nothing here
imports it (a reply is only read, never made).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

# Set on a request: the seconds its whole exchange was allowed (what a timeout message says).
DEADLINE = "opus_desktop.deadline"
# Set on a response whose body was cut at the size limit: that limit, in bytes.
TOO_LARGE = "opus_desktop.too_large"
_SHOWN_BYTES = 4096  # of a reply, in a message

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
    """The first `limit` characters of `text` on one line, secrets removed.

    Only the start is looked at (redacting a long run of letters takes time that grows
    with its square: a 20 MB reply would never be told). Its last word, which the cut may
    have split where redact would not know it for a secret, is left out.
    """
    window = max(limit * 5, 1000)
    cut = len(text) > window
    if cut:
        text = text[:window]
        words = text.rsplit(None, 1)
        if len(words) == 2 and words[0].strip():
            text = words[0]
    flat = " ".join(redact(text).split())
    return flat[:limit].rstrip() + "…" if cut or len(flat) > limit else flat


def too_large(response: httpx.Response) -> int | None:
    """The size limit a reply's body was cut at, or None for a reply read whole."""
    limit = response.extensions.get(TOO_LARGE)
    return limit if isinstance(limit, int) else None


def describe_reply(response: httpx.Response, show_body: bool = True) -> str:
    """'HTTP 502 (text/html), starting "<html>…"': what arrived, for error messages. A
    redirect names where it points; a body cut at the size limit says so."""
    kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
    head = f"HTTP {response.status_code} ({kind})"
    location = response.headers.get("Location", "").strip()
    if 300 <= response.status_code < 400 and location:
        head += f", a redirect to {snippet(location, 120)}"
    limit = too_large(response)
    if limit is not None:
        head += f", larger than {limit // (1024 * 1024)} MB"
    if not response.content.strip():
        return f"{head} with an empty body"
    if not show_body:
        return head
    # The start is enough to say what it is; a cut character at its end is replaced.
    start = response.content[:_SHOWN_BYTES].decode(response.encoding or "utf-8", "replace")
    return f'{head}, starting "{snippet(start)}"'
