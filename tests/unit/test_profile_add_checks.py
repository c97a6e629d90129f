"""`profile add` checks the certificate before saving: each refusal is one sentence and exit
2 with nothing saved, --force saves even so, and a certificate expiring within 30 days is a
warning. The window's profile dialog goes through the same check (usecases.profile_checks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opus_desktop import profiles
from opus_desktop.cli import main
from opus_desktop.profiles import Profile
from opus_desktop.usecases.profile_checks import ProfileRefused, add_profile, check_certificate
from tests.helpers.certs import expired_certificate, make_certificate, rsa_key

TEMPLATE = (
    Path(__file__).resolve().parents[2] / "opus_desktop" / "resources" / "demo" / "template.json"
)
API = "https://graph-uk.avepointonlineservices.com"
SUBJECT = "Opus Desktop Test (Contoso Records)"
NOT_SAVED = "; the profile was not saved (--force saves it even so)."


def add(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    base = ["profile", "add", "P", "--connection", str(TEMPLATE), "--client-id", "c1"]
    code = main([*base, "--api", API, *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def saved_names() -> list[str]:
    return [p.name for p in profiles.list_profiles()]


@pytest.fixture
def pfx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("APP_PW", "right")
    return make_certificate().write_pfx(tmp_path / "app.pfx", "right")


def test_a_good_certificate_is_saved_without_a_word(
    capsys: pytest.CaptureFixture[str], pfx: Path
) -> None:
    code, out, err = add(capsys, "--cert", str(pfx), "--cert-password-env", "APP_PW")
    assert (code, err) == (0, "")
    folder = profiles.find_profile("P").folder
    assert out == (
        f'Profile "P" saved in {folder}: 15 columns, '
        "connection 6f1c2a4e-3b7d-4e21-9a5c-0d8e7f6a1b2c.\n"
    )
    assert saved_names() == ["P"]


def test_a_wrong_pfx_password_is_refused(
    capsys: pytest.CaptureFixture[str], pfx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_PW", "wrong")
    code, out, err = add(capsys, "--cert", str(pfx), "--cert-password-env", "APP_PW")
    assert code == 2 and out == ""
    assert err == (
        "opus-desktop: The password for app.pfx is wrong: it comes from the environment "
        f"variable APP_PW{NOT_SAVED}\n"
    )
    assert saved_names() == []


def test_a_key_of_another_certificate_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cert = make_certificate().write_pem(tmp_path / "app.crt")[0]
    other = make_certificate(key=rsa_key(1)).write_pem(tmp_path / "o.crt", tmp_path / "o.key")[1]
    code, _, err = add(capsys, "--cert-pem", str(cert), "--key-pem", str(other))
    assert code == 2
    assert err == (
        f"opus-desktop: The private key does not belong to the certificate {SUBJECT} in "
        f"app.crt: they come from different certificates{NOT_SAVED}\n"
    )
    assert saved_names() == []


def test_an_expired_certificate_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_PW", "right")
    old = expired_certificate(days_ago=3)
    path = old.write_pfx(tmp_path / "old.pfx", "right")
    code, _, err = add(capsys, "--cert", str(path), "--cert-password-env", "APP_PW")
    day = old.certificate.not_valid_after_utc.strftime("%d %B %Y")
    assert code == 2
    assert err == (
        f"opus-desktop: The certificate {SUBJECT} in old.pfx expired on {day}{NOT_SAVED}\n"
    )
    assert saved_names() == []


def test_a_certificate_not_yet_valid_is_refused_and_saved_with_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    later = make_certificate(days=400, valid_from=datetime.now(UTC) + timedelta(days=7))
    cert, key = later.write_pem(tmp_path / "later.crt", tmp_path / "later.key")
    day = later.certificate.not_valid_before_utc.strftime("%d %B %Y")
    sentence = f"The certificate {SUBJECT} in later.crt is not valid before {day}"
    code, _, err = add(capsys, "--cert-pem", str(cert), "--key-pem", str(key))
    assert (code, err) == (2, f"opus-desktop: {sentence}{NOT_SAVED}\n")
    assert saved_names() == []

    code, out, err = add(capsys, "--cert-pem", str(cert), "--key-pem", str(key), "--force")
    assert code == 0
    assert err == f"Warning: {sentence}; saved even so, as asked.\n"
    assert out.startswith('Profile "P" saved')
    assert saved_names() == ["P"]


def test_a_certificate_expiring_within_30_days_is_saved_with_a_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    soon = make_certificate(days=12.5)
    cert, key = soon.write_pem(tmp_path / "soon.crt", tmp_path / "soon.key")
    code, out, err = add(capsys, "--cert-pem", str(cert), "--key-pem", str(key))
    day = soon.certificate.not_valid_after_utc.strftime("%Y-%m-%d")
    assert code == 0 and out.startswith('Profile "P" saved')
    assert err == (
        f"Warning: The certificate {SUBJECT} expires in 12 days, on {day}: create a new one, "
        "register it for the app in AvePoint Online Services > App registrations, and choose "
        "it in the profile before then.\n"
    )
    assert saved_names() == ["P"]


def test_31_days_left_is_no_warning(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cert, key = make_certificate(days=31.5).write_pem(tmp_path / "a.crt", tmp_path / "a.key")
    code, _, err = add(capsys, "--cert-pem", str(cert), "--key-pem", str(key))
    assert (code, err) == (0, "")


def test_an_unset_password_variable_is_refused(
    capsys: pytest.CaptureFixture[str], pfx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APP_PW")
    code, _, err = add(capsys, "--cert", str(pfx), "--cert-password-env", "APP_PW")
    assert code == 2
    assert err == (
        "opus-desktop: The environment variable APP_PW that the profile names for the "
        f"certificate password is not set{NOT_SAVED}\n"
    )
    assert saved_names() == []
    # Set only where the scripts run: --force saves it, the variable named.
    code, _, err = add(capsys, "--cert", str(pfx), "--cert-password-env", "APP_PW", "--force")
    assert code == 0 and "is not set; saved even so, as asked." in err
    assert profiles.find_profile("P").cert_password_env == "APP_PW"


def test_a_protected_pfx_without_a_password_or_a_terminal_is_refused(
    capsys: pytest.CaptureFixture[str], pfx: Path
) -> None:
    code, _, err = add(capsys, "--cert", str(pfx))
    assert code == 2
    assert err == (
        "opus-desktop: app.pfx is protected by a password, and none was given to check it "
        "with: name the environment variable that holds it with --cert-password-env VAR, "
        f"or run the command in a terminal to type it in{NOT_SAVED}\n"
    )


def test_a_file_that_is_no_certificate_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    junk = tmp_path / "junk.pfx"
    junk.write_bytes(b"not a certificate")
    code, _, err = add(capsys, "--cert", str(junk))
    assert (code, err) == (
        2,
        f"opus-desktop: junk.pfx is not a certificate file (.pfx/PKCS#12){NOT_SAVED}\n",
    )


def test_a_legacy_profile_without_a_destroy_path_is_saved_and_told(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cert, key = make_certificate().write_pem(tmp_path / "a.crt", tmp_path / "a.key")
    code, _, err = add(
        capsys, "--cert-pem", str(cert), "--key-pem", str(key), "--protocol", "legacy"
    )
    assert code == 0
    assert err == (
        "Warning: No destroy path is set, so records cannot be marked destroyed with this "
        "legacy profile: copy the path of that call from the tenant's API page into the "
        "profile (--destroy-path PATH).\n"
    )
    assert profiles.find_profile("P").destroy_path == ""
    assert main(["profile", "show", "P"]) == 0
    assert "Destroy path:    (not set)" in capsys.readouterr().out
    code, _, err = add(
        capsys, "--cert-pem", str(cert), "--key-pem", str(key), "--protocol", "legacy",
        "--destroy-path", " /api/tenant/MarkDestroyed/ ",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert profiles.find_profile("P").destroy_path == "api/tenant/MarkDestroyed"


# -- the check below both front ends -----------------------------------------------------------


def pem_profile(tmp_path: Path, **changes: object) -> Profile:
    cert, key = make_certificate().write_pem(
        tmp_path / "k.crt", tmp_path / "k.key", key_password="kpw"
    )
    values: dict[str, object] = {
        "name": "P",
        "client_id": "c1",
        "api_url": API,
        "cert_pem": str(cert),
        "key_pem": str(key),
    }
    values.update(changes)
    return Profile(**values)  # type: ignore[arg-type]


def test_a_password_typed_in_wins_and_an_unset_variable_is_only_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("K_PW", raising=False)
    check = check_certificate(pem_profile(tmp_path, cert_password_env="K_PW"), "kpw")
    assert check.ok and check.credential is not None
    assert check.warnings == (
        "The environment variable K_PW that the profile names for the certificate password "
        "is not set here; the password given is used instead.",
    )


def test_a_password_is_asked_for_only_when_the_key_needs_one(tmp_path: Path) -> None:
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return "kpw"

    check = check_certificate(pem_profile(tmp_path), ask=ask)
    assert check.ok and asked == ['Certificate password for profile "P": ']
    plain, key = make_certificate().write_pem(tmp_path / "p.crt", tmp_path / "p.key")
    assert check_certificate(
        pem_profile(tmp_path, cert_pem=str(plain), key_pem=str(key)), ask=ask
    ).ok
    assert len(asked) == 1
    wrong = check_certificate(pem_profile(tmp_path), ask=lambda prompt: "nope")
    assert wrong.problem == "The password for the private key in k.key is wrong."


def test_add_profile_writes_nothing_when_refused(tmp_path: Path) -> None:
    later = make_certificate(days=30, valid_from=datetime.now(UTC) + timedelta(days=1))
    cert, key = later.write_pem(tmp_path / "l.crt", tmp_path / "l.key")
    profile = pem_profile(tmp_path, cert_pem=str(cert), key_pem=str(key))
    with pytest.raises(ProfileRefused) as refused:
        add_profile(profile, TEMPLATE)
    assert refused.value.exit_code == 2
    assert refused.value.problem.endswith(".")
    assert refused.value.message == refused.value.problem[:-1] + "; the profile was not saved."
    assert not profile.folder.exists()
    # As the window's "Save even so" does; checked against a later moment, it is valid.
    saved, said = add_profile(profile, TEMPLATE, force=True)
    assert saved.folder.exists() and said[0].endswith("; saved even so, as asked.")
    _, said = add_profile(profile, TEMPLATE, now=datetime.now(UTC) + timedelta(days=2))
    assert len(said) == 1 and "expires in" in said[0]  # valid then, with under 30 days left
