"""Opening a profile's connection to Opus, and testing it step by step.

    with connect(profile, password) as connection:
        page = connection.client.due_page(datetime.now(UTC), per_page=50)

    for step in test_connection(profile, password):   # the CLI prints, the GUI ticks boxes
        print("ok  " if step.ok else "FAIL", step.name, step.detail)

`connect` checks the profile, opens the certificate (an expired one is refused here,
before any call) and wires the HTTP client, the token provider and the OpusClient
together with the profile's settings. `test_connection` does the same one step at a
time and yields each step as soon as it is known, so a worker thread can show progress;
it stops at the first step that fails. The proxy and the timeout come from the app
settings (settings.py) unless the profile names a proxy or the caller a timeout.
Nothing here imports httpx or Qt; the opus modules that do are loaded when a connection is
first wired, so the window starts without them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from opus_desktop import settings as app_settings
from opus_desktop.errors import AppError
from opus_desktop.opus.credentials import WARN_DAYS, CertificateInfo, Credential
from opus_desktop.opus.errors import CertificateError, Failure, WrongPassword
from opus_desktop.profiles import Profile, ProfileError, password_opened, password_refused

if TYPE_CHECKING:
    from opus_desktop.opus.auth import TokenProvider
    from opus_desktop.opus.client import OpusClient
    from opus_desktop.opus.http import Transport
    from opus_desktop.opus.retry import RetryPolicy

log = logging.getLogger(__name__)

# Normal work: patient, since a long run should ride out a busy service. The request
# timeout setting replaces it; this is that setting's default.
DEFAULT_TIMEOUT = app_settings.REQUEST_TIMEOUT.default
# `profile test`: a person is waiting, so an unreachable service must be reported within
# about ten seconds (4 tries of at most 2 s to connect, plus under 2 s of backoff), while a
# slow but working service still gets 8 s to answer.
TEST_TIMEOUT = 8.0
TEST_CONNECT_TIMEOUT = 2.0

PROFILE = "Profile"
CERTIFICATE = "Certificate"
DISCOVERY = "Discovery"
TOKEN = "Token"
DUE_RECORDS = "Due records"
STEPS = (PROFILE, CERTIFICATE, DISCOVERY, TOKEN, DUE_RECORDS)


TEST_PATIENCE = 10.0  # a connection test gives up on a call after this long, tries included


def quick_retry() -> RetryPolicy:
    """The short, bounded retry of a connection test: a service that drips its answers
    is told after two tries, not four deadlines."""
    from opus_desktop.opus.retry import RetryPolicy

    policy = RetryPolicy(attempts=4, base=0.25, cap=1.0, retry_after_cap=2.0)
    policy.listen(_deaf, patience=TEST_PATIENCE)
    return policy


def _deaf(kind: Failure, status: int | None, delay: float) -> None:
    """A connection test shows no waits: its steps say how each call went."""


# -- the certificate --------------------------------------------------------------------------


def open_certificate(profile: Profile, password: str | None) -> Credential:
    """The profile's certificate and key, refused (CertificateError) unless valid now. A
    typed password that opens it is remembered; a kept one that does not is forgotten."""
    from opus_desktop.opus.certificate import load_certificate  # cryptography: when used

    try:
        credential = load_certificate(
            pfx=Path(profile.cert_pfx) if profile.cert_pfx else None,
            password=password,
            cert_pem=Path(profile.cert_pem) if profile.cert_pem and not profile.cert_pfx else None,
            key_pem=Path(profile.key_pem) if profile.key_pem and not profile.cert_pfx else None,
        )
    except WrongPassword as exc:
        if password is None:
            raise
        password_refused(profile, password)
        variable = profile.cert_password_env
        if variable and os.environ.get(variable) == password:
            raise WrongPassword(
                f"{exc.message[:-1]}: it comes from the environment variable {variable}."
            ) from None
        raise
    if password is not None:
        password_opened(profile, password)
    credential.check_usable()
    return credential


def password_needed(profile: Profile) -> bool:
    """Whether the profile's certificate cannot be opened without a password.

    A .pfx is normally protected, an exported PEM key sometimes; the answer comes from
    trying, so an unprotected file never makes anyone type a password.
    """
    from opus_desktop.opus.certificate import load_certificate

    try:
        load_certificate(
            pfx=Path(profile.cert_pfx) if profile.cert_pfx else None,
            cert_pem=Path(profile.cert_pem) if profile.cert_pem and not profile.cert_pfx else None,
            key_pem=Path(profile.key_pem) if profile.key_pem and not profile.cert_pfx else None,
        )
    except CertificateError:
        if profile.cert_pfx:
            return True
        return profile.key_pem is not None and _encrypted_pem(Path(profile.key_pem))
    return False


def plain_pem_key(profile: Profile) -> bool:
    """Whether the profile's key is a PEM file that is not encrypted: it opens without a
    password, so none need be looked for (the keyring takes a tenth of a second)."""
    if profile.cert_pfx or not profile.key_pem:
        return False
    try:
        return b"ENCRYPTED" not in Path(profile.key_pem).read_bytes()
    except OSError:
        return False  # opening it says what is wrong with the file


def _encrypted_pem(path: Path) -> bool:
    try:
        return b"ENCRYPTED" in path.read_bytes()
    except OSError:
        return False  # loading it says what is wrong with the file


def certificate_warning(info: CertificateInfo, now: datetime | None = None) -> str | None:
    """A sentence when the certificate expires within 30 days, else None."""
    left = info.remaining(now)
    if left.days >= WARN_DAYS:
        return None
    days = max(left.days, 0)
    when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
    return (
        f"The certificate {info.subject} expires {when}, on {_day(info.not_after)}: create a "
        "new one, register it for the app in AvePoint Online Services > App registrations, "
        "and choose it in the profile before then."
    )


def describe_certificate(info: CertificateInfo) -> str:
    """'CN=..., valid until 2026-05-01 (412 days), thumbprint 3F2A...': for a step or a panel."""
    days = max(info.remaining().days, 0)
    return (
        f"{info.subject}, valid until {_day(info.not_after)} "
        f"({days} day{'' if days == 1 else 's'} left), thumbprint {info.thumbprint}"
    )


def tls_warning(profile: Profile) -> str | None:
    """A sentence when the profile has TLS certificate checks turned off, else None."""
    if profile.verify_tls:
        return None
    return (
        f'TLS certificate checks are turned off for profile "{profile.name}": anyone between '
        "this computer and Opus could read or change what is sent. Turn them back on in the "
        "profile unless this is a test server."
    )


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


# -- the connection ---------------------------------------------------------------------------


@dataclass
class Connection:
    """Everything needed to talk to one tenant; close it (or use `with`) when done."""

    profile: Profile
    credential: Credential
    tokens: TokenProvider
    client: OpusClient

    @property
    def certificate_warning(self) -> str | None:
        """The 30-day expiry warning for this connection's certificate, if it applies."""
        return certificate_warning(self.credential)

    @property
    def tls_warning(self) -> str | None:
        """A sentence when this profile has TLS certificate checks turned off."""
        return tls_warning(self.profile)

    def close(self) -> None:
        self.client.http.close()  # the token provider shares this HTTP client

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def connect(
    profile: Profile,
    password: str | None,
    *,
    retry: RetryPolicy | None = None,
    transport: Transport | None = None,
    timeout: float | None = None,
    connect_timeout: float | None = None,
) -> Connection:
    """Open the profile's connection. Raises ProfileError or TemplateError for the profile,
    CertificateError for the certificate (expired included), SettingsError for a URL that
    cannot work; nothing is sent yet: the first call signs in. `timeout` defaults to the
    request timeout setting."""
    connection_id = _check_profile(profile)
    credential = open_certificate(profile, password)
    return _assemble(profile, credential, connection_id, retry, transport, timeout, connect_timeout)


def _check_profile(profile: Profile) -> str:
    """The profile's connection id, once its settings and template are known to be usable."""
    # The HTTP stack (httpx, jwt) is loaded here, when a connection is first opened, not
    # when the window starts.
    from opus_desktop.opus.auth import require_secure_url

    profile.check()
    # Checked here, not first by the client, so that a bad address is blamed on the profile.
    require_secure_url(profile.identity_url, "identity service address")
    require_secure_url(profile.api_url, "API URL")
    connection_id = profile.template().connection_id
    if not connection_id:
        raise ProfileError(
            f'The connection template of profile "{profile.name}" has no connection id: '
            "download it again from Opus (Settings > Connector) and add the profile again."
        )
    return connection_id


def _assemble(
    profile: Profile,
    credential: Credential,
    connection_id: str,
    retry: RetryPolicy | None,
    transport: Transport | None,
    timeout: float | None,
    connect_timeout: float | None,
) -> Connection:
    from opus_desktop.opus.auth import TokenProvider
    from opus_desktop.opus.client import OpusClient
    from opus_desktop.opus.http import make_http_client

    network = app_settings.load()
    direct = _on_this_computer(profile)
    http = make_http_client(
        verify=profile.verify_tls,
        proxy=None if direct else profile.proxy or network.proxy(),
        system_proxy=network.system_proxy() and not direct,
        timeout=timeout if timeout is not None else network.get(app_settings.REQUEST_TIMEOUT),
        transport=transport,
        connect_timeout=connect_timeout,
    )
    try:
        tokens = TokenProvider(
            profile.identity_url, profile.client_id, credential, http, retry=retry
        )
        client = OpusClient(
            profile.api_url,
            connection_id,
            tokens,
            http,
            protocol=profile.protocol,
            destroy_path=profile.destroy_path,
            date_format=profile.date_format,
            retry=retry,
        )
    except BaseException:
        http.close()
        raise
    return Connection(profile, credential, tokens, client)


def _on_this_computer(profile: Profile) -> bool:
    """Whether both services are on this computer (the sandbox): never through a proxy."""
    hosts = {urlsplit(url).hostname for url in (profile.api_url, profile.identity_url)}
    return hosts <= {"127.0.0.1", "localhost", "::1"}


# -- the connection test ----------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of a connection test. A failed step carries the exception (`error`), whose
    `exit_code` the CLI uses; `warning` marks a step that passed with a caveat."""

    name: str
    ok: bool
    detail: str
    warning: bool = False
    error: BaseException | None = field(default=None, compare=False, repr=False)


def _failed(name: str, exc: AppError) -> Step:
    log.info("connection test: %s failed: %s", name, exc.message)
    return Step(name, False, exc.message, error=exc)


def test_connection(
    profile: Profile,
    password: str | None,
    *,
    retry: RetryPolicy | None = None,
    transport: Transport | None = None,
) -> Iterator[Step]:
    """Profile, Certificate, Discovery, Token, Due records: each step yielded as soon as it
    is known; the first failing step is the last one yielded."""
    try:
        connection_id = _check_profile(profile)
    except AppError as exc:
        yield _failed(PROFILE, exc)
        return
    insecure = not profile.verify_tls
    note = profile.destroy_path_note()
    yield Step(
        PROFILE,
        True,
        f"{profile.protocol} API at {profile.api_url}, connection {connection_id}"
        + (" (WARNING: TLS certificate checks are turned off)" if insecure else "")
        + (f". {note}" if note else ""),
        warning=insecure or note is not None,
    )

    try:
        credential = open_certificate(profile, password)
    except AppError as exc:
        yield _failed(CERTIFICATE, exc)
        return
    warning = certificate_warning(credential)
    detail = describe_certificate(credential) + (f". {warning}" if warning else "")
    yield Step(CERTIFICATE, True, detail, warning=warning is not None)

    try:
        connection = _assemble(
            profile,
            credential,
            connection_id,
            retry or quick_retry(),
            transport,
            TEST_TIMEOUT,
            TEST_CONNECT_TIMEOUT,
        )
    except AppError as exc:  # a legacy destroy path or date format the client refuses
        yield _failed(PROFILE, exc)
        return
    with connection:
        yield from _exchanges(connection)


def _exchanges(connection: Connection) -> Iterator[Step]:
    tokens = connection.tokens
    try:
        discovery = tokens.discover()
    except AppError as exc:
        yield _failed(DISCOVERY, exc)
        return
    documented = "" if discovery.discovered else " (no discovery offered: the documented one)"
    yield Step(DISCOVERY, True, f"token endpoint {discovery.token_endpoint}{documented}")

    try:
        tokens.token()
    except AppError as exc:
        yield _failed(TOKEN, exc)
        return
    left = tokens.seconds_left() or 0.0
    yield Step(
        TOKEN, True, f"signed in as app {tokens.client_id}; the token is valid for {_span(left)}"
    )

    now = datetime.now(UTC).replace(microsecond=0)
    try:
        page = connection.client.due_page(now, per_page=1)
    except AppError as exc:
        yield _failed(DUE_RECORDS, exc)
        return
    if page.items:
        more = " (more follow)" if page.next_start else ""
        detail = f"the service answered; 1 record on the first page{more}"
    else:
        detail = f"the service answered; no record is due before {now:%Y-%m-%d %H:%M} UTC"
    yield Step(DUE_RECORDS, True, detail)


def _span(seconds: float) -> str:
    """'60 minutes', '2 seconds', '3 hours': a token's lifetime in words."""
    whole = round(seconds)
    if whole < 120:
        return f"{whole} second{'' if whole == 1 else 's'}"
    minutes = round(seconds / 60)
    if minutes < 180:
        return f"{minutes} minutes"
    return f"{round(seconds / 3600)} hours"


# Its name starts with "test": tell pytest that importing it into a test module does not
# make it a test.
test_connection.__test__ = False  # type: ignore[attr-defined]
