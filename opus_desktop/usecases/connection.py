"""Opening a profile's connection: the one place the certificate's password is found.

    connection = open_connection(profile, ask=terminal_prompt)   # the command line
    connection = try_open(profile)         # the window, in a worker: None = ask, then
    connection = Access(password=typed).open(profile)            # ... open with the answer

The password comes from, in order: the caller (typed in a dialog), the environment
variable the profile names, the OS keyring (or this session's memory), then `ask`. Each of
these may block (the keyring takes a tenth of a second), so the window calls them from a
worker thread, never from its own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opus_desktop.jobs.connect import Connection, connect, password_needed, plain_pem_key
from opus_desktop.opus.errors import CertificateError, WrongPassword
from opus_desktop.profiles import Profile, ProfileError, certificate_password

if TYPE_CHECKING:
    from opus_desktop.opus.retry import RetryPolicy

# Asked with the prompt text; returns the password, or None when none is given.
AskPassword = Callable[[str], str | None]
# Told that a use case signed in: the profile, and the seconds its token has left.
SignedIn = Callable[[Profile, float], None]

log = logging.getLogger(__name__)
_signed_in: list[SignedIn] = []
_signed_in_lock = threading.Lock()


def on_signed_in(listener: SignedIn) -> Callable[[], None]:
    """Have `listener` told, from the thread of the use case, each time one is done with a
    connection that signed in (so the window's sign-in line follows runs, not only its
    test). Returns the function that stops it."""
    with _signed_in_lock:
        _signed_in.append(listener)

    def stop() -> None:
        with _signed_in_lock:
            if listener in _signed_in:
                _signed_in.remove(listener)

    return stop


def tell_signed_in(connection: Connection) -> None:
    """Tell the listeners when `connection` holds a token; a listener's error is logged."""
    left = connection.tokens.seconds_left()
    if not left:
        return
    with _signed_in_lock:
        listeners = list(_signed_in)
    for listener in listeners:
        try:
            listener(connection.profile, left)
        except Exception:  # hearing about it must not break the use case
            log.exception("a sign-in listener failed")


@contextlib.contextmanager
def opened(access: Access, profile: Profile) -> Iterator[Connection]:
    """The connection `access` gives, closed at the end, its sign-in told (tell_signed_in)."""
    with access.open(profile) as connection:
        try:
            yield connection
        finally:
            tell_signed_in(connection)


def retry_policy() -> RetryPolicy:
    """The client's own retries for each call; a run retries what is still unanswered.
    Tests make them quick."""
    from opus_desktop.opus.retry import RetryPolicy  # httpx: loaded by the first run

    return RetryPolicy()


@dataclass(frozen=True)
class Access:
    """How a use case reaches the service: a connection opened already, or the password
    to open one with (None: the profile's variable, the keyring, then `ask`)."""

    connection: Connection | None = None
    password: str | None = None
    ask: AskPassword | None = None

    def open(self, profile: Profile) -> Connection:
        if self.connection is not None:
            return self.connection
        return open_connection(profile, password=self.password, ask=self.ask)


def open_connection(
    profile: Profile, *, password: str | None = None, ask: AskPassword | None = None
) -> Connection:
    """The profile's connection, with the first password found (see the module's
    docstring). ProfileError, in one sentence, when the certificate needs a password and
    none was found; CertificateError when the one found does not open it."""
    if password is None and not _plain_and_unset(profile):
        password = find_password(profile, ask)
    return _telling(connect(profile, password, retry=retry_policy()))


def _telling(connection: Connection) -> Connection:
    """`connection`, each new token it fetches told as it comes (tell_signed_in), so the
    window's sign-in line says signed in once a run has signed in, not when it ends."""
    tokens = connection.tokens
    fetch = tokens.token

    def token() -> str:
        before = tokens.expires_at
        value = fetch()
        if tokens.expires_at != before:
            tell_signed_in(connection)
        return value

    tokens.token = token  # type: ignore[method-assign]
    return connection


def _plain_and_unset(profile: Profile) -> bool:
    """A key that opens without a password, and no variable that gives one: the keyring
    is not asked (its lookup is a tenth of a second of every submit)."""
    variable = profile.cert_password_env
    return plain_pem_key(profile) and not (variable and os.environ.get(variable) is not None)


def try_open(profile: Profile) -> Connection | None:
    """The connection, opened with what the profile's variable or the keyring give; None
    when the certificate needs a password nothing gave (the window then asks). Opening the
    key once, not also to ask whether it needs a password, spares a tenth of a second."""
    password = certificate_password(profile)
    try:
        return _telling(connect(profile, password, retry=retry_policy()))
    except WrongPassword:
        variable = profile.cert_password_env
        if variable and os.environ.get(variable) == password:
            raise
        return None  # a kept password that no longer opens it, forgotten now: ask
    except CertificateError:
        if password is None and password_needed(profile):
            return None
        raise


@dataclass(frozen=True)
class StoredPassword:
    """What the profile's variable or the keyring give (in a worker: it may block)."""

    password: str | None
    needed: bool  # the certificate needs a password and nothing gave one: ask


def remembered_password(profile: Profile) -> str | None:
    """The password the profile's variable, this session or the keyring give, if any."""
    return certificate_password(profile)


def stored_password(profile: Profile) -> StoredPassword:
    password = certificate_password(profile)
    return StoredPassword(password, password is None and password_needed(profile))


def find_password(profile: Profile, ask: AskPassword | None = None) -> str | None:
    """The certificate's password from the profile's variable, the keyring or `ask`; None
    when it needs none. ProfileError when it needs one and none was found."""
    password = certificate_password(profile)
    if password is not None or not password_needed(profile):
        return password
    if ask is not None:
        password = certificate_password(profile, ask)
    if password is None:
        raise ProfileError(missing_password(profile, asked=ask is not None))
    return password


def missing_password(profile: Profile, *, asked: bool) -> str:
    certificate = profile.cert_pfx or profile.key_pem
    if profile.cert_password_env:
        source = f"the environment variable {profile.cert_password_env} the profile names is unset"
    else:
        source = "the profile names no environment variable for it (--cert-password-env)"
    last = "none was typed in" if asked else "there is no terminal to type it in"
    return (
        f'The certificate {certificate} of profile "{profile.name}" needs its password, but '
        f"{source}, none is stored in the keyring, and {last}."
    )
