"""`opus-desktop profile test NAME` through the CLI entry point, against the sandbox."""

from __future__ import annotations

import io
import re
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from opus_desktop.cli import main
from opus_desktop.profiles import (
    Profile,
    find_profile,
    forget_password,
    remember_password,
    save_profile,
)
from opus_desktop.sandbox import Sandbox
from opus_desktop.sandbox_profiles import LEGACY_PROFILE, save_sandbox_profiles
from tests.helpers.certs import expired_certificate, expiring_certificate
from tests.integration.conftest import MakeSandbox

NAMES = {"graph": "Sandbox", "legacy": LEGACY_PROFILE}
PASSWORD_VARIABLE = "OPUS_DESKTOP_TEST_PFX_PASSWORD"


@pytest.fixture(autouse=True)
def no_remembered_passwords() -> None:
    # profiles keeps passwords in memory for the life of the process, by profile name.
    for name in NAMES.values():
        forget_password(Profile(name=name))


@pytest.fixture(params=list(NAMES))
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(["profile", "test", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def change(name: str, **changes: Any) -> Profile:
    """Save the profile `name` with some settings changed (its template is kept)."""
    return save_profile(replace(find_profile(name), **changes))


def pfx_profile(sandbox: Sandbox, **changes: Any) -> Profile:
    save_sandbox_profiles(sandbox)
    return change("Sandbox", cert_pfx=str(sandbox.pfx_path), cert_pem=None, key_pem=None, **changes)


def test_every_step_passes(
    sandbox: Sandbox, protocol: str, capsys: pytest.CaptureFixture[str]
) -> None:
    save_sandbox_profiles(sandbox)

    code, lines, err = run(capsys, NAMES[protocol])

    assert code == 0, err
    assert err == ""
    assert [line.split(":")[0] for line in lines] == [
        "ok    Profile",
        "ok    Certificate",
        "ok    Discovery",
        "ok    Token",
        "ok    Due records",
        f'Profile "{NAMES[protocol]}" works.',
    ]
    assert lines[0].startswith(f"ok    Profile: {protocol} API at {sandbox.api_url}")
    assert sandbox.connection_id in lines[0]
    assert "Opus Desktop Sandbox" in lines[1] and "thumbprint" in lines[1]
    assert lines[2] == f"ok    Discovery: token endpoint {sandbox.identity_url}/connect/token"
    assert lines[3].endswith("the token is valid for 60 minutes")
    assert lines[4] == (
        "ok    Due records: the service answered; 1 record on the first page (more follow)"
    )
    stats = sandbox.stats()
    assert stats["tokens_issued"] == 1
    assert stats[f"{protocol}.due"] == 1


def test_nothing_due_is_still_a_pass(
    make_sandbox: MakeSandbox, protocol: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = make_sandbox()
    save_sandbox_profiles(sandbox)
    # Destroy every due record, so that the one due-records call finds nothing.
    sandbox.tenant.destroy(sorted(sandbox.due_keys(datetime.now(UTC))), "2999-01-01T00:00:00")
    code, lines, _ = run(capsys, NAMES[protocol])
    assert code == 0
    assert re.fullmatch(
        r"ok    Due records: the service answered; no record is due before .* UTC", lines[4]
    )


def test_a_wrong_client_id_is_exit_3(
    sandbox: Sandbox, protocol: str, capsys: pytest.CaptureFixture[str]
) -> None:
    save_sandbox_profiles(sandbox)
    other = "0d6f7c1e-1111-4a4a-9b9b-123456789abc"
    change(NAMES[protocol], client_id=other)

    code, lines, err = run(capsys, NAMES[protocol])

    assert code == 3
    assert [line[:6] for line in lines] == ["ok    "] * 3 + ["FAIL  "]
    assert lines[3].startswith(
        f"FAIL  Token: The identity service does not accept the app {other}: the client id is "
        "not known, or the certificate (Opus Desktop Sandbox, thumbprint "
    )
    assert "(identity service: invalid_client, No app is registered" in lines[3]
    assert f'the test of profile "{NAMES[protocol]}" stopped at the Token step.' in err
    assert sandbox.stats().get(f"{protocol}.due", 0) == 0


def test_an_unregistered_certificate_is_exit_3(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_sandbox_profiles(sandbox)
    cert, key = expiring_certificate(days=200).write_pem(tmp_path / "a.pem", tmp_path / "a.key")
    change("Sandbox", cert_pem=str(cert), key_pem=str(key))

    code, lines, _ = run(capsys, "Sandbox")

    assert code == 3
    assert lines[-1].startswith("FAIL  Token: The identity service does not accept the app")
    assert "is not registered for this app" in lines[-1]


def test_a_stopped_sandbox_is_exit_4_quickly(
    make_sandbox: MakeSandbox, protocol: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = make_sandbox()
    save_sandbox_profiles(sandbox)
    sandbox.stop()

    started = time.monotonic()
    code, lines, err = run(capsys, NAMES[protocol])
    elapsed = time.monotonic() - started

    assert code == 4
    assert elapsed < 10
    assert lines[-1].startswith(
        f"FAIL  Discovery: Nothing answers at http://127.0.0.1:{sandbox.port} (the connection "
        "was refused) while reading the identity service's configuration, 4 times in a row: is "
        "the address right, is the service up?"
    )
    assert "Is the sandbox running? Start it with: opus-desktop sandbox" in err


def test_throttling_is_retried_briefly(
    make_sandbox: MakeSandbox, protocol: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # With this seed the first two API calls are throttled and the third goes through.
    sandbox = make_sandbox(throttle_rate=0.5, retry_after=0, seed=7)
    save_sandbox_profiles(sandbox)

    code, lines, _ = run(capsys, NAMES[protocol])

    assert code == 0, lines
    stats = sandbox.stats()
    assert stats["http_429"] == 2
    assert stats[f"{protocol}.due"] == 3


@pytest.mark.slow
def test_a_service_that_keeps_failing_is_exit_4(
    make_sandbox: MakeSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = make_sandbox(fail_rate=1.0)
    save_sandbox_profiles(sandbox)
    code, lines, _ = run(capsys, "Sandbox")
    assert code == 4
    assert lines[-1].startswith("FAIL  Due records: The service answered HTTP 503")
    assert sandbox.stats()["graph.due"] == 4


# -- the certificate and its password ------------------------------------------------------------


def test_an_expired_certificate_is_refused_before_any_call(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_sandbox_profiles(sandbox)
    cert, key = expired_certificate().write_pem(tmp_path / "old.pem", tmp_path / "old.key")
    change("Sandbox", cert_pem=str(cert), key_pem=str(key))

    code, lines, _ = run(capsys, "Sandbox")

    assert code == 2
    assert re.fullmatch(
        r"FAIL  Certificate: The certificate Opus Desktop Test .* in old\.pem expired on .*",
        lines[-1],
    )
    assert sandbox.stats() == {}


def test_a_certificate_expiring_soon_is_a_warning(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    soon = expiring_certificate(days=10.5)
    sandbox.register_client(sandbox.client_id, soon.cert_pem())
    save_sandbox_profiles(sandbox)
    cert, key = soon.write_pem(tmp_path / "soon.pem", tmp_path / "soon.key")
    change("Sandbox", cert_pem=str(cert), key_pem=str(key))

    code, lines, _ = run(capsys, "Sandbox")

    assert code == 0
    assert lines[1].startswith("warn  Certificate: Opus Desktop Test")
    assert "expires in 10 days" in lines[1]
    assert lines[4].startswith("ok    Due records")


def test_pfx_password_from_the_profiles_variable(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pfx_profile(sandbox, cert_password_env=PASSWORD_VARIABLE)
    monkeypatch.setenv(PASSWORD_VARIABLE, sandbox.pfx_password)
    code, lines, _ = run(capsys, "Sandbox")
    assert code == 0
    assert "sandbox-certificate.pfx" not in lines[1]  # the subject is shown, not the file
    assert sandbox.stats()["tokens_issued"] == 1


def test_a_wrong_pfx_password_is_exit_2(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pfx_profile(sandbox, cert_password_env=PASSWORD_VARIABLE)
    monkeypatch.setenv(PASSWORD_VARIABLE, "not the password")
    code, lines, _ = run(capsys, "Sandbox")
    assert code == 2
    assert lines[-1] == (
        "FAIL  Certificate: The password for sandbox-certificate.pfx is wrong: "
        f"it comes from the environment variable {PASSWORD_VARIABLE}."
    )
    assert sandbox.stats() == {}


def test_pfx_password_from_the_keyring(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = pfx_profile(sandbox)
    assert remember_password(profile, sandbox.pfx_password)
    code, _, err = run(capsys, "Sandbox")
    assert code == 0, err


def test_pfx_password_typed_at_a_terminal(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pfx_profile(sandbox)
    prompts: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def typed(prompt: str = "") -> str:
        prompts.append(prompt)
        return sandbox.pfx_password

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", typed)
    code, _, err = run(capsys, "Sandbox")
    assert code == 0, err
    assert prompts == ['Certificate password for profile "Sandbox": ']


def test_no_password_and_no_terminal_is_exit_2(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pfx_profile(sandbox, cert_password_env=PASSWORD_VARIABLE)
    monkeypatch.delenv(PASSWORD_VARIABLE, raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    code, lines, err = run(capsys, "Sandbox")

    assert code == 2
    assert lines == []
    assert 'sandbox-certificate.pfx of profile "Sandbox" needs its password' in err
    assert f"the environment variable {PASSWORD_VARIABLE} the profile names is unset" in err
    assert sandbox.stats() == {}


def test_an_unprotected_pem_key_needs_no_password(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    save_sandbox_profiles(sandbox)

    def refuse(prompt: str = "") -> str:
        raise AssertionError("no password should be asked for")

    monkeypatch.setattr("getpass.getpass", refuse)
    code, _, err = run(capsys, "Sandbox")
    assert code == 0, err


def test_an_unknown_profile_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err = run(capsys, "Nope")
    assert code == 2
    assert lines == []
    assert 'There is no profile named "Nope"' in err
